"""Tests for refsnn.neurons.integrate_fire: the sequential IF neuron with soft reset."""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from strategies import GRID, dyadic_currents, exact_level, thresholds

from refsnn import if_neuron, qcfs_level
from refsnn.neurons.integrate_fire import BLOCK, if_neuron_reference


@given(T=st.integers(1, 64), k=st.integers(-16, 160), theta=thresholds)
@example(T=4, k=4, theta=1.0)  # z = θ/8: T·z/θ + 1/2 = 1, a tie
@example(T=2, k=8, theta=1.0)  # z = θ/4: T·z + θ/2 = θ exactly
def test_constant_input_count_equals_qcfs_level(T, k, theta):
    """For constant input I_t = z, the IF count is the QCFS level at L = T.

    N = clip(floor((T·z + θ/2)/θ), 0, T). On the exact grid z = k·θ/32 the membrane
    sums are exact, and ties (fire exactly at θ) are frequent: they need ``>=`` and
    v0 = θ/2.
    """
    z = k * (GRID * theta / 4)
    spikes = if_neuron(np.full((T, 1), z), theta)
    assert spikes.sum() == exact_level(z, theta, T, theta / 2)
    assert spikes.sum() == qcfs_level(z, theta, T)


def test_fires_on_greater_or_equal():
    """A membrane exactly at θ fires: v0 = θ/2 plus I = θ/2."""
    assert if_neuron([[0.5]], 1.0)[0, 0]
    assert not if_neuron([[0.49]], 1.0)[0, 0]


def test_soft_reset_and_membrane_trace():
    """Soft reset subtracts θ and keeps the excess (v_t = m_t − θ s_t)."""
    spikes, v = if_neuron([1.75, 0.0, 0.25, -1.0], 1.0, return_membrane=True)
    np.testing.assert_array_equal(spikes, [True, True, False, False])
    np.testing.assert_array_equal(v, [1.25, 0.25, 0.5, -0.5])


def test_default_v0_is_half_theta_and_can_be_set():
    spikes, v = if_neuron(np.zeros((1, 2)), [1.0, 4.0], return_membrane=True)
    np.testing.assert_array_equal(v[0], [0.5, 2.0])
    spikes, v = if_neuron(np.zeros((1, 2)), 1.0, v0=[0.0, 1.0], return_membrane=True)
    np.testing.assert_array_equal(spikes[0], [False, True])
    np.testing.assert_array_equal(v[0], [0.0, 0.0])


def test_shapes_and_channelwise_theta():
    """Any neuron shape after the time axis; θ of shape (C, 1, 1) is per channel."""
    currents = np.full((4, 2, 3, 2, 2), 0.5)
    theta = np.array([1.0, 2.0, 4.0]).reshape(3, 1, 1)
    spikes = if_neuron(currents, theta)
    assert spikes.shape == currents.shape
    np.testing.assert_array_equal(spikes.sum(axis=0)[0, :, 0, 0], [2, 1, 1])
    assert if_neuron(np.ones(3), 1.0).shape == (3,)  # a single neuron, shape (T,)


@given(data=dyadic_currents())
def test_uneven_input_can_differ_from_qcfs_but_count_is_bounded(data):
    """For uneven input the IF count is some value in 0..T (the level is not guaranteed)."""
    currents, theta = data
    count = if_neuron(currents, theta).sum(axis=0)
    assert ((0 <= count) & (count <= currents.shape[0])).all()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(theta=0.0), ValueError, "theta"),
        (dict(theta=[1.0, -1.0]), ValueError, "theta"),
        (dict(theta=np.inf), ValueError, "theta"),
        (dict(v0=np.nan), ValueError, "v0"),
        (dict(currents=np.zeros((0, 2))), ValueError, "T >= 1"),
        (dict(currents=1.0), ValueError, "time axis"),
        (dict(currents=[[np.nan, 0.0]]), ValueError, "currents"),
        (dict(currents=[["x", "y"]]), TypeError, "currents"),
        (dict(theta=np.ones(3)), ValueError, "theta"),
    ],
)
def test_bad_input_raises(kwargs, error, match):
    args = dict(currents=np.zeros((3, 2)), theta=1.0)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        if_neuron(**args)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_current_in_a_late_block_still_raises(bad):
    """Finiteness is checked from the kernel's final membrane, not by a separate pass."""
    currents = np.zeros((5, BLOCK + 3), dtype=np.float32)
    currents[3, -1] = bad
    with pytest.raises(ValueError, match="currents"):
        if_neuron(currents, 1.0)


def test_finite_overflow_is_not_reported_as_non_finite_input():
    """The membrane of finite float32 currents can overflow to inf: arithmetic, not bad input."""
    assert if_neuron(np.full((4, 3), 3e38, dtype=np.float32), 1.0).all()


# --------------------------------------------------------------------------- out=


@pytest.mark.parametrize("return_membrane", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_out_receives_the_spikes_and_is_returned(dtype, return_membrane):
    """out= (NumPy's convention) gets the spikes bit for bit, over more than one kernel
    block, and is the array returned; the membrane is unaffected."""
    currents = np.random.default_rng(0).normal(0.3, 0.7, (7, 2, BLOCK // 2 + 5)).astype(dtype)
    out = np.ones(currents.shape, dtype=bool)  # every entry must be written
    got = if_neuron(currents, 0.75, return_membrane=return_membrane, out=out)
    expected = if_neuron(currents, 0.75, return_membrane=return_membrane)
    if return_membrane:
        assert got[0] is out
        np.testing.assert_array_equal(got[1], expected[1])
        got, expected = got[0], expected[0]
    assert got is out
    np.testing.assert_array_equal(out, expected)


def _overlapping():
    memory = np.zeros(12, dtype=np.float32)
    return memory.reshape(3, 4), memory.view(np.bool_)[:12].reshape(3, 4)


@pytest.mark.parametrize(
    "make_out, error, match",
    [
        (lambda c: np.zeros(c.shape, dtype=np.float32), TypeError, "out must have dtype bool"),
        (lambda c: [[False] * 4] * 3, TypeError, "out must be a numpy.ndarray"),
        (lambda c: np.zeros((3, 5), dtype=bool), ValueError, r"out must have shape \(3, 4\)"),
        (lambda c: np.zeros((3, 8), dtype=bool)[:, ::2], ValueError, "out must be C-contiguous"),
    ],
)
def test_bad_out_raises(make_out, error, match):
    currents = np.zeros((3, 4), dtype=np.float32)
    with pytest.raises(error, match=match):
        if_neuron(currents, 1.0, out=make_out(currents))


def test_read_only_or_overlapping_out_raises():
    read_only = np.zeros((3, 4), dtype=bool)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="out must be writeable"):
        if_neuron(np.zeros((3, 4), dtype=np.float32), 1.0, out=read_only)
    currents, out = _overlapping()
    with pytest.raises(ValueError, match="out must not share memory with the input currents"):
        if_neuron(currents, 1.0, out=out)


@pytest.mark.parametrize("per_neuron", ["theta", "v0"])
def test_one_parameter_per_neuron_and_one_single_number_over_blocks(per_neuron):
    """θ per neuron with a single-number v0, or the other way round, over more than two
    kernel blocks: the single number is spread to every neuron (it comes as one block of
    copies otherwise, which the kernel would read as if both were blocks), and the spikes
    and membranes equal the twin's."""
    rng = np.random.default_rng(3)
    N = 2 * BLOCK + 5
    currents = rng.normal(0.3, 0.7, (6, N)).astype(np.float32)
    params = {"theta": 0.75, "v0": 0.25}
    params[per_neuron] = rng.uniform(0.1, 1.0, N)
    got = if_neuron(currents, params["theta"], v0=params["v0"], return_membrane=True)
    expected = if_neuron_reference(currents, params["theta"], v0=params["v0"], return_membrane=True)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
