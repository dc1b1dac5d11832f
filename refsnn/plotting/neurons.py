"""Neuron-level plots: rasters, the IF membrane, IF against parallel, binary search.

The IF neuron (soft reset, v0 = θ/2), the parallel conversion neuron and its two spike
orders (see ``tutorials/00_notation.md``, "Spike order"), and the sorting property with
binary search for the first spike step. Time steps are 1-based, as in the paper, and
potentials are shown in units of θ.
"""

import matplotlib.ticker
import numpy as np

from ..neurons.integrate_fire import if_neuron
from ..neurons.parallel import ORDERS, binary_search_probes, parallel_neuron
from ..neurons.quantization import qcfs_level
from .._checks import as_float, as_float_array, as_int, as_spikes, check_positive
from ._style import COLORS, DIVERGING_CMAP, new_axes, new_axes_row, step_ticks

__all__ = ["plot_raster", "plot_membrane", "plot_if_vs_parallel", "plot_binary_search"]


def _draw_raster(ax, spikes, color):
    """Draw one tick per spike at (t, neuron): steps are numbered 1..T and neurons from 1 (row
    0 of the array is neuron 1, on top); limits never collapse."""
    T, N = spikes.shape
    positions = [np.flatnonzero(spikes[:, n]) + 1.0 for n in range(N)]
    width = float(np.clip(60.0 / T, 1.0, 4.0))
    for events in ax.eventplot(positions, lineoffsets=np.arange(N), linelengths=0.8,
                               linewidths=width, colors=color):
        events.set_gid("spikes")
    ax.set_xlim(0.5, T + 0.5)
    ax.set_ylim(N - 0.5, -0.5)  # a single neuron still gets a unit-high row (snntorch#294)
    ax.set_xlabel("time step t (1..T)")
    if T <= 16:
        ax.set_xticks(np.arange(1, T + 1))
    else:
        step_ticks(ax, "x")
    _neuron_axis(ax, N)


def _neuron_axis(ax, n_neurons):
    """Label the y axis "neuron" and number the rows from 1, like the steps (1..T) and the
    paper's x; row 0 of an array is neuron 1. (N is the spike count, not the neurons.)"""
    ax.set_ylabel("neuron")
    if n_neurons <= 20:
        ax.set_yticks(np.arange(n_neurons), [str(n) for n in range(1, n_neurons + 1)])
    else:
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{int(v) + 1}"))
        step_ticks(ax, "y")


def _short(value):
    """A cell label with at most two decimals and no trailing zeros: 0.5, -0.81, 2."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _row_text(ax, values, header, colors=None):
    """Write one value per raster row just right of ``ax``, under a column header."""
    from matplotlib.transforms import blended_transform_factory

    trans = blended_transform_factory(ax.transAxes, ax.transData)
    N = len(values)
    size = 9 if N <= 16 else 7
    for n, value in enumerate(values):
        color = COLORS["spike"] if colors is None else colors[n]
        ax.text(1.03, n, str(value), transform=trans, va="center", ha="left", fontsize=size,
                color=color, fontweight="normal" if color == COLORS["spike"] else "bold", gid="row_text")
    ax.text(1.03, 1.0, header, transform=ax.transAxes, va="bottom", ha="left", fontsize=size)


def plot_raster(spikes, ax=None, rate_bar=True, color=None, title="spike raster"):
    """Spike raster of ``N`` neurons over ``T`` steps, with an optional firing-rate bar.

    Every neuron in refsnn returns spikes of shape ``(T, N)``, time first.

    Parameters
    ----------
    spikes : array_like of bool or 0/1, shape (T, N)
        Time × neurons. A single neuron, all-silent or all-firing trains and T = 1 are fine.
    ax : matplotlib.axes.Axes, optional
        Axes to draw the raster into; a new figure if omitted.
    rate_bar : bool
        Also draw each neuron's firing rate (spikes per step) in a narrow Axes to the
        right of ``ax``, sharing its neuron axis: ``ax.child_axes[0]``.
    color : color, optional
        Spike colour; black by default.
    title : str
        Axes title.

    Returns
    -------
    fig : matplotlib.figure.Figure
    ax : matplotlib.axes.Axes
        The raster. It holds one tick per spike, so ``spikes.sum()`` ticks in all.
    """
    spikes = as_spikes("spikes", spikes)
    T, N = spikes.shape
    fig, ax = new_axes(ax, figsize=(6.4, min(2.2 + 0.25 * N, 8.0)))
    _draw_raster(ax, spikes, color or COLORS["spike"])
    ax.set_title(title)
    if rate_bar:
        bar = ax.inset_axes([1.03, 0.0, 0.16, 1.0], sharey=ax)
        bar.barh(np.arange(N), spikes.mean(axis=0), height=0.8, color=COLORS["guide"], gid="rates")
        bar.set_xlim(0, 1)
        bar.set_xticks([0, 1])
        bar.set_xlabel("rate\n(spikes/step)")
        bar.tick_params(axis="y", labelleft=False)
    return fig, ax


def plot_membrane(currents, theta, v0=None, ax=None):
    """Membrane potential of one IF neuron with soft reset.

    Draws v_{t−1} → m_t = v_{t−1} + I_t (integration during step t) and, where the
    neuron fires (m_t >= θ), the soft reset m_t → v_t = m_t − θ. Marks the threshold θ,
    the start v_0 and every spike.

    Parameters
    ----------
    currents : array_like, shape (T,) or (T, 1)
        Input current I_t of one neuron.
    theta : float
        Threshold θ > 0.
    v0 : float, optional
        Initial potential; θ/2 by default (the QCFS shift ψ).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    fig, ax
        ``ax`` holds a ``LineCollection`` with gid ``"soft_resets"`` (one segment per
        spike) and a ``Line2D`` with gid ``"spikes"``.
    """
    c = as_float_array("currents", currents, np.float64, ndim=(1, 2))
    if c.ndim == 2 and c.shape[1] != 1:
        raise ValueError(f"currents must hold one neuron, shape (T,) or (T, 1), got {c.shape}")
    c = c.reshape(-1)
    if c.size < 1:
        raise ValueError("currents must have at least one time step")
    theta = check_positive("theta", theta)
    v0 = theta / 2 if v0 is None else as_float("v0", v0)
    T = c.size
    spikes, v = if_neuron(c[:, None], theta, v0=v0, return_membrane=True)
    spikes, v = spikes[:, 0], v[:, 0] / theta
    m = v + spikes  # the potential before the reset, in units of θ
    t = np.arange(1, T + 1)
    fig, ax = new_axes(ax, figsize=(8.0, 3.6))
    ax.axhline(1.0, color=COLORS["guide"], ls="--", lw=1, label="threshold θ")
    path_x = np.concatenate([[0], np.repeat(t, 2)])
    path_y = np.concatenate([[v0 / theta], np.column_stack([m, v]).ravel()])
    ax.plot(path_x, path_y, color=COLORS["if"], lw=1.8, label="membrane (rise: + I_t)", gid="membrane")
    ax.vlines(t[spikes], v[spikes], m[spikes], color=COLORS["spike"], lw=2.2, linestyles=":",
              label="soft reset (drop by θ)", gid="soft_resets")
    ax.plot([0], [v0 / theta], "o", color=COLORS["if"], ms=7, label=f"start v₀ = {v0 / theta:g}θ")
    top = max(1.0, float(m.max())) + 0.35
    ax.plot(t[spikes], np.full(int(spikes.sum()), top - 0.12), ls="none", marker="v", ms=9,
            color=COLORS["spike"], label="spike", gid="spikes")
    ax.set_ylim(min(0.0, float(v.min()), v0 / theta) - 0.1, top)
    ax.set_xlim(-0.3, T + 0.3)
    step_ticks(ax, "x")
    ax.set_xlabel("time step t")
    ax.set_ylabel("membrane potential v / θ")
    level = int(qcfs_level([c.mean()], theta, T)[0]) if v0 == theta / 2 else None
    extra = "" if level is None else f"; QCFS level of the mean: {level}"
    ax.set_title(f"IF neuron, soft reset: {int(spikes.sum())} spikes in T = {T} steps{extra}", fontsize=10)
    if v[-1] >= 1.0:  # charge above θ at the end is never emitted: the unevenness error
        ax.annotate(f"left over: v_T = {v[-1]:.2g}θ,\nnever emitted", (T, v[-1]), xytext=(-12, 0),
                    textcoords="offset points", ha="right", va="center", fontsize=8)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return fig, ax


def plot_if_vs_parallel(currents, theta, order="paper", psi=None, axes=None, annotate=None):
    """The same input into IF neurons and parallel conversion neurons, side by side.

    Three panels: the input currents I_t/θ with the QCFS level ℓ of each neuron's mean,
    the IF raster with its counts (vermillion where the count misses ℓ: the unevenness
    error) and the parallel raster with its counts (always ℓ; its spikes are sorted,
    back-loaded in ``"paper"`` order and front-loaded in ``"code"`` order).

    Parameters
    ----------
    currents : array_like, shape (T,) or (T, N)
    theta : float
        Threshold θ > 0.
    order : {"paper", "code"}
        Spike order of the parallel neuron (see ``tutorials/00_notation.md``, "Spike order").
    psi : float, optional
        Shift ψ, also the IF neuron's v0; θ/2 by default.
    axes : sequence of 3 Axes, optional
    annotate : bool, optional
        Write the currents into their cells instead of drawing a colour bar; by default
        when T·N <= 160.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : numpy.ndarray of 3 Axes
        Input, IF, parallel. Counts that miss ℓ read "N≠ℓ" in the IF panel.
    """
    if order not in ORDERS:
        raise ValueError(f"order must be one of {list(ORDERS)}, got {order!r}")
    c = as_float_array("currents", currents, np.float64, ndim=(1, 2))
    c = c[:, None] if c.ndim == 1 else c
    if c.shape[0] < 1 or c.shape[1] < 1:
        raise ValueError(f"currents must have at least one step and one neuron, got shape {c.shape}")
    theta = check_positive("theta", theta)
    psi = theta / 2 if psi is None else as_float("psi", psi)
    T, N = c.shape
    level = qcfs_level(c.mean(axis=0), theta, T, psi)
    if_count = if_neuron(c, theta, v0=psi).sum(axis=0)
    par_spikes = parallel_neuron(c, theta, psi=psi, order=order)
    par_count = par_spikes.sum(axis=0)

    fig, axes = new_axes_row(axes, 3, figsize=(12, min(2.2 + 0.32 * N, 9.0)))
    ax_in, ax_if, ax_par = axes
    scale = max(float(np.abs(c).max()) / theta, 1e-12)
    im = ax_in.imshow(c.T / theta, aspect="auto", cmap=DIVERGING_CMAP, vmin=-scale, vmax=scale,
                      interpolation="nearest", extent=(0.5, T + 0.5, N - 0.5, -0.5))
    if annotate is None:
        annotate = T * N <= 160
    if annotate:  # the numbers themselves, instead of a colour bar
        for (t, n), value in np.ndenumerate(c / theta):
            ax_in.text(t + 1, n, _short(value), ha="center", va="center", fontsize=7,
                       color="white" if abs(value) > 0.6 * scale else "black")
    else:
        fig.colorbar(im, ax=list(axes), location="bottom", shrink=0.3, aspect=30, label="I_t / θ")
    ax_in.set_title("input current I_t / θ")
    ax_in.set_xlabel("time step t (1..T)")
    step_ticks(ax_in, "x")
    _neuron_axis(ax_in, N)
    _row_text(ax_in, level.tolist(), "ℓ")

    _draw_raster(ax_if, if_neuron(c, theta, v0=psi), COLORS["if"])
    miss = if_count != level
    _row_text(ax_if, [f"{n}≠{l}" if m else str(n) for n, l, m in zip(if_count, level, miss)], "N",
              [COLORS["if"] if m else COLORS["spike"] for m in miss])
    ax_if.set_title("IF neuron (sequential)")

    _draw_raster(ax_par, par_spikes, COLORS["parallel"])
    _row_text(ax_par, par_count.tolist(), "N")
    ax_par.set_title(f"parallel neuron ({order} order)")
    fig.suptitle(
        f"T = {T}: the IF spike count N ≠ the QCFS level ℓ for {int(miss.sum())} of {N} neurons; "
        f"the parallel count for {int((par_count != level).sum())} of {N}",
        fontsize=11,
    )
    return fig, axes


def plot_binary_search(total, theta, psi, T, ax=None):
    """Binary search for the first spike step of one parallel neuron (the sorting property).

    Shows the potentials H_x = (Σ + ψ)/(T − x + 1) of every step x, the threshold θ,
    the steps the search probes (numbered in probe order; filled where H_x >= θ, open
    where not) and the first spike step t_fir, from which every later step fires.

    Parameters
    ----------
    total : float
        Σ, the neuron's total input current over T steps.
    theta : float
        Threshold θ > 0.
    psi : float
        Shift ψ (θ/2 for QCFS).
    T : int
        Number of time steps.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    fig, ax
        ``ax`` holds a ``Line2D`` with gid ``"probes"`` whose x data are the probed
        steps in probe order.
    """
    total = as_float("total", total)
    theta = check_positive("theta", theta)
    psi = as_float("psi", psi)
    T = as_int("T", T)
    probes, first = binary_search_probes(total, theta, T, psi)
    x = np.arange(1, T + 1)
    H = (total + psi) / (T - x + 1) / theta
    fig, ax = new_axes(ax, figsize=(6.4, 4.0))
    if first <= T:
        ax.axvspan(first - 0.5, T + 0.5, color=COLORS["highlight"], alpha=0.25, lw=0,
                   label=f"spikes: steps x ≥ t_fir = {first}")
    ax.axhline(1.0, color=COLORS["guide"], ls="--", lw=1, label="threshold θ")
    ax.plot(x, H, "o-", color=COLORS["guide"], ms=4, lw=1, label="H_x = (Σ+ψ)/(T−x+1)", gid="potentials")
    px = np.array([p for p, _ in probes], dtype=int)
    fired = np.array([f for _, f in probes], dtype=bool)
    ax.plot(px, H[px - 1], ls="none", gid="probes")  # invisible: probe order, for readers of the data
    ax.plot(px[fired], H[px[fired] - 1], "o", ms=10, color=COLORS["parallel"], label="probe: fires")
    ax.plot(px[~fired], H[px[~fired] - 1], "o", ms=10, mfc="white", mew=2, color=COLORS["if"],
            label="probe: silent")
    for i, (p, _) in enumerate(probes, start=1):
        ax.annotate(str(i), (p, H[p - 1]), textcoords="offset points", xytext=(0, 9), ha="center",
                    fontsize=9, fontweight="bold")
    ax.set_xlim(0.5, T + 0.5)
    step_ticks(ax, "x")
    ax.set_xlabel("step x")
    ax.set_ylabel("potential H_x / θ")
    outcome = f"t_fir = {first}, N = {T - first + 1}" if first <= T else "silent (t_fir = T + 1)"
    ax.set_title(f"binary search, T = {T}, Σ = {total / theta:g}θ, ψ = {psi / theta:g}θ\n"
                 f"{len(probes)} comparisons instead of {T}; {outcome}", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    return fig, ax
