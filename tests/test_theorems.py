"""The paper's neuron-level claims, one test per claim (Hao et al. 2025: Theorem 4.1, the sorting property).

Exact claims run on dyadic grids with power-of-two θ (see ``strategies.py``), so that
floating point computes them exactly. Float ties are tested on their own at the end.
"""

from fractions import Fraction

import numpy as np
from hypothesis import example, find, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import dyadic_currents, dyadic_currents_with_mean

from refsnn import if_neuron, parallel_neuron, qcfs, qcfs_level

METHODS = ["dense", "hadamard", "binary"]


@given(data=dyadic_currents_with_mean(T=st.integers(1, 64)), method=st.sampled_from(["hadamard", "binary"]))
@example(data=(np.array([[0.0], [0.0], [0.0], [2.0]]), 1.0), method="hadamard")
@example(data=(np.full((4, 1), 0.375), 1.0), method="hadamard")  # T·Ī + ψ = 2θ: a tie
@example(data=(np.full((4, 1), 0.375), 1.0), method="binary")
def test_theorem_4_1_lossless_at_T_equal_T_tilde(data, method):
    """Theorem 4.1, case T = T̃: for ANY currents, the parallel neuron's rate equals QCFS.

    (θ/T)·count = Q_T(mean current; θ, θ/2) exactly, because
    count = clip(floor((Σ + ψ)/θ), 0, T) = clip(floor((T·Ī + ψ)/θ), 0, T).
    The currents are built so that their mean is exact (Σ = T·Ī in floats).
    """
    currents, theta = data
    T = currents.shape[0]
    mean = currents.mean(axis=0)
    count = parallel_neuron(currents, theta, method=method).sum(axis=0)
    np.testing.assert_array_equal(count, qcfs_level(mean, theta, T))
    np.testing.assert_array_equal((theta / T) * count, qcfs(mean, theta, T))


@given(data=dyadic_currents(T=st.integers(1, 64)))
def test_sorting_property_on_exact_grid(data):
    """Sorting property (§3.5): in paper order every train is non-decreasing in time,
    for all three methods. Once a step fires, every later step fires."""
    currents, theta = data
    for method in METHODS:
        spikes = parallel_neuron(currents, theta, method=method).astype(int)
        assert (np.diff(spikes, axis=0) >= 0).all(), method


@given(
    currents=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=40),
                        elements=st.floats(-1e3, 1e3)),
    theta=st.floats(1e-3, 1e3),
)
def test_sorting_property_holds_in_floating_point(currents, theta):
    """With H_x = (Σ + ψ)/(T − x + 1) computed by division, the predicate is monotone
    for arbitrary floats (correctly rounded division is monotone in the divisor)."""
    for method in ["hadamard", "binary"]:
        spikes = parallel_neuron(currents, theta, method=method).astype(int)
        assert (np.diff(spikes, axis=0) >= 0).all()


def _uneven_example():
    """Let Hypothesis find uneven currents (T <= 8, θ = 1, grid 1/4) where IF ≠ QCFS."""

    def if_misses_level(k):
        currents = k[:, None] * 0.25
        level = qcfs_level(currents.mean(axis=0), 1.0, len(k))[0]
        return if_neuron(currents, 1.0).sum() != level

    strategy = hnp.arrays(np.int64, st.integers(1, 8), elements=st.integers(-8, 8))
    k = find(strategy, if_misses_level, settings=settings(derandomize=True, max_examples=2000, database=None))
    return k[:, None] * 0.25


def test_unevenness_error_if_differs_parallel_does_not():
    """IF vs QCFS on uneven input: the IF count can miss the QCFS level of the mean
    (the unevenness error); the parallel neuron's count never does (Theorem 4.1).

    Hypothesis shrinks to a minimal case; we also assert a concrete one found by it:
    I = [0, 0, 0, 2], θ = 1: mean 1/2, QCFS level 2, IF count 1, parallel count 2.
    """
    found = _uneven_example()
    T = found.shape[0]
    level = qcfs_level(found.mean(axis=0), 1.0, T)
    assert if_neuron(found, 1.0).sum(axis=0) != level
    np.testing.assert_array_equal(parallel_neuron(found, 1.0).sum(axis=0), level)

    concrete = np.array([[0.0], [0.0], [0.0], [2.0]])
    assert qcfs_level(concrete.mean(axis=0), 1.0, 4)[0] == 2
    assert if_neuron(concrete, 1.0).sum() == 1
    assert parallel_neuron(concrete, 1.0).sum() == 2


@given(
    currents=hnp.arrays(np.float64, st.tuples(st.integers(1, 32), st.integers(1, 8)),
                        elements=st.floats(-4, 4)),
    theta=st.floats(0.05, 2),
)
def test_arbitrary_floats_differ_from_qcfs_only_near_ties(currents, theta):
    """Float ties, documented: with arbitrary floats, the count and the QCFS level of
    ``currents.mean(0)`` may differ by at most 1, and only where (T·Ī + ψ)/θ is within a
    few ulps of an integer (Σ and T·mean round differently; tutorials/00_notation.md, "Float ties")."""
    T = currents.shape[0]
    mean = currents.mean(axis=0)
    count = parallel_neuron(currents, theta).sum(axis=0)
    level = qcfs_level(mean, theta, T)
    diff = count - level
    assert (np.abs(diff) <= 1).all()
    u = (T * mean + theta / 2) / theta
    ulps = np.spacing(np.abs(currents).sum(axis=0) + theta) / theta * (T + 4)
    near_tie = np.abs(u - np.round(u)) <= ulps
    assert (near_tie | (diff == 0)).all()


def test_float_tie_where_the_sum_is_inexact():
    """A concrete float tie, found by random search over one-decimal currents (T = 5).

    In exact decimals Σ = 0.5 + 1.7 + 1.9 − 0.6 + 0 = 3.5, so (Σ + θ/2)/θ = 4: a tie, count 4.
    In float64 Σ = 3.4999999999999996, so the parallel neuron counts 3, while
    5·mean rounds to 3.5 and QCFS of the mean gives 4. The theorem is exact; the
    floats are off by one spike exactly at the tie.
    """
    currents = np.array([[0.5], [1.7], [1.9], [-0.6], [0.0]])
    assert currents.sum() < 3.5
    assert parallel_neuron(currents, 1.0).sum() == 3
    assert qcfs_level(currents.mean(axis=0), 1.0, 5)[0] == 4
    exact = sum(Fraction(d) for d in ["0.5", "1.7", "1.9", "-0.6", "0"]) + Fraction(1, 2)
    assert exact == 4
