"""Slider explorers for a live notebook: the one- and two-parameter ideas of the tutorials.

Each idea has a drawing function and a widget:

============================  ===============================  ===================  ========
drawing function              what it redraws                  sliders              tutorial
============================  ===============================  ===================  ========
``draw_staircase``            QCFS, parallel and IF rates      T, T̃, ψ              3
                              against z (Theorem 4.1)
``draw_if_vs_parallel``       one IF membrane, then IF and     input pattern, T, z  4
                              parallel trains of the pattern
``draw_conversion_matrices``  Λ_pre, Λ_post, Λ_pc and b        T, ψ                 2
``draw_expected_error``       E[r_T − r_T̃] against ψ           T, ψ                 1
``draw_leaky``                parallel and leaky parallel      λ, T                 4
                              trains for constant inputs
============================  ===============================  ===================  ========

A drawing function is a plain callback, ``draw_*(…, ax=None)`` (``fig=None`` where it
draws several panels), returning ``(fig, ax)`` or ``(fig, axes)``; it calls the same
:mod:`refsnn.plotting` functions the tutorials call, so a test can drive it without a
browser. The widget ``*_explorer()`` (an ``ipywidgets.interactive``) ties one slider per
parameter of the drawing function, by name, and shows each redrawn figure as a PNG.
:func:`live` shows a widget only in a live Jupyter kernel, so a tutorial's explorer cell
does nothing in a plain ``python`` run or when the notebooks are built and executed.

ipywidgets is imported only when a widget is built: ``pip install "refsnn[notebooks]"``.
"""

import io
import os
import sys
from fractions import Fraction

import numpy as np

from ..neurons.parallel import parallel_neuron
from ..neurons.theory import expected_conversion_error
from ..neurons.variants import leaky_parallel_neuron
from .._checks import as_float, as_int, check_positive
from ._style import COLORS
from .conversion import plot_conversion_matrices, plot_expected_error, plot_staircase, rising_pattern
from .neurons import plot_if_vs_parallel, plot_membrane, plot_raster

__all__ = [
    "PATTERNS",
    "draw_staircase",
    "draw_if_vs_parallel",
    "draw_conversion_matrices",
    "draw_expected_error",
    "draw_leaky",
    "staircase_explorer",
    "if_vs_parallel_explorer",
    "conversion_matrices_explorer",
    "expected_error_explorer",
    "leaky_explorer",
    "in_notebook",
    "live",
]

#: Temporal input patterns p_t of ``draw_if_vs_parallel``, each of shape (T,) with mean 1.
PATTERNS = {
    "rising (t²)": rising_pattern,
    "falling": lambda T: rising_pattern(T)[::-1].copy(),
    "constant": lambda T: np.ones(T),
    "last-step burst": lambda T: np.eye(T)[-1] * T,
    "first-step burst": lambda T: np.eye(T)[0] * T,
    "random (seed 0)": lambda T: _unit_mean(np.random.default_rng(0).exponential(1.0, T)),
}

#: The ANN levels T̃ that ``draw_expected_error`` compares with.
EXPECTED_ERROR_LEVELS = (2, 3, 8, 16)


def _unit_mean(p):
    return p / p.mean()


def draw_staircase(T=4, T_tilde=8, psi=0.5, ax=None):
    """QCFS at level T̃ against the parallel and IF rates at T, with shift ψ (in units of θ).

    :func:`refsnn.plotting.plot_staircase` with θ = 1. At T = T̃ the parallel line lies on
    the QCFS staircase for every ψ; at T ≠ T̃ the title gives the expected error over
    z ~ U[0, θ], zero only at ψ = θ/2 (Theorem 4.1).
    """
    return plot_staircase(T, T_tilde, theta=1.0, ax=ax, psi=as_float("psi", psi))


def draw_if_vs_parallel(pattern="rising (t²)", T=8, z=0.55, fig=None):
    """One IF neuron's membrane for the input I_t = z·p_t, then IF against parallel trains.

    Top: :func:`refsnn.plotting.plot_membrane` of the neuron with mean input z (θ = 1).
    Below: :func:`refsnn.plotting.plot_if_vs_parallel` for ten neurons with the same
    pattern p_t (:data:`PATTERNS`) and means 0.1θ, 0.2θ, …, θ.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : numpy.ndarray of 4 Axes
        Membrane, input, IF, parallel.
    """
    if pattern not in PATTERNS:
        raise ValueError(f"pattern must be one of {list(PATTERNS)}, got {pattern!r}")
    T = as_int("T", T)
    z = as_float("z", z)
    p = PATTERNS[pattern](T)
    fig = _figure(fig, (12, 8.5))
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.25])
    ax_membrane = top.subplots()
    plot_membrane(z * p, 1.0, ax=ax_membrane)
    ax_membrane.set_title(f"IF membrane, input I_t = z·p_t with z = {z:g}θ, pattern {pattern}", fontsize=10)
    means = np.arange(1, 11) / 10
    _, axes = plot_if_vs_parallel(p[:, None] * means[None, :], 1.0, axes=bottom.subplots(1, 3))
    return fig, np.array([ax_membrane, *axes], dtype=object)


def draw_conversion_matrices(T=6, psi=0.5, fig=None):
    """Λ_pre, Λ_post, Λ_pc and the offsets b for T steps and shift ψ (units of θ).

    :func:`refsnn.plotting.plot_conversion_matrices`; returns ``(fig, axes)``.
    """
    T = as_int("T", T)
    fig = _figure(fig, (13, 3.9))
    return plot_conversion_matrices(T, psi=psi, axes=fig.subplots(1, 4, width_ratios=[T, T, T, 1.6]))


def draw_expected_error(T=4, psi=0.5, ax=None):
    """E[Q_T(z) − Q_T̃(z)]/θ against ψ for z ~ U[0, θ], with the value at the chosen ψ marked.

    :func:`refsnn.plotting.plot_expected_error` for T̃ in :data:`EXPECTED_ERROR_LEVELS`;
    a vertical line at ψ and, per T̃, the exact error there.
    """
    psi = as_float("psi", psi)
    fig, ax = plot_expected_error(T, EXPECTED_ERROR_LEVELS, ax=ax)
    ax.axvline(psi, color=COLORS["spike"], lw=1, gid="chosen_psi")
    errors = [float(expected_conversion_error(T, Tt, Fraction(psi))) for Tt in EXPECTED_ERROR_LEVELS]
    ax.text(0.98, 0.02, "\n".join(f"T̃ = {Tt}: {e:+.4f}θ" for Tt, e in zip(EXPECTED_ERROR_LEVELS, errors)),
            transform=ax.transAxes, ha="right", va="bottom", fontsize=8, gid="errors_at_psi",
            bbox=dict(boxstyle="round,pad=0.3", fc="white", ec=COLORS["guide"]))
    ax.set_title(f"T = {T}, z ~ U[0, θ]: expected error at ψ = {psi:g}θ", fontsize=10)
    return fig, ax


def draw_leaky(leak=0.5, T=7, fig=None):
    """Parallel against leaky parallel conversion neurons for constant inputs 0.1θ … θ.

    Two :func:`refsnn.plotting.plot_raster` panels, θ = 1 and ψ = θ/2: the parallel
    neuron's trains are sorted (0…0 1…1), the leaky neuron's (λ < 1, reusing the IF
    neuron's c_x; tutorial 4, §4.3) need not be. Each title counts the unsorted trains.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : numpy.ndarray of 2 Axes
        Parallel, leaky.
    """
    leak = check_positive("leak", leak)
    T = as_int("T", T)
    means = np.arange(1, 11) / 10
    currents = np.ones((T, 1)) * means[None, :]
    fig = _figure(fig, (11, 4.6))
    axes = fig.subplots(1, 2)
    for ax, spikes, name in ((axes[0], parallel_neuron(currents, 1.0), "parallel"),
                             (axes[1], leaky_parallel_neuron(currents, 1.0, leak), f"leaky, λ = {leak:g}")):
        unsorted = int((np.diff(spikes.astype(int), axis=0) < 0).any(axis=0).sum())
        plot_raster(spikes, ax=ax, color=COLORS["parallel"] if name == "parallel" else COLORS["if"],
                    title=f"{name}, T = {T}: {unsorted} of {means.size} trains unsorted")
        ax.set_yticks(np.arange(means.size), [f"{m:g}" for m in means])
        ax.set_ylabel("constant input z / θ")
    fig.suptitle("Constant input into parallel and leaky parallel neurons (ψ = θ/2)", fontsize=11)
    return fig, axes


def _figure(fig, figsize):
    """``fig`` cleared, or a new constrained-layout figure."""
    import matplotlib.pyplot as plt

    if fig is None:
        return plt.figure(figsize=figsize, layout="constrained")
    fig.clear()
    return fig


# --------------------------------------------------------------------------- widgets


def _widgets():
    """ipywidgets, or an ImportError that says how to install it."""
    try:
        import ipywidgets
    except ImportError as error:
        raise ImportError('the explorers need ipywidgets: pip install "refsnn[notebooks]"') from error
    return ipywidgets


def _show(fig):
    """Display ``fig`` as a PNG (whatever the matplotlib backend) and close it."""
    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    display(Image(data=buffer.getvalue()))


def _explorer(draw, **controls):
    """An ``ipywidgets.interactive`` that calls ``draw(**slider values)`` and shows the figure."""
    widgets = _widgets()

    def redraw(**values):
        fig, _ = draw(**values)
        _show(fig)

    for control in controls.values():
        control.continuous_update = False  # redraw when a slider is released, not while dragged
    return widgets.interactive(redraw, **controls)


def staircase_explorer():
    """Sliders T, T̃ and ψ/θ over :func:`draw_staircase`."""
    w = _widgets()
    return _explorer(draw_staircase, T=w.IntSlider(4, 1, 32, description="T"),
                     T_tilde=w.IntSlider(8, 1, 32, description="T̃"),
                     psi=w.FloatSlider(0.5, min=0.0, max=1.0, step=1 / 16, description="ψ / θ"))


def if_vs_parallel_explorer():
    """An input-pattern menu and sliders T and z/θ over :func:`draw_if_vs_parallel`."""
    w = _widgets()
    return _explorer(draw_if_vs_parallel, pattern=w.Dropdown(options=list(PATTERNS), description="pattern"),
                     T=w.IntSlider(8, 2, 16, description="T"),
                     z=w.FloatSlider(0.55, min=0.0, max=1.0, step=0.05, description="z / θ"))


def conversion_matrices_explorer():
    """Sliders T and ψ/θ over :func:`draw_conversion_matrices`."""
    w = _widgets()
    return _explorer(draw_conversion_matrices, T=w.IntSlider(6, 1, 12, description="T"),
                     psi=w.FloatSlider(0.5, min=0.0, max=1.0, step=1 / 16, description="ψ / θ"))


def expected_error_explorer():
    """Sliders T and ψ/θ over :func:`draw_expected_error`."""
    w = _widgets()
    return _explorer(draw_expected_error, T=w.IntSlider(4, 1, 32, description="T"),
                     psi=w.FloatSlider(0.5, min=0.0, max=1.0, step=1 / 32, description="ψ / θ"))


def leaky_explorer():
    """Sliders λ and T over :func:`draw_leaky`."""
    w = _widgets()
    return _explorer(draw_leaky, leak=w.FloatSlider(0.5, min=0.05, max=1.0, step=0.05, description="λ"),
                     T=w.IntSlider(7, 2, 16, description="T"))


def in_notebook():
    """True inside a Jupyter kernel (a notebook, VS Code's or JupyterLab's cells)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def live(explorer):
    """``explorer()``, the widget, in a live Jupyter kernel; None elsewhere.

    A tutorial's optional cell ends with ``live(staircase_explorer)``: a notebook shows the
    widget as the cell's value; a plain ``python`` run builds nothing and needs no
    ipywidgets; nor does a notebook that ``tutorials/build_notebooks.py`` executes, which
    sets ``$REFSNN_EXPLORERS`` to ``0`` (no one moves its sliders, and waiting for a
    widget's messages can stall the execution).
    """
    return explorer() if in_notebook() and os.environ.get("REFSNN_EXPLORERS") != "0" else None
