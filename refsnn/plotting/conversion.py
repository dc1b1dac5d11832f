"""Conversion-level plots: the matrices, the QCFS staircase, the expected error against ψ.

The prior control matrix Λ_pre, the posterior conversion matrix Λ_post, the parallel
conversion matrix Λ_pc and the step-wise offsets b; the QCFS activation; and Theorem 4.1
(lossless at T = T̃, lossless in expectation at T ≠ T̃ when ψ = θ/2). Λ_post is the
matrix refsnn reconstructs (see ``tutorials/00_notation.md``,
"Reconstructed posterior conversion matrix"). Inputs and outputs are in units of θ.
"""

from fractions import Fraction

import numpy as np

from ..neurons.integrate_fire import if_neuron
from ..neurons.matrices import (
    parallel_conversion_matrix,
    posterior_conversion_matrix,
    prior_control_matrix,
    step_offsets,
)
from ..neurons.parallel import parallel_neuron
from ..neurons.quantization import clip_relu, qcfs
from ..neurons.theory import expected_conversion_error
from .._checks import as_float, as_float_array, as_int, check_positive
from ._style import CMAP, COLORS, CYCLE, new_axes, new_axes_row

__all__ = ["plot_conversion_matrices", "plot_staircase", "plot_expected_error", "rising_pattern"]


def _cell_label(value):
    """A matrix entry as a short fraction ("1/3") or decimal."""
    frac = Fraction(float(value)).limit_denominator(100)
    if abs(float(frac) - value) < 1e-12:
        return str(frac)
    return f"{value:.2f}"


def _heatmap(ax, M, title, norm, annotate):
    rows, cols = M.shape
    im = ax.imshow(M, cmap=CMAP, norm=norm, interpolation="nearest",
                   extent=(0.5, cols + 0.5, rows + 0.5, 0.5))
    if annotate:
        for (i, j), value in np.ndenumerate(M):
            if value == 0:
                continue  # leave zeros blank so the structure stands out
            shade = (value - norm.vmin) / (norm.vmax - norm.vmin)
            ax.text(j + 1, i + 1, _cell_label(value), ha="center", va="center", fontsize=8,
                    color="black" if shade > 0.55 else "white")
    ax.set_title(title, fontsize=10)
    ax.set_yticks(np.arange(1, rows + 1))
    ax.set_xticks(np.arange(1, cols + 1))
    return im


def plot_conversion_matrices(T, psi=0.5, axes=None, annotate=None):
    """Heatmaps of the conversion matrices Λ_pre, Λ_post, Λ_pc and the step-wise offsets b.

    Λ_post = diag(c)·L_T: the row factors c_x = T/(x(T−x+1)) are the paper's, the
    lower-triangular ones L_T are a reconstruction (the titles say so).

    Parameters
    ----------
    T : int
        Number of time steps.
    psi : float
        Shift ψ in units of θ (θ = 1); 1/2 for QCFS.
    axes : sequence of 4 Axes, optional
    annotate : bool, optional
        Write each entry in its cell; by default when T <= 8.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : numpy.ndarray of 4 Axes
        Λ_pre, Λ_post, Λ_pc, b.
    """
    from matplotlib.colors import Normalize

    T = as_int("T", T)
    psi = as_float("psi", psi)
    annotate = T <= 8 if annotate is None else bool(annotate)
    mats = [prior_control_matrix(T), posterior_conversion_matrix(T), parallel_conversion_matrix(T)]
    b = step_offsets(T, psi)[:, None]
    values = np.concatenate([m.ravel() for m in mats] + [b.ravel()])
    norm = Normalize(vmin=min(0.0, values.min()), vmax=max(values.max(), 1e-12))
    fig, axes = new_axes_row(axes, 4, figsize=(13, 3.9), width_ratios=[T, T, T, 1.6])
    titles = [
        "prior control Λ_pre = 𝟙𝟙ᵀ/T",
        "posterior conversion Λ_post = diag(c)·L_T\n(c from the paper; L_T reconstructed)",
        "parallel conversion Λ_pc = Λ_post·Λ_pre",
    ]
    for ax, M, title in zip(axes[:3], mats, titles):
        im = _heatmap(ax, M, title, norm, annotate)
        ax.set_xlabel("input step t")
        ax.set_ylabel("output step x")
    _heatmap(axes[3], b, f"offsets b\n(ψ = {psi:g}θ)", norm, annotate)
    axes[3].set_xticks([])
    axes[3].set_ylabel("output step x")
    fig.colorbar(im, ax=list(axes), shrink=0.85, label="entry value")
    fig.suptitle(f"Conversion matrices for T = {T}", fontsize=11)
    return fig, axes


def rising_pattern(T):
    """The uneven default input pattern p_t ∝ t², t = 1..T, with mean 1: most current comes late.

    An IF neuron cannot emit current that arrives in the last steps, so with this
    pattern it fires less than the QCFS level of the mean (the unevenness error).
    """
    T = as_int("T", T)
    t = np.arange(1, T + 1, dtype=float)
    return t**2 / np.mean(t**2)


def plot_staircase(T, T_tilde, theta=1.0, ax=None, pattern=None, n_points=1000, psi=None):
    """QCFS staircase against the parallel-neuron and IF rates, for a mean input z (Theorem 4.1).

    For z on a grid over [−0.1θ, 1.1θ] it draws

    - the QCFS ANN output Q_T̃(z) (the staircase the ANN was trained with),
    - the parallel neuron's rate (θ/T)·N at T, driven by the uneven input I_t = z·p_t,
    - the IF neuron's rate (θ/T)·N at T for the same uneven input,
    - ClipReLU min(max(z, 0), θ) as a thin guide.

    At T = T̃ the parallel line lies on the QCFS line (Theorem 4.1, lossless, for any ψ); at
    T ≠ T̃ it is the staircase Q_T instead, equal to Q_T̃ only on average, and only for
    ψ = θ/2. The IF line falls below the staircase where the input arrives too late to be
    emitted.

    Parameters
    ----------
    T : int
        SNN time steps.
    T_tilde : int
        The QCFS ANN's level T̃.
    theta : float
        Threshold θ > 0.
    ax : matplotlib.axes.Axes, optional
    pattern : array_like, shape (T,), optional
        Temporal pattern of the input, rescaled to mean 1 (its sum must be > 0);
        :func:`rising_pattern` (p_t ∝ t²) by default.
    n_points : int
        Grid size for z.
    psi : float, optional
        Shift ψ of the QCFS ANN and of the parallel neuron, and the IF neuron's v0; θ/2 by
        default. The title names it when given.

    Returns
    -------
    fig, ax
        Lines with gids ``"qcfs"``, ``"parallel"``, ``"if"`` and ``"clip_relu"``; their
        x data are z/θ and their y data rates/θ.
    """
    T = as_int("T", T)
    T_tilde = as_int("T_tilde", T_tilde)
    theta = check_positive("theta", theta)
    n_points = as_int("n_points", n_points, minimum=2)
    shift = None if psi is None else as_float("psi", psi)
    p = rising_pattern(T) if pattern is None else as_float_array("pattern", pattern, np.float64, ndim=1)
    if p.shape != (T,):
        raise ValueError(f"pattern must have shape ({T},), got {p.shape}")
    if not p.sum() > 0:
        raise ValueError("pattern must have a positive sum (it is rescaled to mean 1)")
    p = p / p.mean()
    z = np.linspace(-0.1, 1.1, n_points) * theta
    currents = p[:, None] * z[None, :]
    fig, ax = new_axes(ax, figsize=(5.2, 4.2))
    ax.plot(z / theta, clip_relu(z, theta) / theta, color=COLORS["guide"], lw=1, ls=":",
            label="ClipReLU", gid="clip_relu")
    ax.plot(z / theta, qcfs(z, theta, T_tilde, shift) / theta, color=COLORS["qcfs"], lw=4, alpha=0.35,
            label=f"QCFS ANN, level T̃ = {T_tilde}", gid="qcfs")
    ax.plot(z / theta, parallel_neuron(currents, theta, psi=shift).sum(axis=0) / T, color=COLORS["parallel"],
            lw=1.6, ls="--", label=f"parallel neuron, T = {T}", gid="parallel")
    ax.plot(z / theta, if_neuron(currents, theta, v0=shift).sum(axis=0) / T, color=COLORS["if"], lw=1.2,
            label=f"IF neuron, T = {T} (uneven input: {'rising, I_t ∝ t²' if pattern is None else 'the given pattern'})",
            gid="if")
    ax.set_xlabel("mean input z / θ")
    ax.set_ylabel("output rate r / θ")
    if shift is None:
        case = "lossless" if T == T_tilde else "lossless only in expectation"
        ax.set_title(f"T = {T}, T̃ = {T_tilde}: {case}", fontsize=10)
    else:
        error = expected_conversion_error(T, T_tilde, Fraction(shift / theta))  # z ~ U[0, θ]
        case = ("lossless" if T == T_tilde else "lossless only in expectation" if error == 0
                else f"expected error {float(error):+.3f}θ")
        ax.set_title(f"T = {T}, T̃ = {T_tilde}, ψ = {shift / theta:g}θ: {case}", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    return fig, ax


def plot_expected_error(T, T_tilde_list, ax=None, n_points=201):
    """Expected conversion error against the shift ψ (Theorem 4.1, T ≠ T̃).

    For z ~ U[0, θ] it draws E[Q_T(z) − Q_T̃(z)]/θ against ψ/θ ∈ [0, 1], computed exactly by
    :func:`refsnn.neurons.theory.expected_conversion_error`, one curve per T̃. Every curve is zero
    at ψ = θ/2 (marked).

    Parameters
    ----------
    T : int
        SNN time steps.
    T_tilde_list : sequence of int
        The ANN levels T̃ to compare with.
    ax : matplotlib.axes.Axes, optional
    n_points : int
        Grid size for ψ/θ; an odd size puts ψ = θ/2 on the grid.

    Returns
    -------
    fig, ax
        One line per T̃ with gid ``"T_tilde=<T̃>"``; x data ψ/θ, y data the error/θ.
    """
    T = as_int("T", T)
    if isinstance(T_tilde_list, (int, np.integer)) or len(T_tilde_list) == 0:
        raise ValueError("T_tilde_list must be a non-empty sequence of integers")
    levels = [as_int("T_tilde_list entries", t) for t in T_tilde_list]
    n_points = as_int("n_points", n_points, minimum=2)
    shifts = np.linspace(0.0, 1.0, n_points)
    fig, ax = new_axes(ax, figsize=(5.6, 4.0))
    ax.axhline(0.0, color=COLORS["guide"], lw=1)
    ax.axvline(0.5, color=COLORS["guide"], lw=1, ls="--", label="ψ = θ/2")
    for i, Tt in enumerate(levels):
        err = [float(expected_conversion_error(T, Tt, Fraction(s))) for s in shifts]
        ax.plot(shifts, err, color=CYCLE[i % len(CYCLE)], lw=1.6, label=f"T̃ = {Tt}", gid=f"T_tilde={Tt}")
    ax.plot([0.5], [0.0], "o", color=COLORS["qcfs"], ms=7, zorder=5)
    ax.set_xlabel("shift ψ / θ")
    ax.set_ylabel(r"expected error $\mathbb{E}[r_T - r_{\tilde{T}}]\,/\,\theta$")
    ax.set_title(f"T = {T}, z ~ U[0, θ]: zero expected error at ψ = θ/2", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    return fig, ax
