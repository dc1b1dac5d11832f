"""Tests for refsnn.programs.bench and for the fast paths it measures: correctness only, at tiny
sizes; no timing assertions.

The blocked kernels are checked against their NumPy twins on inputs wider than one
block (the other test files use a handful of neurons, which never leaves the first
block) and at exact ties; the network's lean collapsed path against the checked one.
"""

import json

import numpy as np
import pytest

import refsnn.programs.bench as bench
from refsnn import if_neuron, parallel_neuron
from refsnn.programs.bench import kernels, network, startup
from refsnn.networks.conversion import to_parallel_snn
from refsnn.programs.demo import CONFIG, build_cnn
from refsnn.neurons.integrate_fire import BLOCK, if_neuron_reference
from refsnn.networks.layers import QCFS
from refsnn.neurons.parallel import binary_reference, first_spike_step, hadamard_reference
from refsnn.networks.spiking import ParallelNeurons

TINY_KERNELS = {"steps": (3, 8), "elements": 2**12, "neurons": 2**9, "dense_neurons": 2**6, "dense_max_T": 8,
                "repeats": 1}
TINY_NETWORK = {"steps": (2, 8), "batches": (1, 5), "repeats": {1: 1, 5: 1}}


def near_ties(rng, T, N, dtype):
    """Currents whose total Σ + ψ lands on or next to k·θ, so rounding decides the count."""
    theta = rng.uniform(0.1, 3, N).astype(dtype)
    k = rng.integers(-1, T + 2, N)
    exact = (k * theta.astype(np.float64) - theta / 2) / T
    jitter = np.where(rng.random(N) < 0.5, 0.0, rng.normal(0, 1e-7, N))
    currents = np.broadcast_to(exact * (1 + jitter), (T, N)).astype(dtype)
    return currents, theta


@pytest.mark.parametrize("T", [1, 3, 4, 7, 64])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocked_kernels_match_twins_across_blocks_and_ties(T, dtype):
    """if, hadamard and binary agree bit for bit with their twins over several blocks
    (N not a multiple of the block), for T with and without a remainder of 4, at ties."""
    rng = np.random.default_rng(T)
    N = 2 * BLOCK + 37
    for currents, theta in (near_ties(rng, T, N, dtype),
                            (rng.normal(0.3, 1, (T, N)).astype(dtype), rng.uniform(0.1, 3, N).astype(dtype))):
        psi = theta / dtype(2)
        paper = hadamard_reference(currents, theta, psi)
        np.testing.assert_array_equal(parallel_neuron(currents, theta), paper)
        np.testing.assert_array_equal(parallel_neuron(currents, theta, order="code"), paper[::-1])
        np.testing.assert_array_equal(parallel_neuron(currents, theta, method="binary"), paper)
        np.testing.assert_array_equal(first_spike_step(currents, theta), binary_reference(currents, theta, psi)[0])
        spikes, membrane = if_neuron(currents, theta, return_membrane=True)
        ref_spikes, ref_membrane = if_neuron_reference(currents, theta, psi)
        np.testing.assert_array_equal(spikes, ref_spikes)
        np.testing.assert_array_equal(membrane, ref_membrane)
        np.testing.assert_array_equal(if_neuron(currents, theta), ref_spikes)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_current_in_a_late_block_still_raises(bad):
    """Finiteness is checked from the kernels' final state, not by a separate pass."""
    currents = np.zeros((5, BLOCK + 3), dtype=np.float32)
    currents[3, -1] = bad
    for fn in (lambda: if_neuron(currents, 1.0), lambda: parallel_neuron(currents, 1.0),
               lambda: parallel_neuron(currents, 1.0, method="binary"), lambda: first_spike_step(currents, 1.0)):
        with pytest.raises(ValueError, match="currents"):
            fn()


def test_finite_overflow_is_not_reported_as_non_finite_input():
    """Σ of finite float32 currents can overflow to inf; that is arithmetic, not bad input."""
    currents = np.full((4, 3), 3e38, dtype=np.float32)
    assert parallel_neuron(currents, 1.0).all()
    assert if_neuron(currents, 1.0).all()


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
    counts, out = layer._fire_from_total(total)
    expected = layer.counts_from_total(total)
    np.testing.assert_array_equal(counts, expected)
    _, _, theta_post = layer._params(total)
    np.testing.assert_array_equal(out, (expected * theta_post).astype(np.float32))
    assert counts.dtype == np.int64 and out.dtype == np.float32


def untrained_demo_net():
    return build_cnn(lambda: QCFS(CONFIG["qcfs_theta0"], CONFIG["qcfs_levels"]), np.random.default_rng(0))


def test_network_modes_give_identical_predictions():
    """Faithful and collapsed parallel predict the same classes on the demo CNN."""
    net = untrained_demo_net()
    X = np.random.default_rng(1).random((20, 1, 8, 8), dtype=np.float32)
    for T in (2, 4, 16):
        snn = to_parallel_snn(net, T)
        np.testing.assert_array_equal(snn.predict(X, mode="faithful"), snn.predict(X, mode="collapsed"))


def test_bench_network_rows():
    net = untrained_demo_net()
    X = np.random.default_rng(2).random((3, 1, 8, 8), dtype=np.float32)
    rows = network.bench_network(net, X, log=lambda *a: None, config=TINY_NETWORK)
    assert len(rows) == 2 * 2 * 3
    assert {r["mode"] for r in rows} == set(network.MODES)
    for row in rows:
        assert row["seconds"] > 0 and row["speedup"] > 0 and row["batch"] in (1, 5) and row["T"] in (2, 8)
    assert all(0 <= r["agreement"] <= 1 for r in rows if r["mode"] == "sequential_if")
    assert network.format_network(rows)


def test_bench_neurons_rows():
    result = kernels.bench_neurons(log=lambda *a: None, config=TINY_KERNELS)
    assert result["copy_gbps"] > 0 and "read + written" in result["bytes_convention"]
    names = {r["kernel"] for r in result["neuron"]}
    assert names == {"if", "if_inplace", "hadamard", "hadamard_inplace", "dense", "binary_from_total"}
    for row in result["neuron"]:
        assert set(row) >= {"kernel", "T", "N", "seconds", "gbps"} and row["seconds"] > 0 and row["gbps"] > 0
    assert kernels.format_neurons(result)


def test_import_compiles_nothing():
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
        assert row["mode"] in ("sequential_if", "faithful_parallel", "collapsed_parallel")
    assert set(data["machine"]) >= {"cores", "numpy", "numba", "blas", "numba_threads"}
