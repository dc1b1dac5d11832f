"""The QCFS activation, ClipReLU and the calibrated DA-QCFS, as functions.

QCFS (Bu et al., ICLR 2022) is the quantization-clip-floor-shift activation that a
QCFS ANN is trained with:

.. math::

    Q_L(z; \\theta, \\psi) = \\frac{\\theta}{L}
        \\operatorname{clip}\\left(\\left\\lfloor \\frac{L z + \\psi}{\\theta} \\right\\rfloor, 0, L\\right),
    \\qquad \\psi = \\theta / 2 \\text{ by default.}

With ψ = θ/2 the floor rounds half up: floor(u + 1/2). It is never ``np.round``, which
rounds half to even and differs exactly at the ties where the theorems are sharpest.

Every function here has a plain NumPy reference (``*_reference``) that mirrors the
equation and a Numba kernel that the public function calls. Both evaluate the same
operations in the same order, so they agree bit for bit (``tests/test_twins.py``).

Parameters broadcast against ``z.shape`` by NumPy's rules: scalar, per channel (for
example shape ``(C, 1, 1)`` for ``z`` of shape ``(B, C, H, W)``) or per neuron. float32
input is computed and returned in float32; anything else in float64.
"""

import numpy as np
from numba import njit

from .._checks import as_float_array, as_int, as_param, single_param, working_dtype

__all__ = [
    "qcfs",
    "qcfs_level",
    "clip_relu",
    "da_qcfs",
    "da_qcfs_shift",
    "qcfs_reference",
    "qcfs_level_reference",
    "da_qcfs_reference",
]


# --------------------------------------------------------------------------- twins
#
# Each twin takes the public function's arguments, checks them the same way, and
# computes the equation in plain NumPy with the same operations in the same order as the
# kernel, so the two agree bit for bit (``tests/test_twins.py``).


def _folded_shift(psi, L, psi_da):
    """ψ + L·ψ_DA, the one place where the DA-QCFS input shift is folded in
    (:func:`da_qcfs_shift`)."""
    return psi + L * psi_da


def qcfs_level_reference(z, theta, levels, psi=None):
    """NumPy twin of :func:`qcfs_level`: clip(floor((L·z + ψ)/θ), 0, L), int64."""
    L = as_int("levels", levels)
    z, theta, psi, _ = _prepare(z, theta, psi)
    Lf = z.dtype.type(L)
    return np.clip(np.floor((Lf * z + psi) / theta), 0, Lf).astype(np.int64)


def qcfs_reference(z, theta, levels, psi=None):
    """NumPy twin of :func:`qcfs`: (θ/L)·clip(floor((L·z + ψ)/θ), 0, L)."""
    L = as_int("levels", levels)
    z, theta, psi, _ = _prepare(z, theta, psi)
    Lf = z.dtype.type(L)
    return (theta / Lf) * np.clip(np.floor((Lf * z + psi) / theta), 0, Lf)


def da_qcfs_reference(z, theta, levels, psi_da, phi_da, psi=None):
    """NumPy twin of :func:`da_qcfs`: ((θ + φ_DA)/L)·clip(floor((L·z + ψ')/θ), 0, L),
    with the folded shift ψ' = ψ + L·ψ_DA of :func:`da_qcfs_shift`."""
    L = as_int("levels", levels)
    z, theta, psi, extra = _prepare(z, theta, psi, psi_da=psi_da, phi_da=phi_da)
    Lf = z.dtype.type(L)
    shift = _folded_shift(psi, Lf, extra["psi_da"])
    level = np.clip(np.floor((Lf * z + shift) / theta), 0, Lf)
    return ((theta + extra["phi_da"]) / Lf) * level


# --------------------------------------------------------------------------- kernels


# θ and ψ are flat arrays of z.size entries, or of one entry each that every neuron uses
# (``_prepare_flat``). The one-entry case has its own loop, with θ and ψ held in
# registers, which the compiler vectorizes; the arithmetic is the same in both loops.


@njit(cache=True)
def _qcfs_level_kernel(z, theta, L, psi, out):  # pragma: no cover - compiled
    zero = L - L
    if theta.size == 1 and psi.size == 1:
        t, shift = theta[0], psi[0]
        for i in range(z.size):
            out[i] = min(max(np.floor((L * z[i] + shift) / t), zero), L)
        return
    t_step, p_step = min(theta.size - 1, 1), min(psi.size - 1, 1)
    for i in range(z.size):
        k = np.floor((L * z[i] + psi[i * p_step]) / theta[i * t_step])
        out[i] = min(max(k, zero), L)


@njit(cache=True, nogil=True)
def qcfs_kernel(z, theta, L, psi, out):  # pragma: no cover - compiled
    """out = (θ/L)·clip(floor((L·z + ψ)/θ), 0, L) over flat arrays, unchecked: the kernel of
    :func:`qcfs` (twin :func:`qcfs_reference`), which :class:`refsnn.networks.activations.QCFS`
    also calls on input it has checked."""
    zero = L - L
    if theta.size == 1 and psi.size == 1:
        t, shift = theta[0], psi[0]
        step = t / L
        for i in range(z.size):
            out[i] = step * min(max(np.floor((L * z[i] + shift) / t), zero), L)
        return
    t_step, p_step = min(theta.size - 1, 1), min(psi.size - 1, 1)
    for i in range(z.size):
        t = theta[i * t_step]
        k = np.floor((L * z[i] + psi[i * p_step]) / t)
        out[i] = (t / L) * min(max(k, zero), L)


@njit(cache=True)
def _da_qcfs_kernel(z, theta, L, shift, phi_da, out):  # pragma: no cover - compiled
    zero = L - L
    for i in range(z.size):
        k = np.floor((L * z[i] + shift[i]) / theta[i])
        out[i] = ((theta[i] + phi_da[i]) / L) * min(max(k, zero), L)


# --------------------------------------------------------------------------- public API


def _prepare(z, theta, psi, **extra):
    """Check ``z`` and broadcast θ, ψ (default θ/2) and extra parameters to ``z.shape``."""
    z = as_float_array("z", z)
    dtype = working_dtype(z)
    theta = _nonzero_in_dtype(as_param("theta", theta, z.shape, dtype, positive=True))
    psi = theta / dtype.type(2) if psi is None else as_param("psi", psi, z.shape, dtype)
    extra = {k: as_param(k, v, z.shape, dtype) for k, v in extra.items()}
    return np.asarray(z, order="C"), theta, psi, extra


def _nonzero_in_dtype(theta):
    """θ, checked > 0 after its cast to the working dtype: a positive float64 θ below
    float32's smallest positive number is 0 in float32, and ⌊(L z + ψ)/θ⌋ would divide by 0."""
    if not (theta > 0).all():
        raise ValueError(f"theta must be > 0 in the working dtype {theta.dtype} of z, but a value rounds to 0 "
                         f"there; pass z as float64 or scale z and theta up")
    return theta


def _prepare_flat(z, theta, psi, **extra):
    """:func:`_prepare` for the kernels: ``z`` and every parameter flattened, to length
    ``z.size``, or to length 1 for a parameter that is a single number (the usual scalar
    threshold), which the kernels then read for every neuron instead of ``z.size``
    copies; the values are the same, so the kernels compute the same floats either way."""
    z = as_float_array("z", z)
    dtype = working_dtype(z)
    params = {"theta": theta, "psi": psi, **extra}
    flat = {name: single_param(name, value, z.shape, dtype, positive=name == "theta")
            for name, value in params.items() if value is not None}
    if any(v is None for v in flat.values()):
        z, theta, psi, extra = _prepare(z, theta, psi, **extra)
        return z.ravel(), theta.ravel(), psi.ravel(), {k: v.ravel() for k, v in extra.items()}
    _nonzero_in_dtype(flat["theta"])
    if psi is None:
        flat["psi"] = flat["theta"] / dtype.type(2)  # θ/2, once
    z = np.asarray(z, order="C").ravel()
    return z, flat.pop("theta"), flat.pop("psi"), flat


def qcfs_level(z, theta, levels, psi=None):
    """Quantization level of QCFS: clip(floor((L·z + ψ)/θ), 0, L).

    This is the integer that the spike count of a lossless SNN must equal, which is why
    tests compare levels (exact) rather than rates θ·n/L (rounded).

    Parameters
    ----------
    z : array_like, shape (...)
        Pre-activation.
    theta : array_like
        Threshold θ > 0, broadcast against ``z``.
    levels : int
        Number of quantization levels L >= 1 (T̃ for a QCFS ANN).
    psi : array_like, optional
        Shift ψ; θ/2 by default.

    Returns
    -------
    numpy.ndarray of int64, shape ``z.shape``
        Values in 0..L.
    """
    L = as_int("levels", levels)
    shape = np.shape(z)
    z, theta, psi, _ = _prepare_flat(z, theta, psi)
    out = np.empty_like(z)
    _qcfs_level_kernel(z, theta, z.dtype.type(L), psi, out)
    return out.astype(np.int64).reshape(shape)


def qcfs(z, theta, levels, psi=None):
    """QCFS activation (Bu et al., ICLR 2022), the activation of a QCFS ANN.

    .. math::

        Q_L(z) = \\frac{\\theta}{L}\\,
        \\operatorname{clip}\\left(\\left\\lfloor \\frac{L z + \\psi}{\\theta}\\right\\rfloor, 0, L\\right)

    Parameters
    ----------
    z : array_like, shape (...)
        Pre-activation.
    theta : array_like
        Threshold (clip value) θ > 0, broadcast against ``z``: scalar, per channel or
        per neuron.
    levels : int
        Number of quantization levels L >= 1.
    psi : array_like, optional
        Shift ψ in units of activation; θ/2 by default (round half up).

    Returns
    -------
    numpy.ndarray, shape ``z.shape``
        float32 for float32 ``z``, else float64.

    Examples
    --------
    >>> qcfs([0.0, 0.125, 0.3, 2.0], theta=1.0, levels=4)
    array([0.  , 0.25, 0.25, 1.  ])
    """
    L = as_int("levels", levels)
    shape = np.shape(z)
    z, theta, psi, _ = _prepare_flat(z, theta, psi)
    out = np.empty_like(z)
    qcfs_kernel(z, theta, z.dtype.type(L), psi, out)
    return out.reshape(shape)


def clip_relu(z, theta):
    """ClipReLU: min(max(z, 0), θ), the ReLU clipped at a recorded threshold (stage 1 of
    the paper's three-stage pipeline).

    Parameters
    ----------
    z : array_like, shape (...)
    theta : array_like
        Threshold θ > 0, broadcast against ``z``.

    Returns
    -------
    numpy.ndarray, shape ``z.shape``, float32 for float32 ``z`` else float64.
    """
    z, theta, _, _ = _prepare(z, theta, psi=0.0)
    return np.minimum(np.maximum(z, 0), theta)


def da_qcfs_shift(theta, levels, psi_da, psi=None):
    """The DA-QCFS input shift folded into the QCFS shift: ψ' = ψ + L·ψ_DA.

    .. math::

        \\left\\lfloor \\frac{(z + \\psi_{DA}) L + \\psi}{\\theta} \\right\\rfloor
        = \\left\\lfloor \\frac{L z + (\\psi + L \\psi_{DA})}{\\theta} \\right\\rfloor

    This one identity is where ψ_DA enters everything downstream: :func:`da_qcfs` uses it,
    and so does the conversion to parallel neurons, whose total current is Σ = T·z at
    L = T, so that ψ' is the neuron's offset (``refsnn.networks.conversion``).

    Parameters
    ----------
    theta : array_like
        Threshold θ > 0.
    levels : int
        Level L >= 1 (the SNN's T for a calibrated layer).
    psi_da : array_like
        DA-QCFS input shift ψ_DA.
    psi : array_like, optional
        QCFS shift ψ; θ/2 by default.

    Returns
    -------
    numpy.ndarray of float64, the broadcast shape of ``theta``, ``psi_da`` and ``psi``.

    Examples
    --------
    >>> da_qcfs_shift(1.0, 4, 0.125)
    array(1.)
    """
    L = as_int("levels", levels)
    theta = as_float_array("theta", theta).astype(np.float64)
    if not (theta > 0).all():
        raise ValueError(f"theta must be > 0 everywhere, got a minimum of {theta.min()}")
    psi_da = as_float_array("psi_da", psi_da).astype(np.float64)
    psi = theta / 2 if psi is None else as_float_array("psi", psi).astype(np.float64)
    try:
        return np.asarray(_folded_shift(psi, L, psi_da))
    except ValueError:
        raise ValueError(
            f"psi of shape {psi.shape} and psi_da of shape {psi_da.shape} do not broadcast together"
        ) from None


def da_qcfs(z, theta, levels, psi_da, phi_da, psi=None):
    """Distribution-aware QCFS (DA-QCFS), the paper's calibrated activation.

    .. math::

        r_{DA}(z) = \\frac{\\theta + \\varphi_{DA}}{L}\\,
        \\operatorname{clip}\\left(\\left\\lfloor
        \\frac{(z + \\psi_{DA}) L + \\psi}{\\theta}\\right\\rfloor, 0, L\\right)

    ψ_DA shifts the input distribution and φ_DA corrects the output amplitude, both per
    channel in the paper. With ψ_DA = φ_DA = 0 this is :func:`qcfs`.

    Parameters
    ----------
    z : array_like, shape (...)
    theta : array_like
        Threshold θ > 0, broadcast against ``z``.
    levels : int
        Level L >= 1. In the authors' code the DA-QCFS student runs at the SNN's T.
    psi_da, phi_da : array_like
        Input shift ψ_DA and output-scale correction φ_DA, broadcast against ``z``.
    psi : array_like, optional
        Shift ψ; θ/2 by default.

    Returns
    -------
    numpy.ndarray, shape ``z.shape``, float32 for float32 ``z`` else float64.
    """
    L = as_int("levels", levels)
    z, theta, psi, extra = _prepare(z, theta, psi, psi_da=psi_da, phi_da=phi_da)
    out = np.empty_like(z)
    Lf = z.dtype.type(L)
    shift = _folded_shift(psi, Lf, extra["psi_da"])
    _da_qcfs_kernel(z.ravel(), theta.ravel(), Lf, shift.ravel(), extra["phi_da"].ravel(), out.ravel())
    return out
