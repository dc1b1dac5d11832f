"""Tests for the command line: ``refsnn tour`` and ``python -m refsnn``."""

import json
import subprocess
import sys

import numpy as np
import pytest
from test_data import make_cifar, make_mnist, write_idx

from refsnn.programs.cli import DESCRIPTIONS, build_parser, main
from refsnn.programs.tour import tour_lines


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
