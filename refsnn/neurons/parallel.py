"""The parallel conversion neuron: dense, rank-1 (Hadamard) and binary-search firing.

The paper's parallel conversion neuron. With Σ = Σ_t I_t the total input current, the membrane potential of step x is

.. math::

    H_x = (\\Lambda_{pc} I)_x + b_x = \\frac{\\Sigma + \\psi}{T - x + 1},
    \\qquad s_x = H(H_x - \\theta), \\qquad x = 1, \\dots, T,

so step x fires iff the count floor((Σ + ψ)/θ) is at least T − x + 1. The count is

.. math::

    N = \\operatorname{clip}\\left(\\left\\lfloor \\frac{\\Sigma + \\psi}{\\theta} \\right\\rfloor, 0, T\\right),

which is the QCFS level of the mean current (Theorem 4.1, case T = T̃), and the spikes
fill the last N steps ("paper" order, back-loaded: the sorting property).

Three ways to compute the same spikes:

``"dense"``
    The explicit matrix product Λ_pc·I + b, O(T²) per neuron.
``"hadamard"``
    Λ_pc = u·𝟙ᵀ has rank 1, so sum once and scale: H_x = (Σ + ψ)/(T − x + 1), O(T).
    The scaling is a division, so an exact tie H_x = θ stays exact in floating point.
    The twin divides for every x; the kernel uses that the predicate is monotone in x,
    finds the count with three divisions per neuron and writes the train by comparing
    each step with the count, with the same result bit for bit (``_firing_count``).
``"binary"``
    The firing predicate is monotone in x, so binary search finds the first spike step
    in at most ⌈log2(T + 1)⌉ comparisons (the paper's binary search for the first
    spike step).

``order="code"`` reproduces the authors' released code, where step x fires iff the
count is >= x: the spikes fill the *first* N steps (see ``tutorials/00_notation.md``, "Spike order"). It is computed as the
exact time-reverse of the paper order, so counts are identical. (The code's own float
formula, (T/x)·mean + ψ/x >= θ, can differ from this at ties: ``tutorials/00_notation.md``,
"Float ties".)

Each method has a NumPy twin (``*_reference``) that mirrors the equation; the public
functions run the Numba kernels, and ``tests/test_parallel.py`` proves that they agree.
In floating point, ``"hadamard"`` and ``"binary"`` always agree exactly; ``"dense"`` sums
rounded matrix entries such as 1/3 and can miss an exact tie by one spike.
"""

import numpy as np

from .._checks import (
    as_currents,
    as_float_array,
    as_int,
    as_param,
    block_param,
    check_choice,
    check_finite_after,
    check_out,
    currents_unchecked,
    per_neuron_pair,
)
from .matrices import parallel_conversion_matrix, step_offsets
from .parallel_kernels import (
    BLOCK,
    HADAMARD_MAX_T,
    _dense_kernel,
    _fill_kernel,
    _first_step_from_total,
    _first_step_kernel,
    _hadamard_kernel,
)

__all__ = [
    "parallel_neuron",
    "first_spike_step",
    "first_spike_step_from_total",
    "dense_reference",
    "hadamard_reference",
    "binary_reference",
    "first_spike_step_reference",
    "first_spike_step_from_total_reference",
    "closed_form_count",
    "binary_search_probes",
]

METHODS = ("dense", "hadamard", "binary")
ORDERS = ("paper", "code")


# --------------------------------------------------------------------------- input checks


def _prepare(currents, theta, psi, checked=False, block=None):
    """Check the inputs; return (T, N) currents, (N,) θ and ψ, the denominators
    T − x + 1 for x = 1..T, and the currents as given.

    The public functions check finiteness after the kernel, from the state it returns
    (:func:`refsnn._checks.check_finite_after`), to save a pass over T×N values; the
    twins (``checked=True``) check it first. With ``block``, θ and ψ that are single
    numbers come as ``block`` copies (:func:`refsnn._checks.block_param`), as the
    hadamard kernel reads them, unless one of them is per neuron.
    """
    currents = as_currents(currents) if checked else currents_unchecked(currents)
    T, shape = currents.shape[0], currents.shape[1:]
    dtype = currents.dtype
    flat = np.ascontiguousarray(currents.reshape(T, -1))  # a view unless currents is strided
    denominators = (T - np.arange(T)).astype(dtype)  # T − x + 1 for x = 1..T
    if block is not None:
        theta = block_param("theta", theta, shape, dtype, block, positive=True)
        psi = theta / dtype.type(2) if psi is None else block_param("psi", psi, shape, dtype, block)
        theta, psi = per_neuron_pair(theta, psi, flat.shape[1], dtype)
        return flat, theta, psi, denominators, currents
    theta = as_param("theta", theta, shape, dtype, positive=True)
    psi = theta / dtype.type(2) if psi is None else as_param("psi", psi, shape, dtype)
    return flat, theta.ravel(), psi.ravel(), denominators, currents


def _prepare_total(total, theta, T, psi):
    """Check pre-summed currents Σ of shape (...) and broadcast θ and ψ to it."""
    T = as_int("T", T)
    total = as_float_array("total", total)
    dtype, shape = total.dtype, total.shape
    theta = as_param("theta", theta, shape, dtype, positive=True)
    psi = theta / dtype.type(2) if psi is None else as_param("psi", psi, shape, dtype)
    return total, theta, T, psi


def _in_order(spikes, order):
    """Paper-order spikes (T, ...) in ``order``: the code order is the time reverse."""
    return spikes if order == "paper" else spikes[::-1].copy()


# --------------------------------------------------------------------------- twins
#
# Each twin takes the public function's arguments and returns what it returns, and
# mirrors the paper's equation in plain NumPy with the kernel's operations in the
# kernel's order: ``tests/test_twins.py`` proves every (kernel, twin) pair equal.


def total_current(currents):
    """Σ_t I_t accumulated one step at a time, shape ``currents.shape[1:]``.

    The explicit loop fixes the summation order, so the kernels reproduce it exactly.
    """
    total = np.zeros_like(currents[0])
    for step in currents:
        total = total + step
    return total


def closed_form_count(total, theta, T, psi=None):
    """Spike count N = clip(floor((Σ + ψ)/θ), 0, T) from the total current Σ, as int64.

    This is the parallel firing rule summed over the T steps: in exact arithmetic every
    method of :func:`parallel_neuron` fires this many spikes. It is O(1) per neuron.

    Parameters
    ----------
    total : array_like, shape (...)
        Σ, the total input current of each neuron.
    theta : array_like
        Threshold θ > 0, broadcast against ``total``.
    T : int
        Number of time steps.
    psi : array_like, optional
        Shift ψ; θ/2 by default.

    Returns
    -------
    numpy.ndarray of int64, shape ``total.shape``

    Examples
    --------
    >>> closed_form_count([2.0, 9.0, -1.0], theta=1.0, T=4)
    array([2, 4, 0])
    """
    total, theta, T, psi = _prepare_total(total, theta, T, psi)
    return np.clip(np.floor((total + psi) / theta), 0, T).astype(np.int64)


def dense_reference(currents, theta, psi=None, order="paper"):
    """Twin of ``parallel_neuron(method="dense")``: H = Λ_pc·I + b, O(T²) per neuron.

    Returns
    -------
    numpy.ndarray of bool, shape (T, ...)
    """
    check_choice("order", order, ORDERS)
    flat, theta, psi, _, currents = _prepare(currents, theta, psi, checked=True)
    T = flat.shape[0]
    Lpc = parallel_conversion_matrix(T).astype(flat.dtype)
    H = np.zeros_like(flat)
    for t in range(T):  # the matrix product, written as a sum over t
        H = H + Lpc[:, t, None] * flat[t]
    H = H + step_offsets(T, psi)
    return _in_order(H >= theta, order).reshape(currents.shape)


def hadamard_reference(currents, theta, psi=None, order="paper"):
    """Twin of ``parallel_neuron(method="hadamard")``: H_x = (Σ + ψ)/(T − x + 1), O(T).

    Returns
    -------
    numpy.ndarray of bool, shape (T, ...)
    """
    check_choice("order", order, ORDERS)
    flat, theta, psi, denominators, currents = _prepare(currents, theta, psi, checked=True)
    H = (total_current(flat) + psi) / denominators[:, None]
    return _in_order(H >= theta, order).reshape(currents.shape)


def _binary_search(shifted, theta, T):
    """Binary search for t_fir = min{x : s/(T − x + 1) >= θ} (T + 1 if none), vectorised
    over neurons with s = Σ + ψ; returns t_fir and the comparisons of each neuron."""
    lo = np.ones(shifted.shape, dtype=np.int64)
    hi = np.full(shifted.shape, T + 1, dtype=np.int64)
    comparisons = np.zeros(shifted.shape, dtype=np.int64)
    while (lo < hi).any():
        active = lo < hi
        mid = np.where(active, (lo + hi) // 2, T)  # finished neurons probe a dummy step
        fires = shifted / (T - mid + 1).astype(shifted.dtype) >= theta  # H_mid >= θ
        hi = np.where(active & fires, mid, hi)
        lo = np.where(active & ~fires, mid + 1, lo)
        comparisons += active
    return lo, comparisons


def first_spike_step_reference(currents, theta, psi=None, return_comparisons=False):
    """Twin of :func:`first_spike_step`: binary search, vectorised over neurons."""
    flat, theta, psi, _, currents = _prepare(currents, theta, psi, checked=True)
    first, comparisons = _binary_search(total_current(flat) + psi, theta, flat.shape[0])
    shape = currents.shape[1:]
    if return_comparisons:
        return first.reshape(shape), comparisons.reshape(shape)
    return first.reshape(shape)


def first_spike_step_from_total_reference(total, theta, T, psi=None, return_comparisons=False):
    """Twin of :func:`first_spike_step_from_total`."""
    total, theta, T, psi = _prepare_total(total, theta, T, psi)
    first, comparisons = _binary_search(total + psi, theta, T)
    return (first, comparisons) if return_comparisons else first


def binary_reference(currents, theta, psi=None, order="paper"):
    """Twin of ``parallel_neuron(method="binary")``: the first spike step by binary
    search, then step x fires iff x >= t_fir (paper order).

    Returns
    -------
    numpy.ndarray of bool, shape (T, ...)
    """
    check_choice("order", order, ORDERS)
    first = first_spike_step_reference(currents, theta, psi)
    T = np.shape(currents)[0]
    steps = np.arange(1, T + 1).reshape((T,) + (1,) * first.ndim)
    return _in_order(steps >= first, order)


def binary_search_probes(total, theta, T, psi=None):
    """The steps one neuron probes while binary-searching its first spike step.

    Parameters
    ----------
    total : float
        Σ, the total input current.
    theta : float
        Threshold θ > 0.
    T : int
        Number of time steps.
    psi : float, optional
        Shift ψ; θ/2 by default.

    Returns
    -------
    probes : list of (int, bool)
        Each probed step x and whether H_x >= θ there, in the order probed.
    first_step : int
        t_fir in 1..T, or T + 1 if the neuron is silent.

    Examples
    --------
    >>> binary_search_probes(2.0, theta=1.0, T=4)
    ([(3, True), (2, False)], 3)
    """
    total, theta, T, psi = _prepare_total(total, theta, T, psi)
    if total.ndim != 0:
        raise ValueError(f"total must be one neuron's scalar total current, got shape {total.shape}")
    s = total + psi
    lo, hi, probes = 1, T + 1, []
    while lo < hi:
        mid = (lo + hi) // 2
        fires = bool(s / (T - mid + 1) >= theta)
        probes.append((mid, fires))
        if fires:
            hi = mid
        else:
            lo = mid + 1
    return probes, lo


# --------------------------------------------------------------------------- public API


def parallel_neuron(currents, theta, psi=None, method="hadamard", order="paper", out=None):
    """Fire parallel conversion neurons for all T steps at once.

    .. math::

        s_x = H\\left(\\frac{\\Sigma + \\psi}{T - x + 1} - \\theta\\right),
        \\qquad \\Sigma = \\sum_{t=1}^T I_t

    Parameters
    ----------
    currents : array_like, shape (T, ...)
        Input currents, time first.
    theta : array_like
        Threshold θ > 0, broadcast against ``currents.shape[1:]``.
    psi : array_like, optional
        Shift ψ; θ/2 by default. A DA-QCFS input shift merges in as ψ + T·ψ_DA
        (:func:`refsnn.neurons.quantization.da_qcfs_shift`).
    method : {"hadamard", "dense", "binary"}
        How to compute the spikes (see the module docstring). All give the same spikes
        except that ``"dense"`` can miss an exact float tie.
    order : {"paper", "code"}
        ``"paper"``: step x fires iff count >= T − x + 1 (back-loaded).
        ``"code"``: step x fires iff count >= x (front-loaded), as in the authors' code.
    out : numpy.ndarray of bool, shape (T, ...), optional
        Where to write the spikes (NumPy's convention): C-contiguous, writeable, not
        overlapping ``currents``; it is returned. Saves allocating, and first touching,
        a fresh array on every call. If the currents turn out to hold NaN or infinity,
        the ValueError comes after ``out`` was written.

    Returns
    -------
    numpy.ndarray of bool, shape (T, ...)
        ``out`` if given.

    Examples
    --------
    >>> parallel_neuron([[0.0], [0.0], [3.0]], theta=1.0)[:, 0]
    array([ True,  True,  True])
    >>> parallel_neuron([[1.0], [0.0], [1.0]], theta=1.0)[:, 0]
    array([False,  True,  True])
    >>> parallel_neuron([[1.0], [0.0], [1.0]], theta=1.0, order="code")[:, 0]
    array([ True,  True, False])
    """
    check_choice("method", method, METHODS)
    check_choice("order", order, ORDERS)
    currents = currents_unchecked(currents)
    fast = method == "hadamard" and currents.shape[0] < HADAMARD_MAX_T
    flat, theta, psi, denominators, currents = _prepare(currents, theta, psi, block=BLOCK if fast else None)
    T, paper = flat.shape[0], order == "paper"
    # each kernel writes the rows in `order`
    spikes = np.empty(flat.shape, dtype=np.bool_) if out is None else check_out(out, currents.shape, np.bool_,
                                                                                 inputs=(currents,))
    if method == "dense":
        Lpc = parallel_conversion_matrix(T).astype(flat.dtype)
        total = _dense_kernel(flat, Lpc, denominators, theta, psi, spikes, paper)
    elif fast:
        total = _hadamard_kernel(flat, denominators, theta, psi, spikes, paper)
    else:  # binary search, or a T too large for the hadamard kernel's count estimate
        first = np.empty(flat.shape[1], dtype=np.int64)
        comparisons = np.empty_like(first)
        total = _first_step_kernel(flat, theta, psi, first, comparisons)
        _fill_kernel((T + 1 - first).astype(flat.dtype), spikes, paper)
    check_finite_after(currents, total)
    return spikes.reshape(currents.shape) if out is None else out


def first_spike_step(currents, theta, psi=None, return_comparisons=False):
    """First spike step t_fir of parallel neurons, found by binary search (the paper's
    sorting property makes the firing predicate monotone in the step).

    In paper order the neuron fires at every step x >= t_fir, so its count is
    N = T − t_fir + 1. The closed form is t_fir = T + 1 − clip(floor((Σ+ψ)/θ), 0, T).

    Parameters
    ----------
    currents : array_like, shape (T, ...)
    theta : array_like
        Threshold θ > 0, broadcast against ``currents.shape[1:]``.
    psi : array_like, optional
        Shift ψ; θ/2 by default.
    return_comparisons : bool
        Also return how many comparisons each neuron made (at most ⌈log2(T+1)⌉).

    Returns
    -------
    first_step : numpy.ndarray of int64, shape ``currents.shape[1:]``
        Values 1..T; T + 1 means the neuron is silent.
    comparisons : numpy.ndarray of int64, same shape, only if ``return_comparisons``
    """
    flat, theta, psi, _, currents = _prepare(currents, theta, psi)
    first = np.empty(flat.shape[1], dtype=np.int64)
    comparisons = np.empty_like(first)
    total = _first_step_kernel(flat, theta, psi, first, comparisons)
    check_finite_after(currents, total)
    shape = currents.shape
    if return_comparisons:
        return first.reshape(shape[1:]), comparisons.reshape(shape[1:])
    return first.reshape(shape[1:])


def first_spike_step_from_total(total, theta, T, psi=None, return_comparisons=False):
    """First spike step from pre-summed currents Σ = Σ_t I_t, in O(log T) per neuron.

    The parallel neuron only needs Σ (the prior control matrix averages over time), so a
    network that carries summed currents between layers fires each neuron with
    ⌈log2(T+1)⌉ comparisons and never touches the T steps: memory O(N) for N neurons,
    whatever T. (The count itself is O(1)
    from Σ, :func:`closed_form_count`; binary search is how the paper finds t_fir.)

    Parameters
    ----------
    total : array_like, shape (...)
        Σ per neuron.
    theta : array_like
        Threshold θ > 0, broadcast against ``total.shape``.
    T : int
        Number of time steps, T >= 1.
    psi : array_like, optional
        Shift ψ; θ/2 by default.
    return_comparisons : bool
        Also return the number of comparisons per neuron.

    Returns
    -------
    first_step : numpy.ndarray of int64, shape ``total.shape``
        Values 1..T; T + 1 means silent. The count is T + 1 − first_step.
    """
    total, theta, T, psi = _prepare_total(total, theta, T, psi)
    shape = total.shape
    flat = np.ascontiguousarray(total).ravel()
    first = np.empty(flat.size, dtype=np.int64)
    comparisons = np.empty_like(first)
    _first_step_from_total(flat, T, theta.ravel(), psi.ravel(), first, comparisons)
    if return_comparisons:
        return first.reshape(shape), comparisons.reshape(shape)
    return first.reshape(shape)
