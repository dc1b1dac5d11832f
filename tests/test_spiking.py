"""Tests for refsnn.networks.spiking: running converted networks in their three modes (spec §6)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nets import dyadic_cnn, dyadic_mlp

from refsnn import if_neuron
from refsnn.networks.conversion import activations, to_if_snn, to_parallel_snn
from refsnn.networks.layers import Linear
from refsnn.networks.spiking import IFNeurons, ParallelNeurons, SpikingNetwork

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
    for rate, act in zip(snn.layer_rates(X), activations(net, X)):
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
