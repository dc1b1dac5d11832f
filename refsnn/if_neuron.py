"""The sequential integrate-and-fire neuron with soft reset (spec §2.2).

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

from ._checks import as_currents, as_param

__all__ = ["if_neuron", "if_neuron_reference"]


def if_neuron_reference(currents, theta, v0):
    """NumPy twin of the IF kernel: one step at a time, vectorised over neurons.

    Parameters
    ----------
    currents : numpy.ndarray, shape (T, N)
    theta, v0 : numpy.ndarray, shape (N,)
        Same float dtype as ``currents``.

    Returns
    -------
    spikes : numpy.ndarray of bool, shape (T, N)
    membrane : numpy.ndarray, shape (T, N)
        v_t, the potential after the soft reset of step t.
    """
    T = currents.shape[0]
    spikes = np.zeros(currents.shape, dtype=bool)
    membrane = np.empty_like(currents)
    v = v0.copy()
    for t in range(T):
        v = v + currents[t]  # m_t = v_{t-1} + I_t
        spikes[t] = v >= theta  # s_t = H(m_t - θ)
        v = np.where(spikes[t], v - theta, v)  # soft reset: v_t = m_t - θ s_t
        membrane[t] = v
    return spikes, membrane


@njit(cache=True)
def _if_kernel(currents, theta, v0, spikes, membrane, record):  # pragma: no cover
    T, N = currents.shape
    v = v0.copy()
    for t in range(T):  # time-major: the inner loop runs over contiguous neurons
        for n in range(N):
            m = v[n] + currents[t, n]
            fired = m >= theta[n]
            if fired:
                m = m - theta[n]
            spikes[t, n] = fired
            v[n] = m
        if record:
            membrane[t, :] = v


def if_neuron(currents, theta, v0=None, return_membrane=False):
    """Run integrate-and-fire neurons with soft reset over T steps (spec §2.2).

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

    Returns
    -------
    spikes : numpy.ndarray of bool, shape (T, ...)
    membrane : numpy.ndarray, shape (T, ...), only if ``return_membrane``
        float32 for float32 currents, else float64.

    Examples
    --------
    >>> if_neuron([[0.0], [0.0], [3.0]], theta=1.0)[:, 0]
    array([False, False,  True])
    """
    currents = as_currents(currents)
    T, shape = currents.shape[0], currents.shape[1:]
    dtype = currents.dtype
    theta = as_param("theta", theta, shape, dtype, positive=True)
    v0 = theta / dtype.type(2) if v0 is None else as_param("v0", v0, shape, dtype)
    flat = np.ascontiguousarray(currents.reshape(T, -1))
    spikes = np.empty(flat.shape, dtype=np.bool_)
    membrane = np.empty(flat.shape if return_membrane else (0, flat.shape[1]), dtype=dtype)
    _if_kernel(flat, theta.ravel(), v0.ravel(), spikes, membrane, bool(return_membrane))
    spikes = spikes.reshape(currents.shape)
    if return_membrane:
        return spikes, membrane.reshape(currents.shape)
    return spikes
