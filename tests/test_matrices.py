"""Tests for refsnn.neurons.matrices: Λ_pre, Λ_post, Λ_pc and b, the paper's conversion matrices."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refsnn import (
    parallel_conversion_matrix,
    posterior_conversion_matrix,
    prior_control_matrix,
    step_offsets,
)
from refsnn.neurons.matrices import posterior_row_factors

Ts = st.integers(1, 64)


@given(T=Ts)
def test_product_is_the_parallel_conversion_matrix(T):
    """Λ_post·Λ_pre = Λ_pc, whose row x is 𝟙ᵀ/(T − x + 1); Λ_pc has rank 1."""
    product = posterior_conversion_matrix(T) @ prior_control_matrix(T)
    np.testing.assert_allclose(product, parallel_conversion_matrix(T), rtol=1e-12)
    assert np.linalg.matrix_rank(parallel_conversion_matrix(T)) == 1


@given(T=Ts)
def test_row_factors_exact(T):
    """c_x = T/(x(T − x + 1)), checked against exact fractions."""
    c = posterior_row_factors(T)
    for x in range(1, T + 1):
        assert c[x - 1] == float(Fraction(T, x * (T - x + 1)))


def test_values_for_T_4():
    """Spelled out for T = 4, as in ``refsnn tour`` and tutorial 2."""
    np.testing.assert_array_equal(prior_control_matrix(4), np.full((4, 4), 0.25))
    c = np.array([1, 2 / 3, 2 / 3, 1])
    np.testing.assert_allclose(posterior_conversion_matrix(4), c[:, None] * np.tril(np.ones((4, 4))))
    np.testing.assert_allclose(parallel_conversion_matrix(4)[:, 0], [1 / 4, 1 / 3, 1 / 2, 1])
    np.testing.assert_allclose(step_offsets(4, 0.5), [1 / 8, 1 / 6, 1 / 4, 1 / 2])


@given(T=Ts, psi=st.sampled_from([0.0, 0.5, 1.0, 3.0]))
def test_offsets_are_the_image_of_psi(T, psi):
    """b = Λ_pc·(ψ/T)𝟙: the QCFS shift ψ spread evenly over the T steps and passed
    through row x, which gives b_x = ψ/(T − x + 1)."""
    b = step_offsets(T, psi)
    np.testing.assert_allclose(b, parallel_conversion_matrix(T) @ np.full(T, psi / T), rtol=1e-12)
    np.testing.assert_allclose(b, psi / (T - np.arange(T)), rtol=1e-15)
    assert b.shape == (T,)


def test_offsets_broadcast_over_neurons():
    b = step_offsets(3, np.array([0.5, 1.0]))
    assert b.shape == (3, 2)
    np.testing.assert_allclose(b[:, 1], [1 / 3, 1 / 2, 1])
    assert step_offsets(3, np.float32(0.5)).dtype == np.float32


@pytest.mark.parametrize("func", [prior_control_matrix, posterior_conversion_matrix, parallel_conversion_matrix])
@pytest.mark.parametrize("T, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError), ("4", TypeError)])
def test_bad_T_raises(func, T, error):
    with pytest.raises(error, match="T"):
        func(T)


def test_bad_offsets_raise():
    with pytest.raises(ValueError, match="T"):
        step_offsets(0, 0.5)
    with pytest.raises(ValueError, match="psi"):
        step_offsets(4, np.nan)
