"""Parallel neurons for which the paper's guarantees break.

Why they break is explained in ``tutorials/00_notation.md``, "Where the theorems break".

These are teaching counterexamples, not conversion neurons. Each is written as the
explicit matrix form H = Λ·I + b, s = H(H − θ), in plain NumPy.

No-reset parallel neuron (Fang et al., NeurIPS 2023, with Λ = L_T)
    H_x = Σ_{t<=x} I_t: integrate-and-fire without reset. Once the running sum crosses θ
    every later step fires, so the count is biased upwards against QCFS, and with
    negative currents the running sum can fall again, so the train need not be sorted.

Leaky parallel conversion neuron (λ < 1)
    Λ^λ_post = diag(c)·L^λ_T with (L^λ_T)_{x,t} = λ^{x−t} for t <= x (a leaky integrator
    without reset) and the paper's c_x = T/(x(T−x+1)); the prior control Λ_pre and the
    offsets b_x = ψ/(T−x+1) are unchanged. Row x of Λ^λ_post·Λ_pre is g_x/(x(T−x+1))·𝟙ᵀ
    with g_x = Σ_{j<x} λ^j, so

    .. math::

        H_x = \\frac{g_x}{x}\\cdot\\frac{\\Sigma}{T - x + 1} + \\frac{\\psi}{T - x + 1}.

    At λ = 1, g_x = x and this is the paper's neuron. For λ < 1 the factor g_x/x falls
    with x, so H_x need not be monotone and the sorting property can fail.
"""

import numpy as np

from .._checks import as_currents, as_float_array, as_int, as_param
from .matrices import posterior_row_factors, prior_control_matrix, step_offsets

__all__ = ["no_reset_neuron", "leaky_posterior_matrix", "leaky_parallel_neuron"]


def no_reset_neuron(currents, theta, v0=0.0):
    """Fang et al.'s parallel IF neuron without reset: s_x = [v0 + Σ_{t<=x} I_t >= θ].

    Parameters
    ----------
    currents : array_like, shape (T, ...)
    theta : array_like
        Threshold θ > 0, broadcast against ``currents.shape[1:]``.
    v0 : array_like
        Initial potential; 0 by default as in the PSN (θ/2 gives the QCFS shift).

    Returns
    -------
    numpy.ndarray of bool, shape (T, ...)
    """
    currents = as_currents(currents)
    shape, dtype = currents.shape[1:], currents.dtype
    theta = as_param("theta", theta, shape, dtype, positive=True)
    v0 = as_param("v0", v0, shape, dtype)
    T = currents.shape[0]
    L = np.tril(np.ones((T, T), dtype=dtype))  # Λ = L_T
    H = np.tensordot(L, currents, axes=1) + v0
    return H >= theta


def leaky_posterior_matrix(T, leak):
    """Leaky posterior matrix Λ^λ_post = diag(c)·L^λ_T, shape (T, T), float64.

    Parameters
    ----------
    T : int
        Number of time steps, T >= 1.
    leak : float
        λ in (0, 1]; λ = 1 gives :func:`refsnn.posterior_conversion_matrix`.
    """
    T = as_int("T", T)
    leak = float(as_float_array("leak", leak))
    if not 0 < leak <= 1:
        raise ValueError(f"leak must be in (0, 1], got {leak}")
    x = np.arange(T)
    power = np.subtract.outer(x, x)
    L = np.where(power >= 0, leak ** np.maximum(power, 0), 0.0)
    return posterior_row_factors(T)[:, None] * L


def leaky_parallel_neuron(currents, theta, leak, psi=None):
    """Leaky parallel conversion neuron: s = H(Λ^λ_post·Λ_pre·I + b − θ).

    Parameters
    ----------
    currents : array_like, shape (T, ...)
    theta : array_like
        Threshold θ > 0, broadcast against ``currents.shape[1:]``.
    leak : float
        λ in (0, 1].
    psi : array_like, optional
        Shift ψ; θ/2 by default.

    Returns
    -------
    numpy.ndarray of bool, shape (T, ...)
    """
    currents = as_currents(currents)
    shape, dtype = currents.shape[1:], currents.dtype
    theta = as_param("theta", theta, shape, dtype, positive=True)
    psi = theta / 2 if psi is None else as_param("psi", psi, shape, dtype)
    T = currents.shape[0]
    Lam = leaky_posterior_matrix(T, leak) @ prior_control_matrix(T)
    H = np.tensordot(Lam, currents, axes=1) + step_offsets(T, psi)
    return H >= theta
