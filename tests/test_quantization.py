"""Tests for refsnn.neurons.quantization: QCFS, ClipReLU and DA-QCFS against their twins and exact oracles."""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import GRID, exact_level, thresholds

from refsnn import clip_relu, da_qcfs, qcfs, qcfs_level
from refsnn.neurons.quantization import da_qcfs_shift

levels = st.integers(1, 64)
finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@given(
    z=hnp.arrays(np.int64, st.integers(1, 20), elements=st.integers(-20, 150)),
    theta=thresholds,
    L=levels,
)
@example(z=np.array([4, 12]), theta=1.0, L=4)  # z·L/θ = 0.5 and 1.5: exact ties
def test_level_is_round_half_up_on_exact_grid(z, theta, L):
    """QCFS level = clip(floor((L·z + θ/2)/θ), 0, L), rounding ties *up*.

    z lies on the grid k·θ/32, so L·z/θ + 1/2 hits integers (ties) often; np.round,
    which rounds half to even, would fail at those ties.
    """
    z = z * (GRID * theta / 4)
    expected = exact_level(z, theta, L, theta / 2)
    np.testing.assert_array_equal(qcfs_level(z, theta, L), expected)
    np.testing.assert_array_equal(qcfs(z, theta, L), (theta / L) * expected)  # same op order


def test_ties_round_up_not_to_even():
    """At u = k + 1/2 the level is k + 1 for every k, even and odd (np.round fails half)."""
    L, theta = 8, 1.0
    z = (np.arange(L) + 0.5) / L  # L·z/θ = k + 1/2
    np.testing.assert_array_equal(qcfs_level(z, theta, L), np.arange(L) + 1)


def test_qcfs_values_and_clipping():
    """Below 0 the output is 0, above θ it is θ, in between a multiple of θ/L."""
    z = np.array([-5.0, 0.0, 0.1, 0.125, 0.3, 0.99, 1.0, 7.0])
    np.testing.assert_array_equal(qcfs(z, 1.0, 4), [0, 0, 0, 0.25, 0.25, 1, 1, 1])


def test_psi_changes_the_rounding():
    """ψ = 0 is floor (truncation); the default ψ = θ/2 rounds half up."""
    np.testing.assert_array_equal(qcfs_level([0.2, 0.3], 1.0, 4, psi=0.0), [0, 1])
    np.testing.assert_array_equal(qcfs_level([0.2, 0.3], 1.0, 4), [1, 1])


def test_channelwise_theta_broadcasts():
    """θ of shape (C, 1, 1) applies per channel to z of shape (B, C, H, W)."""
    z = np.full((2, 3, 2, 2), 0.5)
    theta = np.array([1.0, 2.0, 4.0]).reshape(3, 1, 1)
    out = qcfs(z, theta, 4)
    np.testing.assert_array_equal(out[0, :, 0, 0], [0.5, 0.5, 1.0])
    np.testing.assert_array_equal(qcfs_level(z, theta, 4)[0, :, 0, 0], [2, 1, 1])


def test_da_qcfs_reduces_to_qcfs_and_applies_shift_and_scale():
    z = np.linspace(-0.5, 1.5, 41)
    np.testing.assert_array_equal(da_qcfs(z, 1.0, 4, 0.0, 0.0), qcfs(z, 1.0, 4))
    # ψ_DA shifts the input, φ_DA rescales the output amplitude θ + φ_DA.
    np.testing.assert_array_equal(da_qcfs(z, 1.0, 4, 0.25, 0.0), qcfs(z + 0.25, 1.0, 4))
    np.testing.assert_allclose(da_qcfs(z, 1.0, 4, 0.0, 0.5), 1.5 * qcfs(z, 1.0, 4))


def test_clip_relu():
    z = np.array([-1.0, 0.5, 3.0])
    np.testing.assert_array_equal(clip_relu(z, 2.0), [0.0, 0.5, 2.0])
    zz = np.repeat(z[:, None], 2, axis=1)
    np.testing.assert_array_equal(clip_relu(zz, np.array([1.0, 4.0])), [[0, 0], [0.5, 0.5], [1, 3]])
    with pytest.raises(ValueError, match="theta"):
        clip_relu(z[:, None], np.array([1.0, 4.0]))  # parameters never enlarge the output
    assert clip_relu(z.astype(np.float32), 2.0).dtype == np.float32


def test_dtypes():
    assert qcfs(np.float32([0.3]), 1.0, 4).dtype == np.float32
    assert qcfs([0.3], 1.0, 4).dtype == np.float64
    assert qcfs(np.array([1, 2]), 4.0, 4).dtype == np.float64  # integers compute in float64
    assert qcfs_level([0.3], 1.0, 4).dtype == np.int64


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(theta=0.0), ValueError, "theta"),
        (dict(theta=-1.0), ValueError, "theta"),
        (dict(theta=np.nan), ValueError, "theta"),
        (dict(psi=np.inf), ValueError, "psi"),
        (dict(z=[np.nan]), ValueError, "z"),
        (dict(z=[np.inf]), ValueError, "z"),
        (dict(z=["a"]), TypeError, "z"),
        (dict(z=[1 + 2j]), TypeError, "z"),
        (dict(levels=0), ValueError, "levels"),
        (dict(levels=2.5), TypeError, "levels"),
        (dict(levels=True), TypeError, "levels"),
        (dict(theta=np.ones(3)), ValueError, "theta"),
        # single numbers take the stride-0 path: the same checks
        (dict(theta=[-1.0]), ValueError, "theta"),
        (dict(theta=np.ones((1, 1))), ValueError, "theta of shape \\(1, 1\\) does not broadcast"),
        (dict(psi=[np.nan]), ValueError, "psi"),
        (dict(psi=np.zeros((1, 1))), ValueError, "psi of shape"),
        (dict(theta=["a"]), TypeError, "theta"),
    ],
)
def test_bad_input_raises(kwargs, error, match):
    args = dict(z=[0.1, 0.2], theta=1.0, levels=4, psi=None)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        qcfs(**args)
    with pytest.raises(error, match=match):
        qcfs_level(**args)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scalar_parameters_give_the_per_neuron_result(dtype):
    """A single-number θ and ψ go to the kernel as stride-0 views (no copies); the
    result is the one for the same values spelled out per neuron, bit for bit."""
    z = np.random.default_rng(0).normal(0.4, 0.6, (5, 3, 4)).astype(dtype)
    for psi in (None, 0.3, [0.3]):
        full_psi = None if psi is None else np.full(z.shape, 0.3)
        for f in (qcfs, qcfs_level):
            expected = f(z, np.full(z.shape, 1.25), 4, full_psi)
            got = f(z, np.float32(1.25), 4, psi)
            assert got.shape == z.shape and got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("theta", [1e-50, [1.0, 1e-50]], ids=["single", "per-neuron"])
def test_a_theta_that_rounds_to_zero_in_float32_is_refused(theta):
    """θ = 1e-50 > 0 in float64 is 0 in float32 z's working dtype: a ValueError naming θ
    and the dtype, not a division by zero."""
    z = np.array([0.1, 0.2], np.float32)
    for f in (qcfs, qcfs_level, lambda z, theta, L: da_qcfs(z, theta, L, 0.0, 0.0)):
        with pytest.raises(ValueError, match="theta.*float32"):
            f(z, theta, 4)


def test_da_qcfs_bad_input():
    with pytest.raises(ValueError, match="psi_da"):
        da_qcfs([0.1], 1.0, 4, np.nan, 0.0)
    with pytest.raises(ValueError, match="phi_da"):
        da_qcfs([0.1, 0.2], 1.0, 4, 0.0, np.zeros(3))
    with pytest.raises(ValueError, match="theta"):
        clip_relu([0.1], -1.0)


def test_da_qcfs_shift_is_the_folded_input_shift():
    """floor(((z + ψ_DA)·L + ψ)/θ) = floor((L·z + ψ')/θ) with ψ' = ψ + L·ψ_DA: on a dyadic
    grid the level of da_qcfs equals the QCFS level with the folded shift, exactly."""
    z = np.arange(-8, 48) / 32
    for psi_da in (0.125, -0.0625, 0.0):
        shift = da_qcfs_shift(1.0, 4, psi_da)
        assert shift == 0.5 + 4 * psi_da
        np.testing.assert_array_equal(da_qcfs(z, 1.0, 4, psi_da, 0.0), qcfs(z, 1.0, 4, psi=shift))
        np.testing.assert_array_equal(da_qcfs(z, 1.0, 4, psi_da, 0.0), qcfs(z + psi_da, 1.0, 4))
    np.testing.assert_array_equal(da_qcfs_shift([1.0, 2.0], 8, [0.0, 0.25], psi=0.0), [0.0, 2.0])
    with pytest.raises(ValueError, match="theta"):
        da_qcfs_shift(0.0, 4, 0.1)
    with pytest.raises(ValueError, match="psi_da"):
        da_qcfs_shift(1.0, 4, np.nan)
    with pytest.raises(TypeError, match="levels"):
        da_qcfs_shift(1.0, 2.5, 0.1)


def test_zero_dimensional_input_keeps_its_shape():
    """A scalar pre-activation gives a scalar-shaped result, as the docstrings promise."""
    for out in (qcfs(0.3, 1.0, 4), qcfs_level(0.3, 1.0, 4), da_qcfs(0.3, 1.0, 4, 0.1, 0.0), clip_relu(0.3, 1.0)):
        assert np.shape(out) == ()
    assert qcfs_level(0.3, 1.0, 4) == 1 and qcfs(np.float32(0.3), 1.0, 4).dtype == np.float32
