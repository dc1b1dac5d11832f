"""Tests for refsnn.neurons.parallel: the three firing methods, both orders, first spike step."""

import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from strategies import dtypes, dyadic_currents

from refsnn import first_spike_step, parallel_neuron
from refsnn.claims import closed_form
from refsnn.neurons.parallel_kernels import BLOCK
from refsnn.neurons.parallel import (
    hadamard_reference,
    first_spike_step_from_total,
    first_spike_step_from_total_reference,
    binary_search_probes,
    closed_form_count,
    total_current,
)

METHODS = ["dense", "hadamard", "binary"]


@given(data=dyadic_currents(T=st.integers(1, 64)), dtype=dtypes)
@example(data=(np.array([[1.0], [0.875], [0.625]]), 1.0), dtype=np.float64)  # Σ + ψ = 3θ: a tie
def test_methods_agree_with_closed_form(data, dtype):
    """hadamard ≡ binary ≡ clip(floor((Σ+ψ)/θ), 0, T), and each train is 0…0 1…1 (the parallel firing rule and the sorting property).

    The property is the claim "closed-form" of :mod:`refsnn.claims` (which ``refsnn verify``
    runs too): on the exact grid it holds at ties, and ``dense``, which sums rounded entries
    such as 1/3, must agree wherever (Σ + ψ)/θ is not an exact integer.
    """
    closed_form((data, dtype), parallel_neuron)


def test_dense_can_miss_an_exact_tie_by_one():
    """Float ties, explicitly: Σ + ψ = 3θ at T = 3 (found by search on the k/8 grid).

    Row 1 of Λ_pc is fl(1/3)·𝟙ᵀ, and Σ fl(1/3)·I_t + ψ/3 rounds just below θ, so the
    dense product misses the first step. The rank-1 form divides once and is exact.
    """
    currents = np.array([[1.0], [0.875], [0.625]])
    assert parallel_neuron(currents, 1.0, method="hadamard")[:, 0].tolist() == [True, True, True]
    assert parallel_neuron(currents, 1.0, method="binary")[:, 0].tolist() == [True, True, True]
    assert parallel_neuron(currents, 1.0, method="dense")[:, 0].tolist() == [False, True, True]


@given(data=dyadic_currents(T=st.integers(1, 128)))
def test_binary_search_comparisons_are_logarithmic(data):
    """Binary search evaluates the firing predicate at most ⌈log2(T+1)⌉ times per neuron."""
    currents, theta = data
    T = currents.shape[0]
    first, comparisons = first_spike_step(currents, theta, return_comparisons=True)
    assert (comparisons <= math.ceil(math.log2(T + 1))).all()
    assert (comparisons >= math.floor(math.log2(T + 1))).all()
    for n in range(currents.shape[1]):
        probes, step = binary_search_probes(currents[:, n].sum(), theta, T)
        assert step == first[n] and len(probes) == comparisons[n]


@given(data=dyadic_currents(), method=st.sampled_from(METHODS))
def test_code_order_is_time_reverse_of_paper_order(data, method):
    """order="code" fires at step x iff count >= x: the paper train reversed (tutorials/00_notation.md, "Spike order")."""
    currents, theta = data
    paper = parallel_neuron(currents, theta, method=method, order="paper")
    code = parallel_neuron(currents, theta, method=method, order="code")
    np.testing.assert_array_equal(code, paper[::-1])
    np.testing.assert_array_equal(code.sum(axis=0), paper.sum(axis=0))
    T = currents.shape[0]
    np.testing.assert_array_equal(code, np.arange(1, T + 1)[:, None] <= code.sum(axis=0))


def test_probes_of_one_neuron():
    """T = 8, count 5 → t_fir = 4, found by probing steps 5, 3, 4."""
    probes, step = binary_search_probes(5.0, 1.0, 8)
    assert probes == [(5, True), (3, False), (4, True)] and step == 4
    assert binary_search_probes(-1.0, 1.0, 8)[1] == 9  # silent


def test_shapes_dtype_and_channelwise_parameters():
    currents = np.full((4, 2, 3, 2, 2), 0.5, dtype=np.float32)
    theta = np.array([1.0, 2.0, 4.0]).reshape(3, 1, 1)
    for method in METHODS:
        spikes = parallel_neuron(currents, theta, method=method)
        assert spikes.shape == currents.shape and spikes.dtype == bool
        np.testing.assert_array_equal(spikes.sum(axis=0)[1, :, 1, 1], [2, 1, 1])
    assert first_spike_step(currents, theta).shape == (2, 3, 2, 2)
    assert parallel_neuron(np.ones(3), 1.0).shape == (3,)
    # ψ per neuron: ψ = 0 truncates instead of rounding half up.
    np.testing.assert_array_equal(parallel_neuron(np.full((4, 2), 0.25), 1.0, psi=[0.0, 0.5]).sum(0), [1, 1])
    np.testing.assert_array_equal(parallel_neuron(np.full((4, 2), 0.2), 1.0, psi=[0.0, 0.5]).sum(0), [0, 1])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(method="fast"), ValueError, "method"),
        (dict(order="reversed"), ValueError, "order"),
        (dict(theta=0.0), ValueError, "theta"),
        (dict(theta=-2.0), ValueError, "theta"),
        (dict(psi=np.nan), ValueError, "psi"),
        (dict(currents=np.zeros((0, 3))), ValueError, "T >= 1"),
        (dict(currents=np.float64(1.0)), ValueError, "time axis"),
        (dict(currents=[[np.inf]]), ValueError, "currents"),
        (dict(currents=np.array([["a"]])), TypeError, "currents"),
        (dict(theta=np.ones(4)), ValueError, "theta"),
    ],
)
def test_bad_input_raises(kwargs, error, match):
    args = dict(currents=np.zeros((3, 2)), theta=1.0)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        parallel_neuron(**args)
    if not {"method", "order"} & set(kwargs):
        with pytest.raises(error, match=match):
            first_spike_step(**args)


@given(data=dyadic_currents(T=st.integers(1, 64)))
def test_first_spike_step_from_total_matches(data):
    """Binary search on pre-summed currents gives the same first spike step as on the
    (T, ...) currents, with the same comparisons, without reading the T steps."""
    currents, theta = data
    T = currents.shape[0]
    first, comparisons = first_spike_step(currents, theta, return_comparisons=True)
    total = total_current(currents)
    first_t, comparisons_t = first_spike_step_from_total(total, theta, T, return_comparisons=True)
    np.testing.assert_array_equal(first_t, first)
    np.testing.assert_array_equal(comparisons_t, comparisons)
    with pytest.raises(ValueError, match="T"):
        first_spike_step_from_total(total, theta, 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_first_spike_step_from_total_needs_no_memory_per_time_step(dtype):
    """At T = 2^40 a few neurons search with at most ⌈log2(T + 1)⌉ = 41 comparisons
    each, in memory that does not grow with T; the steps equal the twin's (one array
    of neurons per probe) and, in float64, where every step count is exact,
    T + 1 − min(⌊(Σ + ψ)/θ⌋, T)."""
    import tracemalloc

    T = 2 ** 40
    total = np.array([0.0, 1000.0, 2.0 ** 39, 3.0 * 2 ** 40], dtype)
    tracemalloc.start()
    try:
        first, comparisons = first_spike_step_from_total(total, 1.0, T, return_comparisons=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 ** 20
    if dtype == np.float64:
        np.testing.assert_array_equal(first, [T + 1, T + 1 - 1000, T + 1 - 2 ** 39, 1])
    assert comparisons.max() <= 41
    twin = first_spike_step_from_total_reference(total, 1.0, T, return_comparisons=True)
    np.testing.assert_array_equal(first, twin[0])
    np.testing.assert_array_equal(comparisons, twin[1])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_current_in_a_late_block_still_raises(bad):
    """Finiteness is checked from the kernels' final state, not by a separate pass, so a
    bad value far from the first block must still be found."""
    currents = np.zeros((5, BLOCK + 3), dtype=np.float32)
    currents[3, -1] = bad
    for method in METHODS:
        with pytest.raises(ValueError, match="currents"):
            parallel_neuron(currents, 1.0, method=method)
    with pytest.raises(ValueError, match="currents"):
        first_spike_step(currents, 1.0)


def test_finite_overflow_is_not_reported_as_non_finite_input():
    """Σ of finite float32 currents can overflow to inf; that is arithmetic, not bad input."""
    assert parallel_neuron(np.full((4, 3), 3e38, dtype=np.float32), 1.0).all()


def test_argument_order_is_the_same_everywhere():
    """(currents | total, theta, T, psi): every function of the module takes its
    arguments in this order (the count and the probes of a tie at T = 4, ψ = 0)."""
    assert closed_form_count(2.0, 1.0, 4, 0.0) == 2
    assert binary_search_probes(2.0, 1.0, 4, 0.0)[1] == 3
    assert first_spike_step_from_total(2.0, 1.0, 4, 0.0) == 3


# --------------------------------------------------------------------------- out=


@pytest.mark.parametrize("order", ["paper", "code"])
@pytest.mark.parametrize("method", ["hadamard", "dense", "binary"])
def test_out_receives_the_spikes_and_is_returned(method, order):
    """out= (NumPy's convention) gets the spikes of every method and order bit for bit,
    over more than one kernel block, and is the array returned."""
    N = BLOCK + 5 if method != "dense" else 37
    currents = np.random.default_rng(1).normal(0.3, 0.7, (6, N)).astype(np.float32)
    out = np.ones(currents.shape, dtype=bool)  # every entry must be written
    got = parallel_neuron(currents, 0.75, method=method, order=order, out=out)
    assert got is out
    np.testing.assert_array_equal(out, parallel_neuron(currents, 0.75, method=method, order=order))


@pytest.mark.parametrize("offset", [0, 1, 31])
@pytest.mark.parametrize("method", ["hadamard", "binary"])
def test_spike_rows_are_streamed_whatever_their_alignment(method, offset):
    """The kernels write spike rows with 32-byte streaming stores where a row is 32-byte
    aligned and ordinary stores elsewhere: an ``out`` that starts ``offset`` bytes into a
    buffer, with rows of N = BLOCK + 37 bytes (so each row starts at another alignment)
    and a last row shorter than 32 bytes past its aligned part, gets every spike of the
    twin, no byte before or after it is touched."""
    T, N = 5, BLOCK + 37
    currents = np.random.default_rng(offset).normal(0.3, 0.7, (T, N)).astype(np.float32)
    buffer = np.ones(T * N + 64, dtype=bool)
    out = buffer[offset:offset + T * N].reshape(T, N)
    parallel_neuron(currents, 0.75, method=method, out=out)
    np.testing.assert_array_equal(out, hadamard_reference(currents, 0.75))
    assert buffer[:offset].all() and buffer[offset + T * N:].all()
    small = np.ones(T * 3 + offset, dtype=bool)[offset:].reshape(T, 3)  # rows shorter than one store
    np.testing.assert_array_equal(parallel_neuron(currents[:, :3], 0.75, method=method, out=small),
                                  hadamard_reference(currents[:, :3], 0.75))


def test_bad_out_raises():
    currents = np.zeros((3, 2, 2), dtype=np.float32)
    with pytest.raises(TypeError, match="out must have dtype bool"):
        parallel_neuron(currents, 1.0, out=np.zeros((3, 2, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"out must have shape \(3, 2, 2\)"):
        parallel_neuron(currents, 1.0, out=np.zeros((3, 4), dtype=bool))
    with pytest.raises(ValueError, match="out must not share memory"):
        parallel_neuron(currents, 1.0, out=currents.reshape(-1).view(np.bool_)[:12].reshape(3, 2, 2))
    with pytest.raises(ValueError, match="out must be C-contiguous"):
        parallel_neuron(currents, 1.0, out=np.zeros((3, 2, 4), dtype=bool)[..., ::2])


@pytest.mark.parametrize("T", [255, 256, 300])
@pytest.mark.parametrize("order", ["paper", "code"])
def test_hadamard_kernel_on_both_sides_of_its_byte_counts(T, order):
    """The hadamard kernel compares the counts as bytes for T < 256 and as floats above:
    both paths equal the twin, with a per-neuron θ and a single-number one."""
    rng = np.random.default_rng(T)
    currents = rng.normal(0.5, 1.0, (T, BLOCK + 3)).astype(np.float32)
    for theta in (0.75, rng.uniform(0.5, 1.0, BLOCK + 3)):
        np.testing.assert_array_equal(parallel_neuron(currents, theta, order=order),
                                      hadamard_reference(currents, theta, order=order))


@pytest.mark.parametrize("per_neuron", ["theta", "psi"])
def test_hadamard_with_one_parameter_per_neuron_and_one_single_number(per_neuron):
    """θ per neuron with a single-number ψ, or the other way round, over more than two
    kernel blocks: the single number is spread to every neuron, and the spikes equal the
    twin's (read as blocks of copies, the per-neuron values would repeat block 0's)."""
    rng = np.random.default_rng(4)
    N = 2 * BLOCK + 5
    currents = rng.normal(0.5, 1.0, (8, N)).astype(np.float32)
    params = {"theta": 0.75, "psi": 0.25}
    params[per_neuron] = rng.uniform(0.1, 1.0, N)
    np.testing.assert_array_equal(parallel_neuron(currents, params["theta"], psi=params["psi"]),
                                  hadamard_reference(currents, params["theta"], psi=params["psi"]))

