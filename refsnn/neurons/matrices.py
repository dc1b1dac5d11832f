"""The explicit conversion matrices of the parallel conversion neuron.

These are for teaching and for the ``method="dense"`` reference. The fast methods never
form a T×T matrix (the rank-1 form of :mod:`refsnn.neurons.parallel`). Rows and steps are 1-based in the docstrings (x = 1..T)
and 0-based in the arrays.

- Prior control matrix Λ_pre = 𝟙𝟙ᵀ/T replaces every step's current by the time mean.
- Posterior conversion matrix Λ_post = diag(c)·L_T with c_x = T / (x (T − x + 1)) and L_T
  the lower-triangular ones (IF integration without reset).
- Parallel conversion matrix Λ_pc = Λ_post·Λ_pre, whose row x is 𝟙ᵀ/(T − x + 1).
- Step offsets b_x = ψ/(T − x + 1).

The row factors c_x, Λ_pc and b are as the paper states them. The factor L_T inside
Λ_post is a **reconstruction** (see ``tutorials/00_notation.md``, "Reconstructed posterior conversion
matrix"): it is the natural choice that
reproduces Λ_pc, because row x of L_T·Λ_pre is (x/T)·𝟙ᵀ. The paper text that would
confirm it could not be read.
"""

import numpy as np

from .._checks import as_float_array, as_int

__all__ = [
    "prior_control_matrix",
    "posterior_conversion_matrix",
    "parallel_conversion_matrix",
    "step_offsets",
    "posterior_row_factors",
]


def prior_control_matrix(T):
    """The prior control matrix Λ_pre = 𝟙𝟙ᵀ / T.

    Parameters
    ----------
    T : int
        Number of time steps, T >= 1.

    Returns
    -------
    numpy.ndarray of float64, shape (T, T)
        Every entry is 1/T.
    """
    T = as_int("T", T)
    return np.full((T, T), 1.0 / T)


def posterior_row_factors(T):
    """Row factors c_x = T / (x (T − x + 1)) for x = 1..T, shape (T,), float64."""
    T = as_int("T", T)
    x = np.arange(1, T + 1, dtype=np.float64)
    return T / (x * (T - x + 1))


def posterior_conversion_matrix(T):
    """The posterior conversion matrix Λ_post = diag(c)·L_T (reconstructed, see the module).

    c_x = T / (x (T − x + 1)) is stated by the paper. L_T, the lower-triangular ones,
    is a reconstruction (see the module docstring).

    Parameters
    ----------
    T : int
        Number of time steps, T >= 1.

    Returns
    -------
    numpy.ndarray of float64, shape (T, T)
        Lower triangular; row x holds c_x in columns 1..x.
    """
    T = as_int("T", T)
    return posterior_row_factors(T)[:, None] * np.tril(np.ones((T, T)))


def parallel_conversion_matrix(T):
    """The parallel conversion matrix Λ_pc = Λ_post·Λ_pre.

    Row x equals 𝟙ᵀ/(T − x + 1), so Λ_pc = u·𝟙ᵀ has rank 1 with u_x = 1/(T − x + 1): the
    rows read 1/T, 1/(T−1), ..., 1 from top to bottom. It is computed here from that
    closed form; ``tests/test_matrices.py`` checks that it equals the product.

    Parameters
    ----------
    T : int
        Number of time steps, T >= 1.

    Returns
    -------
    numpy.ndarray of float64, shape (T, T)
    """
    T = as_int("T", T)
    u = 1.0 / (T - np.arange(1, T + 1) + 1.0)
    return np.repeat(u[:, None], T, axis=1)


def step_offsets(T, psi):
    """The step-wise offsets b_x = ψ / (T − x + 1), x = 1..T.

    Parameters
    ----------
    T : int
        Number of time steps, T >= 1.
    psi : array_like
        Shift ψ (θ/2 for QCFS), a scalar or an array of any neuron shape.

    Returns
    -------
    numpy.ndarray, shape (T,) + psi.shape
        float32 for float32 ``psi``, else float64.
    """
    T = as_int("T", T)
    psi = as_float_array("psi", psi)
    denom = (T - np.arange(1, T + 1) + 1).astype(psi.dtype)
    return psi / denom.reshape((T,) + (1,) * psi.ndim)
