"""Tests for refsnn.programs.bench: correctness only, at tiny sizes; no timing assertions.

The kernels it measures are checked against their twins in tests/test_twins.py.
"""

import json

import numpy as np
import pytest

import refsnn.programs.bench as bench
from refsnn.programs.bench import kernels, network, startup
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
