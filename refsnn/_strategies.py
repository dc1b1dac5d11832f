"""Hypothesis strategies that keep floating-point arithmetic exact, and exact oracles.

Currents live on a dyadic grid k·θ·2⁻ᵐ with small integers k and power-of-two θ, so sums,
products by small integers and divisions by θ are exact in float64 and float32, and
exact ties (a value before the floor that is an integer) occur often.

Used by :mod:`refsnn.claims` (``refsnn verify``) and by the tests (``tests/strategies.py``
re-exports them). This module imports Hypothesis, so ``import refsnn`` does not import it.
"""

from fractions import Fraction

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "GRID",
    "thresholds",
    "steps",
    "neurons",
    "dtypes",
    "dyadic_currents",
    "dyadic_currents_with_mean",
    "exact_level",
    "exact_count",
]

GRID = 2.0 ** -3  # currents are multiples of θ/8
thresholds = st.sampled_from([0.25, 0.5, 1.0, 2.0, 8.0])
steps = st.integers(1, 16)
neurons = st.integers(1, 6)
dtypes = st.sampled_from([np.float64, np.float32])


@st.composite
def dyadic_currents(draw, T=steps, low=-12, high=24):
    """(currents, θ): currents of shape (T, n) on the grid k·θ/8, k in [low, high]."""
    T = draw(T) if isinstance(T, st.SearchStrategy) else T
    n = draw(neurons)
    theta = draw(thresholds)
    k = draw(hnp.arrays(np.int64, (T, n), elements=st.integers(low, high)))
    return k * (GRID * theta), theta


@st.composite
def dyadic_currents_with_mean(draw, T=steps):
    """(currents, θ) whose time mean is exactly representable: Σ_t I_t = T·m exactly.

    The first T − 1 steps are free grid values and the last step is T·m minus their sum,
    so ``currents.mean(axis=0)`` is exactly m even when T is not a power of two.
    """
    T = draw(T) if isinstance(T, st.SearchStrategy) else T
    n = draw(neurons)
    theta = draw(thresholds)
    free = draw(hnp.arrays(np.int64, (T - 1, n), elements=st.integers(-12, 24)))
    mean = draw(hnp.arrays(np.int64, (n,), elements=st.integers(-4, 2 * 8 * T)))  # k/8 units
    last = T * mean - free.sum(axis=0)
    k = np.vstack([free, last[None, :]])
    return k * (GRID * theta), theta


def exact_level(value, theta, levels, psi):
    """clip(floor((L·value + ψ)/θ), 0, L) in exact rational arithmetic, elementwise."""
    value, theta, psi = np.broadcast_arrays(np.asarray(value, float), theta, psi)
    out = np.empty(value.shape, dtype=np.int64)
    for idx in np.ndindex(value.shape):
        u = (levels * Fraction(float(value[idx])) + Fraction(float(psi[idx]))) / Fraction(float(theta[idx]))
        out[idx] = min(max(u.numerator // u.denominator, 0), levels)
    return out


def exact_count(currents, theta, psi):
    """clip(floor((Σ_t I_t + ψ)/θ), 0, T) in exact rational arithmetic, per neuron."""
    currents = np.asarray(currents, float)
    T = currents.shape[0]
    total = np.empty(currents.shape[1:], dtype=object)
    for idx in np.ndindex(total.shape):
        total[idx] = sum(Fraction(float(currents[(t,) + idx])) for t in range(T))
    out = np.empty(total.shape, dtype=np.int64)
    theta, psi = np.broadcast_arrays(np.asarray(theta, float), np.asarray(psi, float))
    theta = np.broadcast_to(theta, total.shape)
    psi = np.broadcast_to(psi, total.shape)
    for idx in np.ndindex(total.shape):
        u = (total[idx] + Fraction(float(psi[idx]))) / Fraction(float(theta[idx]))
        out[idx] = min(max(u.numerator // u.denominator, 0), T)
    return out
