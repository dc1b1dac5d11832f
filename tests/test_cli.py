"""Tests for the command line: ``refsnn tour``, ``python -m refsnn``, bad arguments, the
threads every command runs on, and how its output behaves: ``--json -``, a full disk, a
closed pipe, Ctrl-C."""

import errno
import io
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from test_data import make_cifar, make_mnist, write_idx
from test_files import nothing_renamed_onto_dev, read_fifo_in_thread  # noqa: F401 (a fixture)
from test_threads import UNSET

from refsnn.programs.cli import DESCRIPTIONS, build_parser, main
from refsnn.programs.tour import tour_lines
from refsnn.threads import max_threads


def test_tour_prints_the_facts(capsys):
    assert main(["tour"]) == 0
    out = capsys.readouterr().out
    assert "QCFS" in out and "IF unevenness error" in out
    assert "back-loaded" in out and "front-loaded" in out
    assert "Lambda_pc" in out and "1/3" in out


def test_tour_rows_show_parallel_equals_qcfs():
    """Every row of section 1: the parallel count column equals the QCFS column."""
    rows = [line.split() for line in tour_lines() if line.startswith("   [")]
    assert len(rows) == 6
    for row in rows:
        numbers = [w for w in row if w.lstrip("-").isdigit()]
        qcfs_level, if_count, parallel = map(int, numbers[-3:])
        assert parallel == qcfs_level


def test_bad_theta_is_an_error():
    with pytest.raises(SystemExit):
        main(["tour", "--theta", "0"])


def test_python_dash_m():
    out = subprocess.run([sys.executable, "-m", "refsnn", "tour"], capture_output=True, text=True, check=True)
    assert "refsnn tour" in out.stdout


@pytest.fixture
def no_work(monkeypatch):
    """Make the long-running parts fail loudly: a bad argument must stop before them."""
    from refsnn.programs import bench, demo, experiments, figures

    def started(*args, **kwargs):
        raise AssertionError("the work started despite a bad argument")

    monkeypatch.setattr(demo, "run_demo", started)
    monkeypatch.setattr(bench, "collect", started)
    monkeypatch.setattr(figures, "_neuron_figures", started)
    monkeypatch.setattr(experiments, "run_experiment", started)


def usage_error(capsys, argv, *patterns):
    """``main(argv)`` exits with status 2 and one error line that contains ``patterns``."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("refsnn") and "error:" in last, err
    for pattern in patterns:
        assert pattern in last, last
    return last


def test_version(capsys):
    import refsnn

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"refsnn {refsnn.__version__}"


def test_every_subcommand_has_a_description(capsys):
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert set(commands) == set(DESCRIPTIONS) >= {"demo", "bench", "figures", "tour", "experiment"}
    for name, sub in commands.items():
        assert sub.description, name
        with pytest.raises(SystemExit):
            main([name, "--help"])
        assert sub.description.split()[0] in capsys.readouterr().out


@pytest.mark.parametrize("seed", ["-1", "1.5", "x"])
def test_demo_bad_seed(seed, capsys, no_work):
    usage_error(capsys, ["demo", "--seed", seed], "--seed")


@pytest.mark.parametrize("theta", ["inf", "-inf", "nan", "0", "-1"])
def test_tour_bad_theta(theta, capsys):
    usage_error(capsys, ["tour", "--theta", theta], "--theta")


@pytest.mark.parametrize("theta", [float("inf"), float("nan"), 0.0, -1.0])
def test_tour_lines_rejects_bad_theta(theta):
    with pytest.raises(ValueError, match="theta"):
        tour_lines(theta)


@pytest.mark.parametrize("command", ["demo", "bench"])
def test_json_to_a_missing_folder_is_refused_before_the_work(command, capsys, no_work, tmp_path):
    path = tmp_path / "missing" / "x.json"
    usage_error(capsys, [command, "--json", str(path)], "--json", str(path), "does not exist")
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("command", ["demo", "bench"])
def test_json_to_an_unwritable_place_is_refused_before_the_work(command, capsys, no_work, tmp_path):
    usage_error(capsys, [command, "--json", "/proc/refsnn-x.json"], "--json", "cannot write")
    usage_error(capsys, [command, "--json", str(tmp_path)], "--json", "is a directory")


def test_figures_out_must_be_writable(capsys, no_work, tmp_path):
    usage_error(capsys, ["figures", "--out", "/proc/refsnn-x"], "--out", "cannot write")
    usage_error(capsys, ["figures", "--out", str(tmp_path / "a" / "b")], "--out", "does not exist")
    assert not (tmp_path / "a").exists()


def test_figures_format_and_style_must_be_known(capsys, no_work, tmp_path):
    from refsnn.programs import cli, figures

    assert (cli.FIGURES_FORMATS, cli.FIGURES_STYLES) == (figures.FORMATS, figures.STYLES)
    usage_error(capsys, ["figures", "--out", str(tmp_path), "--format", "gif"], "--format", "invalid choice")
    usage_error(capsys, ["figures", "--out", str(tmp_path), "--style", "poster"], "--style", "invalid choice")


def test_figures_json_inputs_are_checked_before_any_figure(capsys, no_work, tmp_path):
    out = tmp_path / "out"
    text = tmp_path / "notes.txt"
    text.write_text("not json\n")
    usage_error(capsys, ["figures", "--out", str(out), "--demo-json", str(text)], "--demo-json", "not valid JSON")
    usage_error(capsys, ["figures", "--out", str(out), "--demo-json", str(tmp_path / "nope.json")],
                "--demo-json", "nope.json")
    demo = tmp_path / "demo.json"
    demo.write_text(json.dumps({"dataset": "digits", "rows": [
        {"source": "qcfs", "method": "ann", "T": None, "accuracy": 0.9}]}))
    usage_error(capsys, ["figures", "--out", str(out), "--bench-json", str(demo)], "--bench-json", "benchmark")
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps({"copy_gbps": 1.0, "neuron": [], "network": []}))
    usage_error(capsys, ["figures", "--out", str(out), "--demo-json", str(bench)], "--demo-json", "demo")
    assert not out.exists()


# --------------------------------------------------------------------------- damaged data files


def _damage(directory, how):
    """Write tiny data files into ``directory`` and damage them as ``how`` says."""
    if how == "truncated IDX":
        make_mnist(directory)
        path = directory / "train-images-idx3-ubyte"
        path.write_bytes(path.read_bytes()[:100])
    elif how == "truncated pickle":
        make_cifar(directory)
        path = directory / "data_batch_1"
        path.write_bytes(path.read_bytes()[:200])
    elif how == "label out of range":
        make_mnist(directory)
        write_idx(directory / "train-labels-idx1-ubyte", np.array([0, 1, 12, 3, 4], dtype=np.uint8))


@pytest.mark.parametrize("data, how, named", [
    ("mnist", "empty folder", "train-images-idx3-ubyte"),
    ("cifar10", "empty folder", "data_batch_1"),
    ("mnist", "truncated IDX", "train-images-idx3-ubyte"),
    ("cifar10", "truncated pickle", "data_batch_1"),
    ("fashion-mnist", "label out of range", "train-labels-idx1-ubyte"),
])
def test_damaged_data_files_are_one_error_line(data, how, named, capsys, no_work, tmp_path):
    """Missing, truncated or out-of-range data files: the loader's message (naming the
    file) as one line, exit status 2, before any training."""
    _damage(tmp_path, how)
    usage_error(capsys, ["experiment", "depth", "--data", data, "--data-dir", str(tmp_path)], "--data-dir",
                str(tmp_path / named))


# Output to standard output, a full disk, a closed pipe, Ctrl-C --------------------------

#: The canned result of every command's work under ``fake_work``.
RESULT = {"seeds": [0], "seconds": 0.5, "passed": True, "rows": [], "summary": []}
JSON_COMMANDS = [["demo"], ["bench"], ["experiment", "depth"], ["verify"]]


@pytest.fixture
def fake_work(monkeypatch):
    """Every command's work replaced by one printed line and ``RESULT``; its tables by one line."""
    from refsnn.programs import bench, demo, experiments, verify

    def work(*args, **kwargs):
        print("working")
        return dict(RESULT)

    for module, name in ((demo, "run_demo"), (bench, "collect"), (experiments, "run_experiment"), (verify, "verify")):
        monkeypatch.setattr(module, name, work)
    for module, name in ((demo, "format_table"), (demo, "findings"), (bench, "format_report"),
                         (experiments, "format_summary")):
        monkeypatch.setattr(module, name, lambda result: ["a table"])


@pytest.mark.parametrize("path", ["-", "/dev/stdout"])
@pytest.mark.parametrize("command", JSON_COMMANDS)
def test_json_to_standard_output_comes_alone(command, path, fake_work, capsys, monkeypatch, tmp_path):
    """``--json -`` (or ``/dev/stdout``) puts the JSON alone on standard output and the
    report on standard error, so that ``refsnn verify --json - | python -m json.tool`` works."""
    monkeypatch.chdir(tmp_path)
    assert main([*command, "--json", path]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == RESULT
    assert "working" in err
    assert os.listdir(tmp_path) == []  # no file named "-"


def test_json_to_dev_null_and_a_fifo_leaves_them_special(fake_work, nothing_renamed_onto_dev, capsys, tmp_path):
    """``refsnn verify --json /dev/null`` (or a FIFO) writes in place; neither becomes a regular file."""
    assert main(["verify", "--json", "/dev/null"]) == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader, received = read_fifo_in_thread(fifo)
    assert main(["verify", "--json", str(fifo)]) == 0
    reader.join(timeout=10)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and json.loads(received[0]) == RESULT


def child(code, *popen_args, **popen_kwargs):
    """Start ``python -u -c code`` (unbuffered, so every print reaches the pipe at once)."""
    return subprocess.Popen([sys.executable, "-u", "-c", code], *popen_args, **popen_kwargs)


#: A child's program: fake work for ``verify`` and ``experiment``, then the command line.
FAKE_CHILD = """
import sys
from refsnn.programs import experiments, verify

def work(*args, **kwargs):
    for i in range(3):
        print("working", i)
    return {"seeds": [0], "seconds": 0.5, "passed": True, "rows": [], "summary": []}

verify.verify = experiments.run_experiment = work
experiments.format_summary = lambda summary: ["a table"]
from refsnn.programs.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_dev_stdout_redirected_to_a_file_keeps_the_json_and_the_report(tmp_path):
    """``refsnn verify --json /dev/stdout > report`` writes the JSON into ``report``
    through the stream (a rename would replace the file) and the report to stderr."""
    report = tmp_path / "report"
    with open(report, "w") as stdout:
        run = subprocess.run([sys.executable, "-c", FAKE_CHILD, "verify", "--json", "/dev/stdout"],
                             stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(report.read_text())["passed"] is True
    assert "working 2" in run.stderr


def closed_stdout(argv, code=None, unbuffered=False):
    """Run the command line with a standard output whose reader has gone before the first
    line; return (exit status, standard error). ``unbuffered`` makes every print reach the
    pipe at once (python -u), so the first one fails; otherwise the last flush does."""
    program = ["-m", "refsnn"] if code is None else ["-c", code]
    env = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    process = subprocess.Popen([sys.executable, *(["-u"] if unbuffered else []), *program, *argv],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    process.stdout.close()
    err = process.stderr.read().decode()
    return process.wait(timeout=120), err


def test_tour_into_a_closed_pipe_stops_quietly():
    """``refsnn tour | head -1``: no BrokenPipeError traceback, nor "Exception ignored" at
    the interpreter's last flush; exit status 141 (128 + SIGPIPE)."""
    status, err = closed_stdout(["tour"])
    assert (status, err) == (141, "")


def test_a_closed_pipe_does_not_lose_the_json(tmp_path):
    """``refsnn experiment depth --json F | head -1``: the first print fails, the work goes
    on, and F is written."""
    path = tmp_path / "x.json"
    status, err = closed_stdout(["experiment", "depth", "--json", str(path)], FAKE_CHILD, unbuffered=True)
    assert (status, err) == (141, "")
    assert json.loads(path.read_text())["rows"] == []


def test_a_closed_stdout_in_process_gives_141(monkeypatch, tmp_path, fake_work):
    class ClosedPipe(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    path = tmp_path / "x.json"
    assert main(["experiment", "depth", "--json", str(path)]) == 141
    assert json.loads(path.read_text()) == RESULT


@pytest.mark.parametrize("command", JSON_COMMANDS)
def test_a_full_disk_at_the_json_is_one_line_and_keeps_the_result(command, fake_work, capsys, monkeypatch, tmp_path):
    from refsnn.programs import outputs

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    kept = tmp_path / "tmp"
    kept.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(kept))
    monkeypatch.setattr(outputs, "atomic_write", full_disk)
    path = tmp_path / "x.json"
    assert main([*command, "--json", str(path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    [line] = err.splitlines()
    [saved] = kept.iterdir()
    assert line.startswith(f"refsnn {command[0]}: error: cannot write ")
    assert "No space left on device" in line and str(saved) in line
    assert json.loads(saved.read_text()) == RESULT and not path.exists()


def test_a_full_disk_leaves_no_truncated_figure(monkeypatch, capsys, tmp_path):
    import matplotlib.figure
    from test_outputs import failing_savefig

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", failing_savefig)
    out = tmp_path / "figures"
    assert main(["figures", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert "membrane.png" in err and "No space left on device" in err
    assert os.listdir(out) == []


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys):
    from refsnn.programs import tour

    def interrupted(theta):
        print("some output")
        raise KeyboardInterrupt

    monkeypatch.setattr(tour, "run", interrupted)
    try:
        status = main(["tour"])
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped main()")
    assert status == 130
    assert capsys.readouterr().err == "refsnn tour: interrupted\n"


def test_sigint_in_a_child_is_one_line_and_exit_130():
    code = """
import sys, time
from refsnn.programs import tour

def slow(theta):
    print("ready")
    time.sleep(60)

tour.run = slow
from refsnn.programs.cli import main
sys.exit(main(["tour"]))
"""
    process = child(code, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "ready\n"
    process.send_signal(signal.SIGINT)
    err = process.stderr.read()
    assert process.wait(timeout=60) == 130
    assert err == "refsnn tour: interrupted\n"


# --threads and REFSNN_THREADS on every command ------------------------------------------

def every_command(tmp_path):
    """The smallest valid command line of each command."""
    checkpoint = tmp_path / "checkpoint.pth"
    checkpoint.write_bytes(b"")
    return {"demo": ["demo"], "bench": ["bench"], "figures": ["figures", "--out", str(tmp_path / "figures")],
            "tour": ["tour"], "experiment": ["experiment", "depth"], "verify": ["verify"],
            "evaluate": ["evaluate", "--checkpoint", str(checkpoint), "--arch", "resnet20", "--levels", "4",
                         "--data", "digits"]}


def test_every_command_is_listed(tmp_path):
    assert set(every_command(tmp_path)) == set(DESCRIPTIONS)


#: A child: every command's work replaced by a record of the threads in force when it
#: starts (BLAS libraries, then Numba, then refsnn's own splits); runs the command lines
#: of argv[1], prints the records.
THREADS_CHILD = """
import json, sys
import numba
from threadpoolctl import threadpool_info
from refsnn import threads
from refsnn.programs import bench, demo, evaluate, experiments, figures, tour, verify

seen = []

def work(*args, **kwargs):
    seen.append(sorted({d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"})
                + [numba.get_num_threads(), threads.workers()])
    return 0

for module in (bench, demo, evaluate, experiments, figures, tour, verify):
    module.run = work
from refsnn.programs.cli import main
for argv in json.loads(sys.argv[1]):
    assert main(argv) == 0, argv
print(json.dumps(seen))
"""


def threads_seen(argvs, env):
    out = subprocess.run([sys.executable, "-c", THREADS_CHILD, json.dumps(argvs)], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


@pytest.mark.skipif(max_threads() < 2, reason="needs 2 cores: with 1 the default cannot be told from --threads N")
def test_every_command_runs_on_one_thread_by_default_and_on_n_with_threads(tmp_path):
    """In a process that inherits no thread setting (OpenBLAS starts on every core), each
    command's work starts with 1 Numba thread and 1 refsnn worker, or N with ``--threads
    N``, and the BLAS on 1 either way; each default run follows a run with N, so it must
    set 1 itself."""
    n = max_threads()
    argvs = [argv + extra for argv in every_command(tmp_path).values() for extra in ([], ["--threads", str(n)])]
    assert threads_seen(argvs, UNSET) == [[1, 1, 1], [1, n, n]] * len(DESCRIPTIONS)


@pytest.mark.skipif(max_threads() < 2, reason="needs 2 cores")
def test_refsnn_threads_raises_the_default_and_threads_wins(tmp_path):
    n = max_threads()
    argvs = [argv + extra for argv in every_command(tmp_path).values() for extra in ([], ["--threads", "1"])]
    assert threads_seen(argvs, {**UNSET, "REFSNN_THREADS": str(n)}) == [[1, n, n], [1, 1, 1]] * len(DESCRIPTIONS)


@pytest.mark.parametrize("threads", ["0", str(max_threads() + 1), "two"])
def test_a_bad_threads_flag_is_one_error_line(threads, capsys, no_work, tmp_path):
    for argv in every_command(tmp_path).values():
        usage_error(capsys, argv + ["--threads", threads], "--threads")


@pytest.mark.parametrize("value", ["0", str(max_threads() + 1), "two"])
def test_a_bad_refsnn_threads_is_one_error_line(value, capsys, no_work, monkeypatch, tmp_path):
    monkeypatch.setenv("REFSNN_THREADS", value)
    for argv in every_command(tmp_path).values():
        usage_error(capsys, argv, "REFSNN_THREADS", value)
