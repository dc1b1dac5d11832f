"""The sequential integrate-and-fire neuron with soft reset: the classic conversion neuron.

This is the classic conversion neuron and the baseline the paper beats:

.. math::

    m_t = v_{t-1} + I_t, \\qquad s_t = H(m_t - \\theta), \\qquad
    v_t = m_t - \\theta s_t, \\qquad v_0 = \\theta / 2,

with H(u) = 1 for u >= 0 (it fires on ``>=``). For constant input the spike count equals
the QCFS level at L = T; for uneven input it does not (the unevenness error that the
parallel neuron removes).

:func:`if_neuron_reference` is the readable NumPy twin of the Numba kernel that
:func:`if_neuron` runs; both use the same operations in the same order and agree bit for
bit.
"""

import numpy as np
from numba import njit

from .._checks import (
    as_currents, as_param, block_param, check_finite_after, check_out, currents_unchecked, per_neuron_pair,
)

__all__ = ["if_neuron", "if_neuron_reference"]


def if_neuron_reference(currents, theta, v0=None, return_membrane=False):
    """NumPy twin of :func:`if_neuron`: one step at a time, vectorised over neurons.

    Same arguments, checks and results as :func:`if_neuron`, computed with the same
    operations in the same order as its kernel.
    """
    currents, theta, v0 = _prepare(as_currents(currents), theta, v0)
    T = currents.shape[0]
    spikes = np.zeros(currents.shape, dtype=bool)
    membrane = np.empty_like(currents)
    v = v0.copy()
    for t in range(T):
        v = v + currents[t]  # m_t = v_{t-1} + I_t
        spikes[t] = v >= theta  # s_t = H(m_t - θ)
        v = np.where(spikes[t], v - theta, v)  # soft reset: v_t = m_t - θ s_t
        membrane[t] = v
    return (spikes, membrane) if return_membrane else spikes


def _prepare(currents, theta, v0):
    """θ and v0 (θ/2 by default) broadcast to the neuron shape ``currents.shape[1:]``."""
    shape, dtype = currents.shape[1:], currents.dtype
    theta = as_param("theta", theta, shape, dtype, positive=True)
    v0 = theta / dtype.type(2) if v0 is None else as_param("v0", v0, shape, dtype)
    return currents, theta, v0


#: Neurons per block. A block's membrane and thresholds (256 KB each in float32) stay in
#: the L2 cache while the kernel sweeps its T rows. Every sweep starts eight new memory
#: streams (four rows of currents read, four rows of spikes written), each a row segment
#: of ``BLOCK`` neurons; the longer the segments, the less the start of each stream (the
#: hardware prefetchers' ramp-up) weighs against streaming it, so ``BLOCK`` is as large
#: as keeps both arrays in a 1 MB L2 cache with room to spare.
BLOCK = 65536


@njit(cache=True, error_model="numpy")
def if_kernel(currents, theta, v0, spikes, membrane, record):  # pragma: no cover
    """Compiled twin of :func:`if_neuron_reference`.

    Same operations in the same order as the twin, arranged for memory bandwidth: the
    neurons are cut into blocks of ``BLOCK``; within a block the loops run time-major
    over contiguous neurons, four steps per sweep, so the membrane is loaded and stored
    once per four steps. ``theta`` and ``v0`` hold one value per neuron, or the same
    value ``BLOCK`` times for every block (:func:`refsnn._checks.block_param`). The
    spikes are stored straight from the loop, 16 per vector instruction, with ordinary
    stores: staging the four rows in a byte buffer and streaming them out with
    non-temporal stores, as the parallel kernels write their rows
    (:mod:`refsnn.neurons.parallel_kernels`), was slower on the machine it was tried on
    (AVX-512, streaming stores mixed with the four read streams).

    Returns 0.0, or infinity if a final membrane potential is NaN or infinite, as it is
    after a NaN or infinite current (inf + x, inf − θ and NaN + x stay non-finite): that
    is how :func:`if_neuron` checks its input without a separate pass.
    """
    T, N = currents.shape
    per_neuron = theta.size == N and v0.size == N
    v_block = np.empty(min(BLOCK, N), dtype=currents.dtype)
    bad = False
    for start in range(0, N, BLOCK):
        stop = min(start + BLOCK, N)
        v = v_block[:stop - start]
        first = start if per_neuron else 0  # a block of copies is read from its start
        th = theta[first:first + stop - start]
        v[:] = v0[first:first + stop - start]
        t = 0
        while not record and t + 4 <= T:
            i0, i1, i2, i3 = (currents[t, start:stop], currents[t + 1, start:stop],
                              currents[t + 2, start:stop], currents[t + 3, start:stop])
            s0, s1, s2, s3 = (spikes[t, start:stop], spikes[t + 1, start:stop],
                              spikes[t + 2, start:stop], spikes[t + 3, start:stop])
            for j in range(stop - start):
                h = th[j]
                m = v[j] + i0[j]  # m_t = v_{t-1} + I_t
                s0[j] = m >= h  # s_t = H(m_t - θ)
                m = m - h if m >= h else m  # v_t = m_t - θ s_t
                m = m + i1[j]
                s1[j] = m >= h
                m = m - h if m >= h else m
                m = m + i2[j]
                s2[j] = m >= h
                m = m - h if m >= h else m
                m = m + i3[j]
                s3[j] = m >= h
                v[j] = m - h if m >= h else m
            t += 4
        for t in range(t, T):  # the remaining steps, or all of them when recording
            i0, s0 = currents[t, start:stop], spikes[t, start:stop]
            for j in range(stop - start):
                m = v[j] + i0[j]
                s0[j] = m >= th[j]
                v[j] = m - th[j] if m >= th[j] else m
            if record:
                membrane[t, start:stop] = v
        for j in range(stop - start):  # x − x is NaN exactly when x is NaN or infinite
            bad |= (v[j] - v[j]) != 0
    return np.inf if bad else 0.0


def if_neuron(currents, theta, v0=None, return_membrane=False, out=None):
    """Run integrate-and-fire neurons with soft reset over T steps.

    Parameters
    ----------
    currents : array_like, shape (T, ...)
        Input current I_t of every neuron at every step, time first.
    theta : array_like
        Threshold θ > 0, broadcast against ``currents.shape[1:]``.
    v0 : array_like, optional
        Initial membrane potential; θ/2 by default (the QCFS shift).
    return_membrane : bool
        Also return the membrane potential v_t after each step's reset.
    out : numpy.ndarray of bool, shape (T, ...), optional
        Where to write the spikes (NumPy's convention): C-contiguous, writeable, not
        overlapping ``currents``; it is returned. Saves allocating, and first touching,
        a fresh array on every call. If the currents turn out to hold NaN or infinity,
        the ValueError comes after ``out`` was written.

    Returns
    -------
    spikes : numpy.ndarray of bool, shape (T, ...)
        ``out`` if given.
    membrane : numpy.ndarray, shape (T, ...), only if ``return_membrane``
        float32 for float32 currents, else float64.

    Examples
    --------
    >>> if_neuron([[0.0], [0.0], [3.0]], theta=1.0)[:, 0]
    array([False, False,  True])
    """
    currents = currents_unchecked(currents)
    T, shape, dtype = currents.shape[0], currents.shape[1:], currents.dtype
    theta = block_param("theta", theta, shape, dtype, BLOCK, positive=True)
    v0 = theta / dtype.type(2) if v0 is None else block_param("v0", v0, shape, dtype, BLOCK)
    flat = np.ascontiguousarray(currents.reshape(T, -1))  # a view unless currents is strided
    theta, v0 = per_neuron_pair(theta, v0, flat.shape[1], dtype)
    if out is None:
        spikes = np.empty(flat.shape, dtype=np.bool_)
    else:
        spikes = check_out(out, currents.shape, np.bool_, inputs=(currents,))
    membrane = np.empty(flat.shape if return_membrane else (0, flat.shape[1]), dtype=dtype)
    state = if_kernel(flat, theta, v0, spikes, membrane, bool(return_membrane))
    check_finite_after(currents, state)
    spikes = spikes.reshape(currents.shape) if out is None else out
    if return_membrane:
        return spikes, membrane.reshape(currents.shape)
    return spikes
