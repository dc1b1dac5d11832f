"""Every fast kernel against its readable twin, in one table.

Each row pairs a public function that runs a Numba kernel with its NumPy twin, which
takes the same arguments and returns the same thing. The pairs must agree bit for bit on
arbitrary floats, at exact ties, over several kernel blocks (the kernels cut the neurons
into blocks of ``BLOCK``; a handful of neurons never leaves the first one), in float32
and float64, with per-neuron parameters, and in both spike orders.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from refsnn.networks import fast_snn
from refsnn.networks.neuron_layers import IFNeurons, ParallelNeurons
from refsnn.neurons import integrate_fire, parallel, parallel_kernels, quantization
from refsnn.neurons.parallel_kernels import BLOCK


def if_layer_steps(step):
    """The spike train (T, ...) of an IF layer stepped through currents (T, ...) by
    ``step(layer, current)``, one channel per neuron (or one for a scalar θ)."""
    def steps(currents, theta):
        layer = IFNeurons(theta)
        flat = currents.reshape(currents.shape[0], 1, -1)
        return np.stack([step(layer, c) for c in flat]).reshape(currents.shape)
    return steps


def collapsed_firing(fire):
    """Counts and outputs of a parallel layer from the summed currents Σ (...), by
    ``fire(layer, total)``, one channel per neuron (or one for a scalar θ)."""
    def counts(total, theta, T):
        layer = ParallelNeurons(theta, T)
        return tuple(a.reshape(total.shape) for a in fire(layer, total.reshape(1, -1)))
    return counts


def if_neuron_step(layer, current):
    """One step of ``if_neuron`` from the layer's membrane: the readable twin of
    fast_snn.if_step."""
    spikes, membrane = integrate_fire.if_neuron_reference(current[None], layer.theta.astype(current.dtype),
                                                          v0=layer.v, return_membrane=True)
    layer.v = membrane[0]
    return spikes[0]

#: (name, fast, twin, kind): ``kind`` says what the pair takes — "currents" (T, ...),
#: "total" (pre-summed currents) or "z" (a pre-activation).
PAIRS = [
    ("if_neuron", integrate_fire.if_neuron, integrate_fire.if_neuron_reference, "currents"),
    ("if_neuron membrane", lambda c, th: integrate_fire.if_neuron(c, th, return_membrane=True),
     lambda c, th: integrate_fire.if_neuron_reference(c, th, return_membrane=True), "currents"),
    ("parallel dense", lambda c, th: parallel.parallel_neuron(c, th, method="dense"),
     parallel.dense_reference, "currents"),
    ("parallel hadamard", lambda c, th: parallel.parallel_neuron(c, th, method="hadamard"),
     parallel.hadamard_reference, "currents"),
    ("parallel binary", lambda c, th: parallel.parallel_neuron(c, th, method="binary"),
     parallel.binary_reference, "currents"),
    ("parallel hadamard code order", lambda c, th: parallel.parallel_neuron(c, th, order="code"),
     lambda c, th: parallel.hadamard_reference(c, th, order="code"), "currents"),
    ("parallel dense code order", lambda c, th: parallel.parallel_neuron(c, th, method="dense", order="code"),
     lambda c, th: parallel.dense_reference(c, th, order="code"), "currents"),
    ("parallel binary code order", lambda c, th: parallel.parallel_neuron(c, th, method="binary", order="code"),
     lambda c, th: parallel.binary_reference(c, th, order="code"), "currents"),
    ("first_spike_step", lambda c, th: parallel.first_spike_step(c, th, return_comparisons=True),
     lambda c, th: parallel.first_spike_step_reference(c, th, return_comparisons=True), "currents"),
    ("first_spike_step_from_total",
     lambda s, th, T: parallel.first_spike_step_from_total(s, th, T, return_comparisons=True),
     lambda s, th, T: parallel.first_spike_step_from_total_reference(s, th, T, return_comparisons=True), "total"),
    ("qcfs", quantization.qcfs, quantization.qcfs_reference, "z"),
    ("qcfs_level", quantization.qcfs_level, quantization.qcfs_level_reference, "z"),
    ("da_qcfs", lambda z, th, L: quantization.da_qcfs(z, th, L, 0.1 * th, -0.05 * th),
     lambda z, th, L: quantization.da_qcfs_reference(z, th, L, 0.1 * th, -0.05 * th), "z"),
    ("IFNeurons.step (fast_snn.if_step)", if_layer_steps(IFNeurons.step), if_layer_steps(if_neuron_step), "currents"),
    ("collapsed firing (fast_snn.fire_from_total)", collapsed_firing(fast_snn.fire_from_total),
     collapsed_firing(ParallelNeurons.fire_from_total), "total"),
]
IDS = [row[0] for row in PAIRS]


def call(kind, fn, currents, theta):
    """Call one side of a pair on currents (T, ...) and a threshold."""
    T = currents.shape[0]
    if kind == "currents":
        return fn(currents, theta)
    if kind == "total":
        return fn(parallel.total_current(currents), theta, T)
    return fn(currents[0], theta, T)  # z = the first step, level L = T


def assert_same(fast, twin):
    fast, twin = (fast, twin) if isinstance(fast, tuple) else ((fast,), (twin,))
    assert len(fast) == len(twin)
    for a, b in zip(fast, twin):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def near_ties(rng, T, N, dtype):
    """Currents whose total Σ + ψ lands on or next to k·θ, so rounding decides the count."""
    theta = rng.uniform(0.1, 3, N).astype(dtype)
    k = rng.integers(-1, T + 2, N)
    exact = (k * theta.astype(np.float64) - theta / 2) / T
    jitter = np.where(rng.random(N) < 0.5, 0.0, rng.normal(0, 1e-7, N))
    currents = np.broadcast_to(exact * (1 + jitter), (T, N)).astype(dtype)
    return currents, theta


float_currents = hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=3, max_side=9),
                            elements=st.floats(-2, 2))


@pytest.mark.parametrize("name,fast,twin,kind", PAIRS, ids=IDS)
@given(currents=float_currents, theta=st.floats(0.01, 4), dtype=st.sampled_from([np.float32, np.float64]))
def test_kernel_equals_twin_on_arbitrary_floats(name, fast, twin, kind, currents, theta, dtype):
    currents = currents.astype(dtype)
    assert_same(call(kind, fast, currents, theta), call(kind, twin, currents, theta))


@pytest.mark.parametrize("name,fast,twin,kind", PAIRS, ids=IDS)
@pytest.mark.parametrize("T", [1, 3, 4, 7, 64])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_equals_twin_across_blocks_and_at_ties(name, fast, twin, kind, T, dtype):
    """Over two and a bit blocks (N not a multiple of the block), for T with and without a
    remainder of 4 (the kernels sweep four steps at a time), near and at exact ties,
    with per-neuron thresholds."""
    if "dense" in name and T > 7:
        pytest.skip("O(T²) per neuron: covered at small T")
    rng = np.random.default_rng(T)
    N = 2 * BLOCK + 37
    for currents, theta in (near_ties(rng, T, N, dtype),
                            (rng.normal(0.3, 1, (T, N)).astype(dtype), rng.uniform(0.1, 3, N).astype(dtype))):
        assert_same(call(kind, fast, currents, theta), call(kind, twin, currents, theta))


def test_the_table_covers_every_kernel():
    """Every Numba kernel that a public neuron function calls is reached by a row of the
    table, so a new kernel cannot ship without a twin. (Helpers inlined into these kernels
    are covered through them.)"""
    from numba.core.registry import CPUDispatcher

    for name, fast, twin, kind in PAIRS:
        call(kind, fast, np.linspace(-1, 2, 12).reshape(4, 3), 1.0)
    untested = [f"{module.__name__}.{attr}"
                for module in (integrate_fire, quantization, parallel)
                for attr, value in vars(module).items()
                if isinstance(value, CPUDispatcher) and not value.signatures]
    assert not untested, f"kernels no row of the table ran: {untested}"
    assert parallel_kernels.collapsed_kernel.signatures, "no row ran the collapsed network kernel"
