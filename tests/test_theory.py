"""Theorem 4.1, case T ≠ T̃: lossless in expectation at ψ = θ/2, exactly (refsnn.neurons.theory)."""

from fractions import Fraction

import numpy as np
import pytest

from refsnn import expected_conversion_error, expected_qcfs, qcfs


def test_expected_error_is_zero_for_every_T_and_T_tilde():
    """For z ~ U[0, θ] and ψ = θ/2: E[Q_T(z) − Q_T̃(z)] = 0 for all T, T̃ in 1..64,
    computed exactly by integrating the piecewise-constant functions with fractions."""
    for T in range(1, 65):
        for T_tilde in range(1, 65):
            assert expected_conversion_error(T, T_tilde) == 0


def test_expected_error_is_not_zero_for_other_shifts():
    """The claim needs ψ = θ/2: with ψ = 0 (floor) or ψ = θ/4 the error is not zero,
    e.g. E[Q_4 − Q_8]/θ = 3/8 − 7/16 = −1/16 at ψ = 0."""
    assert expected_conversion_error(4, 8, shift=0) == Fraction(-1, 16)
    for shift in [Fraction(0), Fraction(1, 4), Fraction(3, 4)]:
        errors = {expected_conversion_error(T, 8, shift) for T in range(1, 17) if T != 8}
        assert errors != {0}


def test_expected_qcfs_matches_a_fine_riemann_sum():
    """An independent check of the integration: the midpoint rule on a fine grid."""
    z = (np.arange(2 ** 16) + 0.5) / 2 ** 16
    for T in [1, 3, 4, 7]:
        for shift in [0.0, 0.25, 0.5]:
            mean = qcfs(z, 1.0, T, psi=shift).mean()
            assert abs(mean - float(expected_qcfs(T, shift))) < 1e-4


def test_known_values():
    assert expected_qcfs(1, 0) == 0
    assert expected_qcfs(4, 0) == Fraction(3, 8)  # (T − 1)/(2T)
    assert expected_qcfs(4) == Fraction(1, 2)


def test_bad_input():
    with pytest.raises(ValueError, match="levels"):
        expected_qcfs(0)
    with pytest.raises(TypeError, match="shift"):
        expected_qcfs(4, shift="half")


def test_closed_form_of_the_expectation():
    """E[Q_L]/θ = 1/2 + (s − 1/2)/L for every shift s in [0, 1] (the module docstring's
    closed form), which makes s = 1/2 the one shift that is right for every L."""
    for L in range(1, 33):
        for s in (Fraction(0), Fraction(1, 8), Fraction(1, 2), Fraction(5, 7), Fraction(1)):
            assert expected_qcfs(L, s) == Fraction(1, 2) + (s - Fraction(1, 2)) / L
