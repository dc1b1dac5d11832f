"""Tests for refsnn.programs.bench: correctness only, at tiny sizes; no timing assertions.

The kernels it measures are checked against their twins in tests/test_twins.py.
"""

import json

import numpy as np
import pytest

import refsnn.programs.bench as bench
from refsnn.programs.bench import kernels, network, startup
from refsnn.programs.bench.machine import blas_line, machine_info
from refsnn.programs.demo import CONFIG, build_cnn
from refsnn.networks.activations import QCFS
from refsnn.networks import fast_snn
from refsnn.networks.spiking import ParallelNeurons

TINY_KERNELS = {"steps": (3, 8), "elements": 2**12, "neurons": 2**9, "dense_neurons": 2**6, "dense_max_T": 8,
                "repeats": 1}
TINY_NETWORK = {"steps": (2, 8), "batches": (1, 5), "repeats": {1: 1, 5: 1}}


@pytest.mark.parametrize("shape", [(6, 4, 3, 3), (6, 4)])
@pytest.mark.parametrize("per_channel", [False, True])
def test_lean_collapsed_layer_equals_checked_path(shape, per_channel):
    """The network's lean path gives the counts of ``counts_from_total`` (binary search)
    and outputs (counts·θ_post) in float32, at ties too."""
    rng = np.random.default_rng(len(shape) + per_channel)
    C, T = shape[1], 8
    theta = rng.uniform(0.5, 2, C) if per_channel else 1.25
    layer = ParallelNeurons(theta, T, psi=rng.uniform(0, 1, C) if per_channel else None,
                            theta_post=rng.uniform(0.5, 2, C) if per_channel else None)
    thetas = np.broadcast_to(np.reshape(layer.theta, (-1,) + (1,) * (len(shape) - 2)), shape[1:])
    total = (rng.integers(-2, T + 3, shape) * thetas - thetas / 2).astype(np.float32)  # exact ties
    total[0] += rng.normal(0, 1, shape[1:]).astype(np.float32)
    counts, out = fast_snn.fire_from_total(layer, total)
    expected = layer.counts_from_total(total)
    np.testing.assert_array_equal(counts, expected)
    no_counts, same_out = fast_snn.fire_from_total(layer, total, counts_wanted=False)  # what predict asks for
    assert no_counts is None
    np.testing.assert_array_equal(same_out, out)
    _, _, theta_post = layer._params(total)
    np.testing.assert_array_equal(out, (expected * theta_post).astype(np.float32))
    assert counts.dtype == np.int64 and out.dtype == np.float32


def untrained_demo_net():
    return build_cnn(lambda: QCFS(CONFIG["qcfs_theta0"], CONFIG["qcfs_levels"]), np.random.default_rng(0))


def test_bench_network_rows():
    net = untrained_demo_net()
    X = np.random.default_rng(2).random((3, 1, 8, 8), dtype=np.float32)
    rows = network.bench_network(net, X, log=lambda *a: None, config=TINY_NETWORK)
    assert len(rows) == 2 * 2 * 4
    assert {r["mode"] for r in rows} == set(network.MODES) == {
        "ann_forward", "sequential_if", "faithful_parallel", "collapsed_parallel"}
    for row in rows:
        assert row["seconds"] > 0 and row["speedup"] > 0 and row["vs_ann"] > 0
        assert row["batch"] in (1, 5) and row["T"] in (2, 8)
    assert all(0 <= r["agreement"] <= 1 for r in rows if r["mode"] == "sequential_if")
    lines = network.format_network(rows)
    assert "ANN ms" in lines[0] and lines[-1].startswith("targets: ")


def test_format_network_names_missed_targets():
    """The report says which target a row misses: faithful slower than sequential IF, or
    collapsed inference above COLLAPSED_VS_ANN_MAX ANN passes."""
    def row(mode, seconds, speedup, vs_ann):
        return {"mode": mode, "T": 4, "batch": 1, "seconds": seconds, "speedup": speedup, "vs_ann": vs_ann,
                "agreement": 1.0}
    met = [row("sequential_if", 1.0, 1.0, 10), row("faithful_parallel", 0.5, 2.0, 5),
           row("collapsed_parallel", 0.1, 10, 1.0), row("ann_forward", 0.1, 10, 1.0)]
    assert network.format_network(met)[-1].endswith("all met")
    missed = [dict(r) for r in met]
    missed[1]["speedup"], missed[2]["vs_ann"] = 0.9, 1.5
    last = network.format_network(missed)[-1]
    assert "faithful slower than sequential IF at T=4, batch 1" in last
    assert "collapsed costs 1.50 ANN passes at T=4, batch 1" in last


def test_bench_neurons_rows():
    result = kernels.bench_neurons(log=lambda *a: None, config=TINY_KERNELS)
    assert result["copy_gbps"] > 0 and "read + written" in result["bytes_convention"]
    names = {r["kernel"] for r in result["neuron"]}
    assert names == {"if", "if_out", "hadamard", "hadamard_out", "dense", "binary_from_total"}
    for row in result["neuron"]:
        assert set(row) >= {"kernel", "T", "N", "seconds", "gbps"} and row["seconds"] > 0 and row["gbps"] > 0
    assert kernels.format_neurons(result)


def test_bench_neurons_rows_carry_best_copy_and_load():
    result = kernels.bench_neurons(log=lambda *a: None, config=TINY_KERNELS)
    assert result["copy_best_gbps"] >= result["copy_gbps"] > 0 and result["rounds"] == 1
    for row in result["neuron"]:
        low, high = row["load"]
        assert row["best_gbps"] >= row["gbps"] and row["ratio_to_best_copy"] > 0 and low <= high
    for row in result["copy"]:
        assert len(row["rounds_gbps"]) == len(row["rounds_load"]) == 1 and row["slow_rounds"] == []


def fake_rounds(copy_seconds, kernel_seconds, loads):
    """``rows_at`` on made-up timings: a copy of 8 B and a kernel of 5 B at T = 64, N = 10⁹/8."""
    N = 125_000_000 // 64
    nbytes = {"copy": 8 * 64 * N, "copy_alloc": 8 * 64 * N, "if_out": 5 * 64 * N}
    sizes = {name: (64, N) for name in nbytes}
    times = {"copy": copy_seconds, "copy_alloc": [2 * s for s in copy_seconds], "if_out": kernel_seconds}
    return kernels.rows_at(nbytes, sizes, times, loads)


def test_ratio_is_to_the_best_copy_over_rounds():
    """The copy moves 1 GB: 10, 5 and 8 GB/s in three rounds; the kernel moves 0.625 GB at
    8, 2.5 and 4 GB/s. Its median 4 GB/s over the best copy (10) is 40%, whereas the
    median of the within-round ratios (0.8, 0.5, 0.5) is 50%."""
    copies, (row,) = fake_rounds([0.1, 0.2, 0.125], [0.078125, 0.25, 0.15625], [0.5, 2.0, 1.0])
    copy = copies[0]
    assert copy["kind"] == "copy" and copy["gbps"] == pytest.approx(8.0) and copy["best_gbps"] == pytest.approx(10.0)
    assert row["gbps"] == pytest.approx(4.0) and row["best_gbps"] == pytest.approx(8.0)
    assert row["ratio_to_best_copy"] == pytest.approx(0.4)
    assert row["ratio_to_copy"] == pytest.approx(0.5)
    assert row["load"] == [0.5, 2.0] and copy["rounds_load"] == [0.5, 2.0, 1.0]


def test_slow_copy_rounds_are_named_in_a_note():
    """A round's copy below SLOW_COPY (85%) of the best is slow: 8 GB/s of 10 is, 9 is not."""
    copies, neuron = fake_rounds([0.1, 0.125, 1 / 9], [0.1, 0.1, 0.1], [0.1, 3.5, 0.2])
    assert copies[0]["slow_rounds"] == [1]
    result = {"copy": copies, "neuron": neuron}
    (note,) = kernels.slow_copy_notes(result)
    assert note.startswith("note: the copy was slow at T=64 (round 2: 8.0 GB/s at load 3.50; best 10.0 GB/s")
    quiet, neuron = fake_rounds([0.1, 0.11, 0.1], [0.1, 0.1, 0.1], [0.1, 0.1, 0.1])
    assert kernels.slow_copy_notes({"copy": quiet, "neuron": neuron}) == []


def test_target_line_says_met_or_missed():
    """if_out at 6.25 GB/s is 62% of a best copy of 10 GB/s: below the 80% target, though
    the copy's slow second round (5 GB/s) puts its median ratio to the round's copy at 94%."""
    copies, neuron = fake_rounds([0.1, 0.2], [0.1, 0.1], [0.1, 0.1])
    assert neuron[0]["ratio_to_copy"] == pytest.approx(0.9375)
    result = {"copy": copies, "neuron": neuron, "copy_gbps": 7.5, "copy_best_gbps": 10.0, "rounds": 2,
              "bytes_convention": kernels.BYTES_CONVENTION}
    assert kernels.target_line(result).endswith("if_out 62% (missed)")
    faster, neuron = fake_rounds([0.1, 0.1], [0.07, 0.07], [0.1, 0.1])
    assert kernels.target_line(dict(result, neuron=neuron)).endswith("if_out 89% (met)")
    lines = kernels.format_neurons(result)
    assert "best 10.0 GB/s, median 7.5 over 2 rounds, load 0.10" in lines[0]
    assert any(line.startswith("if_out") and " 62% " in line and "0.10" in line for line in lines)


def test_bench_import_reports_nothing_compiled():
    result = startup.bench_import(repeats=1)
    assert result["compiled_at_import"] == {}
    assert result["seconds"] > 0


def test_run_writes_json_with_documented_keys(tmp_path, monkeypatch, capsys):
    """``run`` prints a report and writes the JSON that ``plot_speedup`` reads."""
    monkeypatch.setattr(kernels, "QUICK", TINY_KERNELS)
    monkeypatch.setattr(network, "QUICK", TINY_NETWORK)
    monkeypatch.setattr(bench, "bench_import", lambda repeats: {"seconds": 0.5, "runs": [0.5], "compiled_at_import": {}})
    monkeypatch.setattr(bench, "bench_compile", lambda: {"if_neuron": {"empty_cache": 2.0, "warm_cache": 0.01,
                                                                        "second_call": 1e-4}})
    path = tmp_path / "bench.json"
    bench.run(quick=True, json_path=path)
    assert "sequential IF" in capsys.readouterr().out
    data = json.loads(path.read_text())
    assert set(data) >= {"copy_gbps", "neuron", "network", "machine", "compile_seconds", "import"}
    assert isinstance(data["copy_gbps"], float)
    for row in data["neuron"]:
        assert set(row) >= {"kernel", "T", "N", "seconds", "gbps"}
    for row in data["network"]:
        assert set(row) >= {"mode", "T", "batch", "seconds"}
        assert row["mode"] in ("sequential_if", "faithful_parallel", "collapsed_parallel", "ann_forward")
    assert set(data["machine"]) >= {"cores", "numpy", "numba", "blas", "numba_threads"}


def _machine(architecture, avx512, coretype=None):
    lib = {"internal_api": "openblas", "version": "0.3.31", "num_threads": 1, "architecture": architecture}
    return {"blas": {"source": "threadpoolctl", "libraries": [lib]}, "avx512": avx512,
            "env": {"OPENBLAS_CORETYPE": coretype} if coretype else {}}


def test_blas_line_names_the_library_and_its_kernels():
    assert blas_line(_machine("SkylakeX", True)) == "BLAS: openblas 0.3.31, SkylakeX kernels"
    assert blas_line({"blas": {"source": "unknown", "libraries": []}}) == "BLAS: unknown"


@pytest.mark.parametrize("architecture, avx512, coretype, warned", [
    ("Haswell", True, "Haswell", True),  # forced narrower than the CPU
    ("Zen", True, "Zen", True),
    ("Haswell", True, None, False),  # OpenBLAS's own choice: nothing forced
    ("SkylakeX", True, "SkylakeX", False),  # forced, but to AVX-512 kernels
    ("Haswell", False, "Haswell", False),  # the CPU has no AVX-512
])
def test_blas_line_warns_when_openblas_coretype_holds_back_an_avx512_cpu(architecture, avx512, coretype, warned):
    line = blas_line(_machine(architecture, avx512, coretype))
    assert ("OPENBLAS_CORETYPE=" in line) == warned
    if warned:
        assert f"OPENBLAS_CORETYPE={coretype} in the environment" in line and "AVX-512" in line


def test_machine_info_says_whether_the_cpu_has_avx512():
    assert isinstance(machine_info()["avx512"], bool)
