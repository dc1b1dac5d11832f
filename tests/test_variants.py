"""Where the sorting property and losslessness break (tutorials/00_notation.md, "Where the theorems break").

Each break is found by Hypothesis (``find`` with a derandomized search, which shrinks to
a minimal case) and a concrete example of it is asserted as well.
"""

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import dyadic_currents, exact_level

from refsnn import parallel_neuron, posterior_conversion_matrix
from refsnn.neurons.variants import leaky_parallel_neuron, leaky_posterior_matrix, no_reset_neuron

SEARCH = settings(derandomize=True, max_examples=5000, database=None)
quarters = hnp.arrays(np.int64, st.integers(1, 8), elements=st.integers(-8, 8))


def is_sorted(spikes):
    return bool((np.diff(spikes.astype(int), axis=0) >= 0).all())


# --------------------------------------------------------------------------- no reset


@given(T=st.integers(1, 32), k=st.integers(0, 64), theta=st.sampled_from([0.5, 1.0, 2.0]))
def test_no_reset_count_is_biased_upwards(T, k, theta):
    """Fang et al.'s PSN without reset (Λ = L_T), started at the QCFS shift v0 = θ/2:
    for constant non-negative input it never fires fewer spikes than the QCFS level,
    because nothing is subtracted once the running sum has crossed θ."""
    z = k * theta / 32
    count = no_reset_neuron(np.full((T, 1), z), theta, v0=theta / 2).sum()
    assert count >= exact_level(z, theta, T, theta / 2)


def test_no_reset_count_differs_from_qcfs():
    """The no-reset count differs from the QCFS level for constant input: Hypothesis
    finds a case, and a concrete one is asserted too."""
    def biased(args):
        T, k = args
        z = k / 8
        return no_reset_neuron(np.full((T, 1), z), 1.0, v0=0.5).sum() != exact_level(z, 1.0, T, 0.5)

    T, k = find(st.tuples(st.integers(1, 16), st.integers(0, 16)), biased, settings=SEARCH)
    z = k / 8
    assert no_reset_neuron(np.full((T, 1), z), 1.0, v0=0.5).sum() > exact_level(z, 1.0, T, 0.5)
    # Concrete: z = θ/2, T = 4. QCFS level floor(4·0.5 + 0.5) = 2, but the running sum
    # 0.5 + x/2 >= 1 from x = 1 on, so all 4 steps fire; the parallel neuron fires 2.
    currents = np.full((4, 1), 0.5)
    assert no_reset_neuron(currents, 1.0, v0=0.5).sum() == 4
    assert parallel_neuron(currents, 1.0).sum() == 2


def test_no_reset_is_not_sorted_with_negative_currents():
    """With negative currents the running sum falls again, so the train is not sorted.
    Hypothesis's minimal case on the θ/4 grid is I = [0.75, 0.25, −0.25]: 0 1 0."""
    k = find(quarters, lambda k: not is_sorted(no_reset_neuron(k[:, None] * 0.25, 1.0)), settings=SEARCH)
    assert not is_sorted(no_reset_neuron(k[:, None] * 0.25, 1.0))
    spikes = no_reset_neuron(np.array([[0.75], [0.25], [-0.25]]), 1.0)[:, 0]
    assert spikes.tolist() == [False, True, False]
    assert is_sorted(parallel_neuron(np.array([[0.75], [0.25], [-0.25]]), 1.0))


# --------------------------------------------------------------------------- leaky


@given(data=dyadic_currents())
def test_leak_one_is_the_paper_neuron(data):
    """λ = 1 recovers the paper's Λ_post and the same spikes (off exact float ties,
    which the matrix product may round either way)."""
    currents, theta = data
    T = currents.shape[0]
    np.testing.assert_array_equal(leaky_posterior_matrix(T, 1.0), posterior_conversion_matrix(T))
    total = currents.sum(axis=0) + theta / 2
    off_tie = total / theta != np.floor(total / theta)
    leaky = leaky_parallel_neuron(currents, theta, 1.0)
    np.testing.assert_array_equal(leaky[:, off_tie], parallel_neuron(currents, theta)[:, off_tie])


def _leaky_potentials(currents, theta, leak):
    """H = Λ^λ_post·Λ_pre·I + b, the potentials that the leaky neuron compares with θ."""
    T = currents.shape[0]
    psi = theta / 2
    Lam = leaky_posterior_matrix(T, leak) @ np.full((T, T), 1.0 / T)
    return Lam @ currents + psi / (T - np.arange(T))[:, None]


def test_leaky_neuron_breaks_sorting_even_for_constant_input():
    """A leaky Λ^λ_post (λ < 1) breaks the sorting property, so binary search is invalid.

    The search keeps only cases whose potentials stay clear of θ (no float ties).
    Hypothesis's minimal case: λ = 1/2, T = 7, constant input I_t = θ. Then
    H_x = (g_x/x)·Σ/(T − x + 1) + ψ/(T − x + 1) with g_x = 2 − 2^{1−x} reads
    1.071, 0.958, 0.917, 0.945, 1.071, 1.398, 2.484: step 1 fires, steps 2-4 do not.
    """
    def robustly_unsorted(args):
        k, leak = args
        currents = k[:, None] * 0.25
        if np.abs(_leaky_potentials(currents, 1.0, leak) - 1.0).min() < 1e-6:
            return False
        return not is_sorted(leaky_parallel_neuron(currents, 1.0, leak))

    strategy = st.tuples(hnp.arrays(np.int64, st.integers(1, 8), elements=st.integers(0, 8)),
                         st.sampled_from([0.5, 0.75, 0.875]))
    k, leak = find(strategy, robustly_unsorted, settings=SEARCH)
    assert not is_sorted(leaky_parallel_neuron(k[:, None] * 0.25, 1.0, leak))
    currents = np.ones((7, 1))
    np.testing.assert_allclose(
        _leaky_potentials(currents, 1.0, 0.5)[:, 0],
        [15 / 14, 23 / 24, 11 / 12, 121 / 128, 257 / 240, 179 / 128, 159 / 64],
    )
    spikes = leaky_parallel_neuron(currents, 1.0, 0.5)[:, 0]
    assert spikes.tolist() == [True, False, False, False, True, True, True]


def test_leaky_matrix_values():
    """(L^λ_T)_{x,t} = λ^{x−t} below the diagonal, scaled by c_x."""
    M = leaky_posterior_matrix(3, 0.5)
    c = np.array([1.0, 3 / 4, 1.0])  # c_x = T/(x(T−x+1)) for T = 3
    expected = c[:, None] * np.array([[1, 0, 0], [0.5, 1, 0], [0.25, 0.5, 1]])
    np.testing.assert_allclose(M, expected)


@pytest.mark.parametrize("leak", [0.0, -0.5, 1.5, np.nan])
def test_bad_leak_raises(leak):
    with pytest.raises(ValueError, match="leak"):
        leaky_posterior_matrix(4, leak)
