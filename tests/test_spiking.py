"""Tests for refsnn.networks.spiking: running converted networks in their three modes."""

import copy
import tracemalloc
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nets import dyadic_cnn, dyadic_daqcfs_mlp, dyadic_mlp

from refsnn import if_neuron, qcfs_level
from refsnn.networks import fast_snn, modes, spiking
from refsnn.networks.activations import QCFS, ReLU
from refsnn.networks.base import NonFiniteError
from refsnn.networks.conversion import activation_outputs, to_if_snn, to_parallel_snn
from refsnn.networks.containers import Residual, Sequential, iter_layers, set_training
from refsnn.networks.layers import Conv2d, Flatten, Linear
from refsnn.networks.models import build_cnn, resnet_mini
from refsnn.networks.spiking import IFNeurons, ParallelNeurons, SpikingNetwork
from refsnn.neurons import parallel_kernels

powers_of_two = st.sampled_from([1, 2, 4, 8, 16])


@given(seed=st.integers(0, 10_000), T=powers_of_two, cnn=st.booleans())
def test_faithful_and_collapsed_agree_exactly(seed, T, cnn):
    """Collapsed parallel (time sums only) ≡ faithful parallel (T·B batch): same spike
    counts in every layer and the same logits summed over time, on exact networks."""
    net, X = (dyadic_cnn if cnn else dyadic_mlp)(seed, T)
    snn = to_parallel_snn(net, T)
    out_f, rec_f = snn.run(X, "faithful", record=True)
    out_c, rec_c = snn.run(X, "collapsed", record=True)
    np.testing.assert_array_equal(out_f.sum(axis=0), out_c)
    for f, c in zip(rec_f, rec_c):
        np.testing.assert_array_equal(f["counts"], c["counts"])
    np.testing.assert_array_equal(snn.predict(X), snn.predict(X, mode="collapsed"))


def test_sequential_if_equals_if_neuron_layer_by_layer():
    """A one-layer IF network run step by step fires exactly like ``if_neuron`` run on
    the same per-step currents (which are constant: direct encoding)."""
    net, X = dyadic_mlp(3, 8, sizes=(6, 5, 2))
    snn = to_if_snn(net, 8)
    spikes = snn.spike_trains(X, 0)
    currents = np.broadcast_to(net[0].forward(X), (8,) + (X.shape[0], 5))
    np.testing.assert_array_equal(spikes, if_neuron(currents, 1.0))


def test_orders_give_same_predictions_and_reversed_trains():
    net, X = dyadic_cnn(5, 4)
    paper, code = to_parallel_snn(net, 4), to_parallel_snn(net, 4, order="code")
    np.testing.assert_array_equal(paper.predict(X), code.predict(X))
    np.testing.assert_array_equal(code.spike_trains(X, 1), paper.spike_trains(X, 1)[::-1])


def test_results_have_documented_shapes():
    net, X = dyadic_cnn(1, 4)
    snn = to_parallel_snn(net, 4)
    assert snn.run(X).shape == (4, 8, 3)
    assert snn.run(X, "collapsed").shape == (8, 3)
    cumulative = snn.cumulative_predictions(X)
    assert cumulative.shape == (4, 8)
    np.testing.assert_array_equal(cumulative[-1], snn.predict(X))
    assert snn.spike_trains(X, 0).shape == (4, 8, 2, 4, 4)
    rates = snn.layer_rates(X)
    assert [r.shape for r in rates] == [(8, 2, 4, 4), (8, 3, 2, 2)]
    counts = snn.spike_counts(X)
    assert counts == [int(snn.spike_trains(X, k).sum()) for k in range(2)]
    assert snn.spike_counts(X, mode="collapsed") == counts


def test_layer_rates_equal_ann_activations_at_level_T():
    """The rates are amplitude·N/T; at T = T̃ they equal the QCFS activations."""
    net, X = dyadic_cnn(2, 8)
    snn = to_parallel_snn(net, 8)
    for rate, act in zip(snn.layer_rates(X), activation_outputs(net, X)):
        np.testing.assert_array_equal(rate, act)


def test_bad_input():
    net, X = dyadic_mlp(0, 4)
    snn = to_parallel_snn(net, 4)
    with pytest.raises(ValueError, match="mode"):
        snn.run(X, "sequential")
    with pytest.raises(ValueError, match="mode"):
        to_if_snn(net, 4).run(X, "collapsed")
    with pytest.raises(ValueError, match="layer"):
        snn.spike_trains(X, 5)
    with pytest.raises(ValueError, match="X"):
        snn.predict(np.zeros((0, 6)))
    with pytest.raises(ValueError, match="shape"):
        snn.predict(np.zeros((4, 7)))  # wrong number of features for the first layer
    with pytest.raises(ValueError, match="one kind"):
        SpikingNetwork([Linear(2, 2, np.random.default_rng(0))], 4)
    with pytest.raises(ValueError, match="one kind"):
        SpikingNetwork([ParallelNeurons(1.0, 4), IFNeurons(1.0)], 4)
    with pytest.raises(ValueError, match="T=2"):
        SpikingNetwork([ParallelNeurons(1.0, 2)], 4)
    with pytest.raises(ValueError, match="theta"):
        ParallelNeurons(0.0, 4)
    with pytest.raises(ValueError, match="order"):
        ParallelNeurons(1.0, 4, order="sideways")
    with pytest.raises(ValueError, match="T"):
        ParallelNeurons(1.0, 0)


# --------------------------------------------------------------------------- IF neurons


def test_if_neurons_start_from_half_threshold():
    """One IF layer with constant input z = θ/(2T)·k fires qcfs_level(z, θ, T) spikes: the
    default v0 = θ/2 is the QCFS shift. With v0 = 0 every odd k would lose a spike."""
    T, theta = 8, 2.0
    z = (np.arange(-2, 2 * T + 3) * (theta / (2 * T))).astype(np.float32).reshape(-1, 1)
    snn = SpikingNetwork([Flatten(), IFNeurons(theta)], T)
    _, records = snn.run(z, record=True)
    np.testing.assert_array_equal(records[0]["counts"], qcfs_level(z, theta, T))
    assert (qcfs_level(z, theta, T) != np.floor(np.clip(T * z / theta, 0, T))).any()  # v0 = 0 differs


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])  # float16: if_neuron's checked path
def test_if_neurons_step_refuses_non_finite_currents(dtype):
    """IFNeurons.step runs if_neuron, which refuses NaN or infinite currents: a
    NonFiniteError (a ValueError); other errors keep their type."""
    with pytest.raises(NonFiniteError, match="currents must be finite"):
        IFNeurons(1.0).step(np.array([[np.nan, 0.5]], dtype))
    with pytest.raises(NonFiniteError, match="currents must be finite"):
        IFNeurons(1.0).step(np.array([[0.5, -np.inf]], dtype))
    with pytest.raises(ValueError) as error:
        IFNeurons([1.0, 2.0]).step(np.zeros((1, 3), dtype))  # 2 channels, 3 in the input
    assert error.type is ValueError and "channels" in str(error.value)


def test_parallel_neurons_refuse_non_finite_currents():
    """Faithful and collapsed firing refuse NaN or infinite currents with a NonFiniteError."""
    layer = ParallelNeurons([1.0, 0.5], 4)
    currents = np.zeros((4, 1, 2), np.float32)
    currents[2, 0, 1] = np.inf
    with pytest.raises(NonFiniteError, match="finite"):
        layer.spikes(currents)
    with pytest.raises(NonFiniteError, match="finite"):
        layer.counts_from_total(currents.sum(axis=0))
    with pytest.raises(NonFiniteError, match="finite"):
        fast_snn.fire_from_total(layer, currents.sum(axis=0))
    with pytest.raises(ValueError) as error:
        layer.spikes(np.zeros((4, 1, 3), np.float32))
    assert error.type is ValueError


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_if_neurons_steps_equal_if_neuron_per_channel(dtype):
    """Step by step, a layer with per-channel θ and ψ_DA fires what if_neuron fires on the
    shifted currents over all steps, and keeps its membrane, bit for bit (the layer calls
    if_neuron's kernel directly)."""
    rng = np.random.default_rng(1)
    theta, psi_da = np.array([0.75, 1.0, 1.5]), np.array([0.125, -0.25, 0.0])
    currents = (rng.integers(-8, 20, (9, 4, 3, 2, 2)) / 4).astype(dtype)  # many exact ties
    layer = IFNeurons(theta, psi_da=psi_da)
    fired = np.stack([layer.step(c) for c in currents])
    shifted = currents + psi_da.astype(dtype).reshape(3, 1, 1)
    spikes, membrane = if_neuron(shifted, theta.astype(dtype).reshape(3, 1, 1), return_membrane=True)
    assert spikes.any() and not spikes.all()
    np.testing.assert_array_equal(fired, spikes)
    np.testing.assert_array_equal(layer.v, membrane[-1])
    assert layer.v.dtype == dtype and layer.v.shape == (4, 3, 2, 2)


def test_if_neurons_step_checked_path_for_other_inputs():
    """An integer input takes if_neuron itself (which converts it to float64): the same
    spikes as if_neuron on the float64 currents."""
    currents = np.array([[[1, 0]], [[0, 2]], [[1, 1]]])  # (T, B, C): 3 steps, 1 sample, 2 channels
    layer = IFNeurons([1.0, 2.0])
    fired = np.stack([layer.step(c) for c in currents])
    np.testing.assert_array_equal(fired, if_neuron(currents.astype(np.float64), np.array([1.0, 2.0])))


def test_if_neurons_step_follows_theta_changes_and_new_shapes():
    """The per-neuron thresholds the layer keeps follow an edit of θ at the next step; an
    input of another shape continues from the membrane as if_neuron does with it as v0
    (broadcast, or a ValueError naming v0), and after reset() the layer starts over."""
    layer = IFNeurons(1.0)
    x = np.full((1, 4), 0.125, np.float32)
    assert not layer.step(x).any()  # v: 0.5 → 0.625
    layer.theta[...] = 0.5  # 0.625 + 0.125 = 0.75 >= 0.5 fires (it would not at θ = 1)
    assert layer.step(x).all()  # v: 0.25
    y = np.array([[0.0, 0.5, 0.0, 0.5], [0.25, 0.0, 0.0, 0.0]], np.float32)
    expected, membrane = if_neuron(y[None], 0.5, v0=layer.v.copy(), return_membrane=True)
    np.testing.assert_array_equal(layer.step(y), expected[0])
    np.testing.assert_array_equal(layer.v, membrane[0])
    with pytest.raises(ValueError, match="v0"):
        layer.step(np.zeros((3, 4), np.float32))
    layer.reset()
    assert not layer.step(np.zeros((3, 4), np.float32)).any()


def test_if_neurons_step_lets_a_float_overflow_stand():
    """Finite currents whose sum overflows give an infinite membrane, as in if_neuron: the
    result stands (only NaN or infinite currents are refused)."""
    big = np.finfo(np.float32).max
    layer = IFNeurons(1.0)
    layer.step(np.array([[big]], np.float32))
    assert layer.step(np.array([[big]], np.float32)).all()
    assert np.isinf(layer.v).all()


# --------------------------------------------------------------------------- DA-QCFS offset


@pytest.mark.parametrize("T", [2, 4, 8])
def test_daqcfs_network_collapsed_faithful_and_ann_agree(T):
    """With nonzero ψ_DA (offset θ/2 + T·ψ_DA ≠ θ/2) and φ_DA, the collapsed kernel, the
    faithful mode and the DA-QCFS ANN agree exactly on an exact network."""
    net, X = dyadic_daqcfs_mlp(7, T)
    snn = to_parallel_snn(net, T)
    assert any((layer.psi != layer.theta / 2).all() for layer in snn.neuron_layers)
    out_f, rec_f = snn.run(X, "faithful", record=True)
    out_c, rec_c = snn.run(X, "collapsed", record=True)
    np.testing.assert_array_equal(out_f.sum(axis=0), out_c)
    for f, c in zip(rec_f, rec_c):
        np.testing.assert_array_equal(f["counts"], c["counts"])
    acts = activation_outputs(net, X)
    for mode in ("faithful", "collapsed"):
        for rate, act in zip(snn.layer_rates(X, mode=mode), acts):
            np.testing.assert_array_equal(rate, act)
    np.testing.assert_array_equal(snn.predict(X, mode="collapsed"), net.forward(X).argmax(axis=1))


def test_lean_collapsed_path_with_psi_not_half_theta():
    """The lean kernel adds the layer's ψ, not θ/2: its counts equal the checked path's
    (binary search) for per-channel ψ ≠ θ/2, on totals that hit the ties Σ + ψ = kθ."""
    T, theta = 8, np.array([1.0, 2.0, 0.5])
    psi = np.array([0.125, 1.75, -0.25])
    layer = ParallelNeurons(theta, T, psi=psi, theta_post=theta + 0.25)
    k = np.arange(-4, 4 * T + 4)
    total = (k[:, None] * theta / 4 - psi).astype(np.float32)  # (B, C)
    counts, out = fast_snn.fire_from_total(layer, total)
    expected = layer.counts_from_total(total)
    np.testing.assert_array_equal(counts, expected)
    np.testing.assert_array_equal(out, (expected * (theta + 0.25)).astype(np.float32))
    half = ParallelNeurons(theta, T).counts_from_total(total)
    assert (half != expected).any()  # ψ matters on these totals


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", [QCFS(1.0, 4), ReLU()])
def test_network_refuses_layers_that_do_not_commute_with_the_time_sum(bad):
    rng = np.random.default_rng(0)
    layers = [Linear(6, 5, rng), ParallelNeurons(1.0, 4), bad, Linear(5, 3, rng)]
    with pytest.raises(TypeError, match=rf"layer 2 .*{type(bad).__name__}.*sum over time"):
        SpikingNetwork(layers, 4)


def _snns(T=4):
    net, X = dyadic_mlp(0, T)
    return [(to_parallel_snn(net, T), "faithful"), (to_parallel_snn(net, T), "collapsed"),
            (to_if_snn(net, T), "sequential")], X


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_every_mode_refuses_non_finite_input(value):
    snns, X = _snns()
    X = X.copy()
    X[2, 1] = value
    for snn, mode in snns:
        with pytest.raises(ValueError, match="X must be finite"):
            snn.predict(X, mode=mode)
        with pytest.raises(ValueError, match="X must be finite"):
            snn.run(X, mode)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NaN that the test provokes
@pytest.mark.parametrize("layer_index, pattern", [
    (4, r"layer 4 \(Linear\(4->3\)\).*weight hold NaN or infinity"),  # the last Linear
    (0, r"layer 0 \(Linear\(6->5\)\).*weight hold NaN or infinity"),  # before a neuron layer
])
def test_infinite_weights_are_named_in_every_mode(layer_index, pattern):
    """An infinite weight used to make every mode predict class 0 (or the IF path fire
    from NaN); now each mode names the layer."""
    snns, X = _snns()
    for snn, mode in snns:
        snn.layers[layer_index].weight[0, 0] = np.inf
        with pytest.raises(NonFiniteError, match=pattern):
            snn.predict(X, mode=mode)
        with pytest.raises(NonFiniteError, match=pattern):
            snn.run(X, mode, record=True)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_overflow_of_finite_weights_is_named():
    snns, X = _snns()
    for snn, mode in snns:
        snn.layers[4].weight[...] = 3e38
        with pytest.raises(ValueError, match=r"layer 4 \(Linear.*overflowed"):
            snn.predict(X, mode=mode)


def test_empty_and_scalar_input_and_bad_batch_size():
    snns, X = _snns()
    for snn, mode in snns:
        with pytest.raises(ValueError, match="non-empty batch"):
            snn.run(X[:0], mode)
        with pytest.raises(ValueError, match="non-empty batch"):
            snn.run(np.float32(1.0), mode)
        for batch_size in (0, -1):
            with pytest.raises(ValueError, match="batch_size"):
                snn.predict(X, mode=mode, batch_size=batch_size)
        with pytest.raises(TypeError, match="batch_size"):
            snn.predict(X, mode=mode, batch_size=2.5)


def test_parameter_sizes_are_checked():
    with pytest.raises(ValueError, match="theta"):
        ParallelNeurons([], 4)
    with pytest.raises(ValueError, match="theta"):
        IFNeurons(np.ones((2, 2)))
    with pytest.raises(ValueError, match="theta has 2.*psi has 3"):
        ParallelNeurons([1.0, 2.0], 4, psi=[0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="theta has 3.*theta_post has 2"):
        IFNeurons([1.0, 1.0, 1.0], theta_post=[1.0, 2.0])
    rng = np.random.default_rng(0)
    for neurons in (IFNeurons([1.0, 2.0, 3.0]), ParallelNeurons([1.0, 2.0, 3.0], 4)):
        snn = SpikingNetwork([Linear(6, 5, rng), neurons], 4)
        with pytest.raises(ValueError, match=r"Neurons\(C=3.*theta has 3 channels.*shape \(\d+, 5\) has 5"):
            snn.predict(np.zeros((16, 6), np.float32))


# --------------------------------------------------------------------------- limits


def test_faithful_mode_refuses_runs_above_the_memory_limit(monkeypatch):
    """The estimate: the arrays alive at once (2.25 for a network without residual
    blocks) of T copies of a group of samples through the largest layer, plus the
    per-step logits of the whole batch (twice while they are stacked) if returned."""
    net, X = dyadic_cnn(1, 4)
    snn = to_parallel_snn(net, 4)
    assert modes.arrays_alive(snn.net) == 2.25
    largest = 4 * 32 * 4  # T·largest layer (2·4·4)·4 bytes, per sample
    monkeypatch.setattr(spiking, "MAX_BYTES", 2.25 * 8 * largest - 1)  # B = 8 samples
    with pytest.raises(ValueError, match='mode="collapsed"'):
        snn.predict(X)
    with pytest.raises(ValueError, match="MAX_BYTES"):
        snn.run(X, "faithful")
    np.testing.assert_array_equal(snn.predict(X, mode="collapsed"), net.forward(X).argmax(axis=1))
    np.testing.assert_array_equal(snn.predict(X, batch_size=4), net.forward(X).argmax(axis=1))  # fits
    monkeypatch.setattr(spiking, "FAITHFUL_GROUP_IMAGES", 4 * 4)  # predict holds 4 of the 8 samples at once
    monkeypatch.setattr(spiking, "MAX_BYTES", 2.25 * 4 * largest)
    np.testing.assert_array_equal(snn.predict(X), net.forward(X).argmax(axis=1))
    with pytest.raises(ValueError, match="MAX_BYTES"):
        snn.run(X, "faithful")  # the per-step outputs of all 8 samples are returned


def test_memory_guard_dry_run_is_kept_per_sample_shape_and_layers():
    """The memory guard's dry run (one zero sample through the network) runs once per
    sample shape, dtype and set of layers: not again for a second batch, again for a new
    image size or a replaced layer; and a parameter edited after the dry run is still
    refused by the run itself."""
    net, X = dyadic_cnn(1, 4)
    snn = to_parallel_snn(net, 4)
    calls = []
    original = modes.run

    def counting(layer, x, hook=None):
        if x.shape[0] == 1 and not x.any():
            calls.append(x.shape)
        return original(layer, x, hook)
    with mock.patch.object(modes, "run", counting):
        snn.predict(X, mode="faithful")
        snn.predict(X[:3] + 0.5, mode="faithful")
        assert len(calls) == 1
        snn.net.layers[-1] = copy.deepcopy(snn.net.layers[-1])  # a new layer object
        snn.predict(X, mode="faithful")
        assert len(calls) == 2
    layer = snn.neuron_layers[0]
    layer.theta = np.ones(7)  # not one per channel: the network has fewer channels
    with pytest.raises(ValueError, match="channels"):
        snn.predict(X, mode="faithful")


def test_huge_T_is_refused_before_allocating():
    """T = 2²⁶ copies of 8 small images would need 68 GB: refused, not attempted; the
    collapsed mode refuses T >= 2²² (its float32 time sums are inexact there)."""
    net, X = dyadic_cnn(1, 4)
    snn = to_parallel_snn(net, 2**26)
    with pytest.raises(ValueError, match='GiB.*mode="collapsed"'):
        snn.predict(X)
    with pytest.raises(ValueError, match="collapsed.*T=67108864"):
        snn.predict(X, mode="collapsed")


def test_collapsed_mode_refuses_T_at_the_float32_limit():
    net, X = dyadic_mlp(0, 4)
    snn = to_parallel_snn(net, 2**22)
    with pytest.raises(ValueError, match="2\\*\\*22"):
        snn.run(X, "collapsed")
    assert to_parallel_snn(net, 2**22 - 1).run(X, "collapsed").shape == (16, 3)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_lean_collapsed_kernel_reports_a_sum_that_is_not_finite(bad):
    """The lean kernel checks finiteness as it reads (no separate pass): it returns 0 for
    finite sums and a non-zero state for NaN or ±inf anywhere, and fire_from_total then
    takes the checked path, whose error names the problem."""
    layer = ParallelNeurons([1.0, 0.5], 8)
    total = np.random.default_rng(0).uniform(-1, 10, (5, 2, 3)).astype(np.float32)
    counts, out = np.empty(total.shape, np.int64), np.empty_like(total)
    args = (layer.theta, layer.psi, layer.theta_post, np.float32(8), counts, out)
    assert parallel_kernels.collapsed_kernel(total, *args) == 0
    total[4, 1, 2] = bad  # the last value read
    assert parallel_kernels.collapsed_kernel(total, *args) != 0
    with pytest.raises(ValueError, match="finite"):
        fast_snn.fire_from_total(layer, total)


def test_lean_collapsed_kernel_is_not_used_at_or_above_the_limit(monkeypatch):
    """At T = 2²⁴ + 1 the float32 kernel miscounts; fire_from_total takes the checked
    path (binary search) instead and agrees with counts_from_total."""
    def refuse(*args):
        raise AssertionError("the lean kernel must not run at this T")
    T = 2**24 + 1
    layer = ParallelNeurons([1.0, 0.5], T)
    total = np.random.default_rng(0).uniform(-1, 1.2 * T, (64, 2)).astype(np.float32)
    monkeypatch.setattr(parallel_kernels, "collapsed_kernel", refuse)
    counts, out = fast_snn.fire_from_total(layer, total)
    np.testing.assert_array_equal(counts, layer.counts_from_total(total))
    np.testing.assert_array_equal(out, (counts * np.array([1.0, 0.5])).astype(np.float32))


def peak_bytes(run):
    """The peak memory, in bytes, that NumPy allocates while ``run()`` runs (tracemalloc)."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_sequential_predict_keeps_neither_steps_nor_trains():
    """predict on an IF network sums the logits step by step: its peak memory does not
    grow with T (stacking 256 steps of 8×1024 outputs and trains would take 10 MB)."""
    T = 256
    snn = SpikingNetwork([Flatten(), IFNeurons(1.0)], T)
    X = np.random.default_rng(0).random((8, 1024)).astype(np.float32)
    snn.predict(X)  # compile first
    peak = peak_bytes(lambda: snn.predict(X))
    assert peak < 1_000_000


@pytest.mark.parametrize("group_images", [1, 8, 3 * 4])
def test_faithful_groups_of_samples_change_nothing(monkeypatch, group_images):
    """Faithful mode runs the batch in groups of samples (FAITHFUL_GROUP_IMAGES // T per
    group, at least 1); outputs per step, summed outputs, counts and spike trains equal a
    run of the whole batch at once, on a network whose arithmetic is not exact."""
    net, X = dyadic_cnn(4, 4)
    rng = np.random.default_rng(5)
    X = rng.random(X.shape).astype(np.float32)
    snn = to_parallel_snn(net, 4)
    monkeypatch.setattr(spiking, "FAITHFUL_GROUP_IMAGES", 10**9)  # one group
    whole = snn.run(X, record=True)
    total = snn._forward(X, "faithful", steps=False, record="counts")
    monkeypatch.setattr(spiking, "FAITHFUL_GROUP_IMAGES", group_images)
    grouped = snn.run(X, record=True)
    np.testing.assert_array_equal(grouped[0], whole[0])
    for g, w in zip(grouped[1], whole[1]):
        assert g.keys() == w.keys() == {"counts", "spikes"}
        np.testing.assert_array_equal(g["spikes"], w["spikes"])
        np.testing.assert_array_equal(g["counts"], w["counts"])
    grouped_total = snn._forward(X, "faithful", steps=False, record="counts")
    np.testing.assert_array_equal(grouped_total[0], total[0])
    for g, w in zip(grouped_total[1], total[1]):
        np.testing.assert_array_equal(g["counts"], w["counts"])


def test_faithful_predict_holds_one_group_of_T_copies_at_a_time():
    """predict in faithful mode sums each group's steps before the next group starts:
    its peak memory follows FAITHFUL_GROUP_IMAGES, not T·B (here T·B copies of the
    batch would take 16 MiB of float32 currents and 4 MiB of spikes)."""
    T = 64
    snn = SpikingNetwork([Flatten(), ParallelNeurons(1.0, T)], T)
    X = np.random.default_rng(1).random((64, 1024)).astype(np.float32)
    snn.predict(X, mode="faithful")  # compile first
    peak = peak_bytes(lambda: snn.predict(X, mode="faithful"))
    assert peak < 4_000_000


def _qcfs_networks():
    """The demo's CNN and a one-block-per-stage ResNet, untrained (memory does not
    depend on the weights), in evaluation mode, for 1×8×8 images."""
    qcfs = lambda: QCFS(8.0, levels=4)  # noqa: E731
    return {"demo CNN": set_training(build_cnn(qcfs, np.random.default_rng(0)), False),
            "resnet_mini": set_training(resnet_mini(qcfs, seed=0, blocks=1), False)}


def _backward_state(net):
    """What the time-linear leaves of ``net`` hold for a backward pass: their private
    attributes holding arrays (``_x``, ``_x_hat``, a Conv2d's patches), as {path.name: bytes}."""
    held = {}
    for path, layer in iter_layers(net):
        if isinstance(layer, spiking.TIME_LINEAR):
            for name, value in vars(layer).items():
                arrays = [v for v in (value if isinstance(value, tuple) else (value,)) if isinstance(v, np.ndarray)]
                if name.startswith("_") and arrays:
                    held[f"{path}.{name}"] = sum(a.nbytes for a in arrays)
    return held


@pytest.mark.parametrize("name, T", [("demo CNN", 2**12), ("resnet_mini", 2**13)])
def test_faithful_memory_guard_is_within_two_times_the_measured_peak(monkeypatch, name, T):
    """The guard's estimate of a faithful predict lies within a factor 2 of its peak
    memory, measured by tracemalloc (NumPy reports its allocations to it) at a T where
    the T copies of the layers' outputs dominate: with MAX_BYTES at half the peak the
    run is refused, at twice the peak it runs."""
    snn = to_parallel_snn(_qcfs_networks()[name], T)
    X = np.random.default_rng(0).random((1, 1, 8, 8)).astype(np.float32)
    snn.predict(X)  # compile, and the guard's dry run
    peak = peak_bytes(lambda: snn.predict(X))
    assert peak > 8 * T * 64 * 4  # the T copies dominate: many times the input's T copies
    monkeypatch.setattr(spiking, "MAX_BYTES", peak // 2)
    with pytest.raises(ValueError, match="MAX_BYTES"):
        snn.predict(X)
    monkeypatch.setattr(spiking, "MAX_BYTES", 2 * peak)
    snn.predict(X)


@pytest.mark.parametrize("mode", ["faithful", "collapsed", "sequential"])
def test_no_layer_keeps_backward_state_after_a_run(mode):
    """A spiking network never runs a backward pass, so after predict (or run) none of
    its layers holds an input or patches for one: in faithful mode these would be T
    copies of every layer's input, held until the next run. Also when the ANN's layers
    held the last training batch's state before conversion."""
    net = _qcfs_networks()["resnet_mini"]
    X = np.random.default_rng(1).random((3, 1, 8, 8)).astype(np.float32)
    snn = (to_if_snn if mode == "sequential" else to_parallel_snn)(net, 64)
    for layer in (leaf for _, leaf in iter_layers(snn.net) if isinstance(leaf, Linear)):
        layer._x = np.ones((64, layer.in_features), np.float32)  # as a training batch leaves it
    snn.predict(X, mode=mode)
    assert _backward_state(snn.net) == {}
    snn.run(X, mode=mode, record=True)
    assert _backward_state(snn.net) == {}


def test_summed_steps_equal_the_sum_of_stacked_steps():
    """The step-by-step sum of predict is bit for bit the sum of run's stacked steps,
    also on a network whose arithmetic is not exact."""
    net, X = dyadic_mlp(2, 8)
    rng = np.random.default_rng(3)
    for layer in (net[0], net[2], net[4]):
        layer.weight[...] = rng.standard_normal(layer.weight.shape).astype(np.float32) / 3
    X = rng.random(X.shape).astype(np.float32)
    for snn, mode in ((to_if_snn(net, 8), "sequential"), (to_parallel_snn(net, 8), "faithful")):
        total, _ = snn._forward(X, mode, steps=False, record=None)
        np.testing.assert_array_equal(total, snn.run(X, mode).sum(axis=0))


# --------------------------------------------------------------------------- residual blocks and BatchNorm


@given(seed=st.integers(0, 10_000), T=st.sampled_from([2, 4, 8]))
def test_resnet_with_batchnorm_is_lossless_at_T_equal_T_tilde(seed, T):
    """Theorem 4.1 through residual blocks and BatchNorm: on an exact (dyadic) ResNet the
    parallel SNN at T = T̃ predicts what the QCFS ANN predicts and every layer's rate is
    the ANN activation exactly, in faithful and collapsed mode; the collapsed logits are
    the faithful ones summed over time, bit for bit."""
    from nets import dyadic_resnet

    from refsnn.networks.conversion import activation_outputs
    from refsnn.networks.training import predict

    net, X = dyadic_resnet(seed, T)
    snn = to_parallel_snn(net, T)
    assert len(snn.neuron_layers) == 13  # stem + 3 stages × 2 blocks × 2
    ann_pred, ann_act = predict(net, X), activation_outputs(net, X)
    for mode in ("faithful", "collapsed"):
        pred, rates = snn.predict_and_rates(X, mode=mode)
        np.testing.assert_array_equal(pred, ann_pred)
        for rate, act in zip(rates, ann_act):
            np.testing.assert_array_equal(rate, act)
    np.testing.assert_array_equal(snn.run(X, mode="faithful").sum(axis=0), snn.run(X, mode="collapsed"))


def test_sequential_if_through_blocks_equals_if_neuron_layer_by_layer(monkeypatch):
    """Each IF layer of a ResNet, inside or after a residual block, fires exactly the
    spikes that ``if_neuron`` fires on that layer's input currents over the T steps."""
    from nets import dyadic_resnet

    net, X = dyadic_resnet(3, 4)
    snn = to_if_snn(net, 8)
    inputs = {id(layer): [] for layer in snn.neuron_layers}
    step = IFNeurons.step

    def recording_step(self, current):
        inputs[id(self)].append(np.array(current))
        return step(self, current)

    monkeypatch.setattr(IFNeurons, "step", recording_step)
    monkeypatch.setattr(fast_snn, "if_forward_step", lambda *args: None)  # the readable path, through step
    _, records = snn.run(X, record=True)
    assert len(records) == len(snn.neuron_layers) == 13
    for layer, rec in zip(snn.neuron_layers, records):
        currents = np.stack(inputs[id(layer)])
        assert currents.shape[0] == 8
        np.testing.assert_array_equal(rec["spikes"], if_neuron(currents, theta=float(layer.theta[0])))
        np.testing.assert_array_equal(rec["counts"], rec["spikes"].sum(axis=0))


def test_collapsed_mode_adds_the_batchnorm_offset_T_times():
    """Σ_t BN(x_t) = a·Σ_t x_t + T·c: one BatchNorm between two neuron layers with a
    large shift c; collapsed ≡ faithful only if the offset is counted T times."""
    from refsnn.networks.containers import set_training
    from refsnn.networks.normalization import BatchNorm

    bn = BatchNorm(3)
    bn.bias[...] = [0.5, -0.25, 1.0]
    bn.running_mean[...] = [0.25, 0.0, -0.5]
    bn.eps = 2.0 ** -20
    bn.running_var[...] = 1 - bn.eps
    set_training(Sequential(bn), False)
    lin = Linear(3, 2, np.random.default_rng(0))
    lin.weight[...] = [[1.0, -0.5, 0.25], [0.5, 0.5, -1.0]]
    snn = SpikingNetwork([Flatten(), bn, ParallelNeurons(1.0, 8), lin], 8)
    X = (np.arange(12).reshape(4, 3) / 16).astype(np.float32)
    np.testing.assert_array_equal(snn.run(X, mode="faithful").sum(axis=0), snn.run(X, mode="collapsed"))


def test_batchnorm_in_training_mode_is_refused():
    from refsnn.networks.normalization import BatchNorm

    with pytest.raises(ValueError, match="training mode"):
        SpikingNetwork([Linear(3, 3, np.random.default_rng(0)), BatchNorm(3), ParallelNeurons(1.0, 4)], 4)


def test_spike_trains_refuses_the_index_one_past_the_last_neuron_layer():
    """Layers are numbered 0..L-1: asking for layer L is a ValueError that says so."""
    net, X = dyadic_mlp(0, 4)
    snn = to_parallel_snn(net, 4)
    assert len(snn.neuron_layers) == 2
    with pytest.raises(ValueError, match="layer must be < 2"):
        snn.spike_trains(X, 2)


def test_cumulative_predictions_sum_the_logits_over_time():
    """Row t is the argmax of the logits summed over steps 1..t+1: row 0 is the first
    step's prediction and the last row is predict()."""
    net, X = dyadic_mlp(1, 8)
    for snn in (to_parallel_snn(net, 8), to_if_snn(net, 8)):
        rows = snn.cumulative_predictions(X)
        assert rows.shape == (8, len(X))
        np.testing.assert_array_equal(rows[0], snn.run(X)[0].argmax(axis=-1))
        np.testing.assert_array_equal(rows[-1], snn.predict(X))


def test_an_if_layers_spike_amplitude_is_its_own_array():
    """θ_post defaults to θ's value, not to θ itself: doubling the spike amplitude in
    place doubles the outputs and leaves the threshold, so the spike times, alone."""
    layer = IFNeurons(1.0)
    current = np.array([[0.75]], dtype=np.float32)
    before = [layer.forward(current)[0, 0] for _ in range(4)]
    layer.reset()
    layer.theta_post *= 2
    after = [layer.forward(current)[0, 0] for _ in range(4)]
    assert layer.theta[0] == 1.0
    np.testing.assert_array_equal(after, 2 * np.array(before))


@pytest.mark.parametrize("order", ["paper", "code"])
def test_train_from_counts_fires_exactly_the_counts(order):
    """The train of a count N has N spikes, at the last N steps (paper order) or the
    first N (code order), for every N in 0..T."""
    layer = ParallelNeurons(1.0, 4, order=order)
    counts = np.arange(5)
    train = layer.train_from_counts(counts)
    np.testing.assert_array_equal(train.sum(axis=0), counts)
    first = np.argmax(train, axis=0)[1:]  # the first spike step of N = 1..4
    np.testing.assert_array_equal(first, [3, 2, 1, 0] if order == "paper" else [0, 0, 0, 0])


@pytest.mark.parametrize("mode", ["faithful", "collapsed", "sequential"])
def test_batchnorm_put_in_training_mode_after_construction_is_refused_on_every_run(mode):
    """set_training(snn.net, True) after the SNN is built: every run is a ValueError
    naming the first BatchNorm and saying how to fix it, before any BatchNorm normalises
    with batch statistics or overwrites its running statistics; also the first run,
    whose memory guard's dry run would otherwise go through the BatchNorm layers."""
    net = _qcfs_networks()["resnet_mini"]
    X = np.random.default_rng(2).random((3, 1, 8, 8)).astype(np.float32)
    convert = to_if_snn if mode == "sequential" else to_parallel_snn
    snn, fresh = convert(net, 4), convert(net, 4)
    expected = snn.predict(X, mode=mode)
    for network in (snn, fresh):  # after a run (the dry run kept), and before any
        set_training(network.net, True)
        statistics = [(layer.running_mean.copy(), layer.running_var.copy())
                      for _, layer in iter_layers(network.net) if hasattr(layer, "running_mean")]
        for call in (lambda: network.predict(X, mode=mode), lambda: network.run(X, mode=mode, record=True),
                     lambda: network.spike_counts(X, mode=mode)):
            with pytest.raises(ValueError, match=r"layer 1 \(BatchNorm.*training mode.*set_training\(net, False\)"):
                call()
        after = [(layer.running_mean, layer.running_var)
                 for _, layer in iter_layers(network.net) if hasattr(layer, "running_mean")]
        for (mean, var), (mean_after, var_after) in zip(statistics, after):
            np.testing.assert_array_equal(mean_after, mean)
            np.testing.assert_array_equal(var_after, var)
        set_training(network.net, False)
        np.testing.assert_array_equal(network.predict(X, mode=mode), expected)


@pytest.mark.parametrize("mode", ["faithful", "collapsed", "sequential"])
def test_residual_paths_of_different_shapes_are_refused_in_every_mode(mode):
    """An 8-channel main path plus a 1-channel identity shortcut broadcasts to 8
    channels: every mode refuses it with a ValueError naming the block and both shapes."""
    rng = np.random.default_rng(3)
    neurons = IFNeurons(1.0) if mode == "sequential" else ParallelNeurons(1.0, 4)
    snn = SpikingNetwork([Residual(Conv2d(1, 8, 3, padding=1, rng=rng), None, neurons), Flatten(),
                          Linear(8 * 4 * 4, 3, rng)], 4)
    X = rng.random((2, 1, 4, 4)).astype(np.float32)
    with pytest.raises(ValueError, match=r"Residual block.*shortcut: identity.*8, 4, 4\).*1, 4, 4\)"):
        snn.predict(X, mode=mode)



def test_the_spiking_network_module_reads_in_one_sitting():
    """``SpikingNetwork`` keeps construction, checks and results; its modes and fast paths
    live in ``modes`` and ``fast_snn``, so ``spiking.py`` stays under 400 lines."""
    import inspect

    from refsnn.networks import spiking

    assert len(inspect.getsource(spiking).splitlines()) < 400


def _sequential_run(snn, X, record, lean, monkeypatch):
    """Per-step logits, records and final membranes of sequential mode, with the fused
    IF step (lean) or the readable path (layer.step, then θ_post·s and counts += s)."""
    with monkeypatch.context() as m:
        if not lean:
            m.setattr(fast_snn, "if_forward_step", lambda *args: None)
        result = snn.run(X, record=record)
    out, records = result if record else (result, [])
    return out, records, [layer.v.copy() for layer in snn.neuron_layers]


@pytest.mark.parametrize("net_of", ["resnet", "cnn"])
def test_fused_if_step_equals_the_readable_path(net_of, monkeypatch):
    """Sequential mode with the fused IF step (fast_snn.if_forward_step) gives the
    readable path's logits, spike trains, counts and membranes bit for bit: on a
    dyadic ResNet and CNN (exact ties at θ), with per-channel θ and θ_post ≠ θ."""
    from nets import dyadic_resnet

    net, X = dyadic_resnet(3, 4) if net_of == "resnet" else dyadic_cnn(2, 4)
    snn = to_if_snn(net, 8)
    rng = np.random.default_rng(0)
    counted = snn.run(X, record=True)[1]  # the channels C of every layer
    for layer, rec in zip(snn.neuron_layers[::2], counted[::2]):  # one θ per channel, θ_post = 1.5 θ
        C = rec["counts"].shape[1]
        layer.theta = rng.choice([0.5, 1.0, 2.0], C)
        layer.theta_post = 1.5 * layer.theta
    for record in (False, True):
        lean = _sequential_run(snn, X, record, True, monkeypatch)
        plain = _sequential_run(snn, X, record, False, monkeypatch)
        np.testing.assert_array_equal(lean[0], plain[0])
        assert lean[0].dtype == plain[0].dtype
        for a, b in zip(lean[1], plain[1]):
            assert a.keys() == b.keys() and a["counts"].dtype == np.int64  # the documented dtype
            for key in a:
                np.testing.assert_array_equal(a[key], b[key])
                assert a[key].dtype == b[key].dtype
        for a, b in zip(lean[2], plain[2]):
            np.testing.assert_array_equal(a, b)
    assert any(layer.theta.size > 1 for layer in snn.neuron_layers)
    np.testing.assert_array_equal(snn.predict_and_rates(X)[0], snn.predict(X))


def test_fused_if_step_is_used_and_refuses_a_nan_current(monkeypatch):
    """predict runs the fused step (and never layer.step) on an ordinary network; a NaN
    input current is still the readable path's NonFiniteError."""
    net, X = dyadic_cnn(1, 4)
    snn = to_if_snn(net, 4)
    monkeypatch.setattr(IFNeurons, "step", lambda self, current: pytest.fail("the readable step ran"))
    snn.predict(X)
    layer = snn.neuron_layers[0]
    layer.reset()
    monkeypatch.undo()
    with pytest.raises(NonFiniteError, match="NaN|finite"):
        fast_snn.if_forward_step(layer, np.full((2, 2, 4, 4), np.nan, np.float32))
