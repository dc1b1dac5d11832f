"""Exact expected QCFS output, for Theorem 4.1's case T ≠ T̃ (lossless in expectation).

If z is uniform on [0, θ], write u = z/θ ~ U[0, 1] and s = ψ/θ. Then

.. math::

    \\frac{1}{\\theta}\\,\\mathbb{E}[Q_T(z)] = \\frac{1}{T}\\int_0^1
        \\operatorname{clip}(\\lfloor T u + s \\rfloor, 0, T)\\,du .

The integrand is a step function: floor(Tu + s) = k on [(k − s)/T, (k + 1 − s)/T). So the
integral is a finite sum of k times interval lengths, computed here exactly with
``fractions.Fraction``. For 0 <= s <= 1 the sum has a closed form: level 0 covers a length
(1 − s)/T, levels 1..T−1 a length 1/T each, and level T a length s/T, so

.. math::

    \\frac{1}{\\theta}\\,\\mathbb{E}[Q_T(z)] = \\frac{1}{T}\\left(\\frac{T-1}{2} + s\\right)
        = \\frac{1}{2} + \\frac{s - 1/2}{T}.

With s = 1/2 every T gives 1/2, so E[Q_T(z) − Q_T̃(z)] = 0 for every T and T̃ (Theorem
4.1, lossless in expectation). With any other shift the expectation depends on T and the
conversion error is not zero on average: s = 1/2 is the only shift that makes it vanish
for all T ≠ T̃. That z is uniform is the assumption under which refsnn states the
theorem (``tutorials/00_notation.md``, "Theorem 4.1").
"""

import functools
import math
from fractions import Fraction

from .._checks import as_int

__all__ = ["expected_qcfs", "expected_conversion_error"]


def _as_fraction(name, value):
    try:
        return Fraction(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a rational number (int, float or Fraction), got {value!r}") from None


def expected_qcfs(levels, shift=Fraction(1, 2)):
    """E[Q_L(z)]/θ for z uniform on [0, θ], exactly.

    Parameters
    ----------
    levels : int
        L >= 1.
    shift : Fraction, int or float
        s = ψ/θ, the shift in units of θ (1/2 for QCFS).

    Returns
    -------
    fractions.Fraction
        The expected activation divided by θ.

    Examples
    --------
    >>> expected_qcfs(4)
    Fraction(1, 2)
    >>> expected_qcfs(4, shift=0)
    Fraction(3, 8)
    """
    return _expected_qcfs(as_int("levels", levels), _as_fraction("shift", shift))


@functools.lru_cache(maxsize=4096)
def _expected_qcfs(L, s):
    """The integral for a checked L and a Fraction s (cached: the tests ask for 64 levels often)."""
    integral = Fraction(0)
    # floor(L·u + s) = k for u in [(k - s)/L, (k + 1 - s)/L), intersected with [0, 1].
    for k in range(math.floor(s), math.floor(L + s) + 1):
        lo = max(Fraction(k) - s, Fraction(0)) / L
        hi = min(Fraction(k + 1) - s, Fraction(L)) / L
        if hi > lo:
            integral += min(max(k, 0), L) * (hi - lo)
    return integral / L


def expected_conversion_error(T, T_tilde, shift=Fraction(1, 2)):
    """E[Q_T(z) − Q_T̃(z)]/θ for z uniform on [0, θ], exactly (Theorem 4.1, T ≠ T̃).

    Parameters
    ----------
    T, T_tilde : int
        The SNN's time steps and the ANN's trained level, both >= 1.
    shift : Fraction, int or float
        s = ψ/θ; the theorem needs s = 1/2.

    Returns
    -------
    fractions.Fraction
    """
    return expected_qcfs(T, shift) - expected_qcfs(T_tilde, shift)
