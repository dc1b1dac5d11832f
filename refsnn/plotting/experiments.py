"""Figures of ``refsnn experiment``: accuracy over seeds against depth and against T.

Every function takes the experiment's result rows (``{"rows": [...]}`` of its JSON), draws
the mean over seeds as a line and the range over seeds as a band or error bar, and
returns ``(fig, ax)`` or ``(fig, axes)``.
"""

import numpy as np

from ._style import COLORS, CYCLE, new_axes, new_axes_row
from .vocabulary import EXPERIMENT_WORDS, words

__all__ = ["plot_depth", "plot_layer_rate_error", "plot_seed_accuracy_vs_T"]


def _check_rows(rows, experiment=None):
    if not isinstance(rows, (list, tuple)) or not rows:
        raise ValueError("rows must be a non-empty list of result rows (the 'rows' of an experiment's JSON)")
    needed = {"experiment", "source", "method", "T", "accuracy", "agreement", "depth", "seed"}
    for row in rows:
        if not isinstance(row, dict) or not needed <= set(row):
            raise ValueError(f"every row needs the keys {sorted(needed)}, got {row!r}")
    if experiment is not None:
        rows = [r for r in rows if r["experiment"] == experiment]
        if not rows:
            raise ValueError(f"rows holds no row of the {experiment!r} experiment")
    return rows


def _stats(values):
    values = 100 * np.asarray(values, dtype=float)
    return values.mean(), values.min(), values.max()


def _series(rows, key, select):
    """x = depth, (mean, min, max) of ``key`` over seeds for the rows where ``select``."""
    by_depth = {}
    for r in rows:
        if select(r):
            by_depth.setdefault(r["depth"], []).append(r[key])
    depths = sorted(by_depth)
    stats = np.array([_stats(by_depth[d]) for d in depths]).reshape(-1, 3)
    return np.array(depths), stats


def plot_depth(rows, axes=None):
    """Accuracy and agreement with the ANN against the number of spiking layers.

    The ANN and the parallel SNN at T = T̃ (one line each: they coincide, Theorem 4.1) and
    the IF SNN at every T measured; lines are means over seeds, bands the range.

    Parameters
    ----------
    rows : list of dict
        Rows of ``refsnn experiment depth``.
    axes : two matplotlib Axes, optional

    Returns
    -------
    fig, axes
    """
    rows = _check_rows(rows, "depth")
    fig, axes = new_axes_row(axes, 2, figsize=(10, 4))
    T_tilde = min(r["T"] for r in rows if r["method"] == "parallel")
    if_steps = sorted({r["T"] for r in rows if r["method"] == "if"})
    curves = [("QCFS ANN", lambda r: r["method"] == "ann", COLORS["ann"], "-", "o"),
              (f"parallel SNN, T = T̃ = {T_tilde}", lambda r: r["method"] == "parallel", COLORS["parallel"], "--", "s")]
    shades = [COLORS["if"]] + [c for c in CYCLE if c not in (COLORS["if"], COLORS["parallel"])]
    for k, T in enumerate(if_steps):
        curves.append((f"IF SNN, T = {T}", lambda r, T=T: r["method"] == "if" and r["T"] == T,
                       shades[k % len(shades)], "-", "^"))
    for ax, key, label in zip(axes, ("accuracy", "agreement"), ("test accuracy (%)", "agreement with the ANN (%)")):
        for name, select, color, ls, marker in curves:
            if key == "agreement" and name.startswith("QCFS ANN"):
                continue
            depths, stats = _series(rows, key, select)
            if not len(depths):
                continue
            ax.plot(depths, stats[:, 0], ls=ls, marker=marker, color=color, label=name, lw=1.5, ms=5)
            ax.fill_between(depths, stats[:, 1], stats[:, 2], color=color, alpha=0.15, lw=0)
        ax.set_xlabel("spiking layers (depth)")
        ax.set_ylabel(label)
        ax.set_xticks(sorted({r["depth"] for r in rows}))
        ax.grid(alpha=0.3)
    seeds = sorted({r["seed"] for r in rows})
    axes[0].set_title(f"Accuracy against depth (mean and range over {len(seeds)} seeds)", fontsize=10)
    axes[1].set_title("Agreement with the QCFS ANN's predictions", fontsize=10)
    for ax in axes:
        ax.legend(fontsize=7, loc="lower left")
    return fig, axes


def plot_layer_rate_error(rows, depth=None, ax=None):
    """Mean |rate − activation| of every layer of one network depth, mean over seeds.

    Parameters
    ----------
    rows : list of dict
        Rows with ``rate_error`` lists (the ``depth`` or ``resnet`` experiment).
    depth : int, optional
        Which depth; the deepest by default.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    fig, ax
    """
    rows = _check_rows(rows)
    depth = max(r["depth"] for r in rows) if depth is None else depth
    rows = [r for r in rows if r["depth"] == depth and r["method"] in ("parallel", "if") and r.get("rate_error")]
    if not rows:
        raise ValueError(f"no SNN rows with rate_error at depth {depth}")
    fig, ax = new_axes(ax, figsize=(6.4, 4.0))
    T_tilde = min(r["T"] for r in rows if r["method"] == "parallel")
    keys = sorted({(r["method"], r["T"]) for r in rows}, key=lambda k: (k[0] != "parallel", k[1]))
    shades = [COLORS["if"]] + [c for c in CYCLE if c not in (COLORS["if"], COLORS["parallel"])]
    k_if = 0
    for method, T in keys:
        if method == "parallel" and T != T_tilde:
            continue
        errors = np.array([r["rate_error"] for r in rows if (r["method"], r["T"]) == (method, T)])
        layers = np.arange(1, errors.shape[1] + 1)
        if method == "parallel":
            color, label = COLORS["parallel"], f"parallel SNN, T = T̃ = {T}"
        else:
            color, label = shades[k_if % len(shades)], f"IF SNN, T = {T}"
            k_if += 1
        ax.plot(layers, errors.mean(axis=0), marker="o", ms=4, color=color, label=label)
        ax.fill_between(layers, errors.min(axis=0), errors.max(axis=0), color=color, alpha=0.15, lw=0)
    ax.set_xlabel("spiking layer")
    ax.set_ylabel("mean |SNN rate − ANN activation|")
    ax.set_title(f"Where the error comes from: {depth} spiking layers", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    return fig, ax


def plot_seed_accuracy_vs_T(rows, model=None, ax=None):
    """Accuracy against T of every SNN of one model, mean over seeds with range bars.

    Parameters
    ----------
    rows : list of dict
        Rows of an experiment.
    model : str, optional
        Which model (``row["model"]``); the deepest by default.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    fig, ax
    """
    rows = _check_rows(rows)
    if model is None:
        model = max(rows, key=lambda r: r["depth"])["model"]
    rows = [r for r in rows if r["model"] == model]
    if not rows:
        raise ValueError(f"no rows of model {model!r}")
    fig, ax = new_axes(ax, figsize=(6.4, 4.2))
    styles = {"parallel": ("s", COLORS["parallel"]), "if": ("^", COLORS["if"]),
              "parallel_calibrated": ("D", COLORS["parallel_calibrated"]),
              "training_free": ("v", COLORS["training_free"]), "training_free_calibrated": ("P", COLORS["relu"])}
    for source in ("qcfs", "relu"):
        ann = [r["accuracy"] for r in rows if r["source"] == source and r["method"] == "ann"]
        if ann:
            mean = 100 * np.mean(ann)
            ax.axhline(mean, color=COLORS["ann"], ls="-" if source == "qcfs" else ":", lw=1,
                       label=f"{words(source)} ANN ({mean:.1f}%)")
        for method, (marker, color) in styles.items():
            by_T = {}
            for r in rows:
                if r["source"] == source and r["method"] == method:
                    by_T.setdefault(r["T"], []).append(r["accuracy"])
            if not by_T:
                continue
            Ts = sorted(by_T)
            stats = np.array([_stats(by_T[T]) for T in Ts])
            ax.errorbar(Ts, stats[:, 0], yerr=[stats[:, 0] - stats[:, 1], stats[:, 2] - stats[:, 0]],
                        marker=marker, color=color, capsize=3, lw=1.2, ms=5,
                        ls="-" if method in ("if", "training_free", "training_free_calibrated") else "none",
                        label=f"{words(source)} → {words(method, EXPERIMENT_WORDS)}")
    Ts = sorted({r["T"] for r in rows if r["T"] is not None})
    ax.set_xscale("log", base=2)
    ax.set_xticks(Ts, [str(T) for T in Ts])
    ax.set_xlabel("time steps T")
    ax.set_ylabel("test accuracy (%)")
    seeds = sorted({r["seed"] for r in rows})
    ax.set_title(f"{words(model)}: accuracy against T\n(mean and range over {len(seeds)} seeds)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return fig, ax
