"""Network-level plots: accuracy against T, calibration diagnostics and speed-up.

DA-QCFS calibration, training-free conversion (the three-stage pipeline ReLU → ClipReLU
→ DA-QCFS → parallel SNN), per-step cumulative accuracy and timing (see
``tutorials/00_notation.md``, "Evaluation and timing in the released code"), and the
speed-ups. Inputs are the demo's and the benchmark's JSON results (plain lists and
dicts) or NumPy arrays.
"""

import numpy as np
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from .._checks import as_float, as_float_array, as_int
from ._style import COLORS, CYCLE, new_axes, new_axes_row, step_ticks
from .vocabulary import KERNEL_WORDS, words

__all__ = [
    "plot_accuracy_vs_T",
    "plot_cumulative_accuracy",
    "plot_calibration",
    "plot_channel_bias",
    "plot_rate_vs_activation",
    "plot_speedup",
    "plot_peers",
    "plot_bandwidth",
]

SOURCES = ("qcfs", "relu")
METHODS = ("ann", "parallel", "parallel_calibrated", "if", "training_free")
MODES = ("sequential_if", "faithful_parallel", "collapsed_parallel", "ann_forward")
_MARKERS = {"parallel": "o", "parallel_calibrated": "s", "if": "v", "training_free": "D",
            "faithful_parallel": "o", "collapsed_parallel": "s", "ann_forward": "x"}
_LINESTYLES = {"qcfs": "-", "relu": "--"}


def _check_rows(rows, keys, name):
    if not isinstance(rows, (list, tuple)) or not rows:
        raise ValueError(f"{name} must be a non-empty list of dicts")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise TypeError(f"{name}[{i}] must be a dict, got {type(row).__name__}")
        missing = [k for k in keys if k not in row]
        if missing:
            raise ValueError(f"{name}[{i}] lacks the keys {missing}")


def _log2_T_axis(ax, Ts):
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted(set(Ts)), [str(t) for t in sorted(set(Ts))])
    ax.minorticks_off()
    ax.set_xlabel("time steps T")


def check_accuracy_rows(rows, name="rows"):
    """The demo's rows as :func:`plot_accuracy_vs_T` needs them (also used by
    ``refsnn figures`` to check a results file before it draws anything)."""
    _check_rows(rows, ("source", "method", "T", "accuracy"), name)
    for i, row in enumerate(rows):
        if row["source"] not in SOURCES:
            raise ValueError(f"{name}[{i}]['source'] must be one of {list(SOURCES)}, got {row['source']!r}")
        if row["method"] not in METHODS:
            raise ValueError(f"{name}[{i}]['method'] must be one of {list(METHODS)}, got {row['method']!r}")
        if row["method"] != "ann":
            as_int(f"{name}[{i}]['T']", row["T"])
        as_float(f"{name}[{i}]['accuracy']", row["accuracy"], "[0, 1]")


#: Horizontal dodge (a factor on the log-2 T axis) per method, so that series measured at
#: the same T (IF and training-free at T = 8 … 32) do not hide each other.
_DODGE = {"parallel": 1.0, "parallel_calibrated": 1.05, "if": 0.93, "training_free": 1.08}


def _steps_note(source, method):
    """", T ≠ T̃" for a QCFS source's parallel SNN off its level; a ReLU source has no T̃."""
    return ", T ≠ T̃" if source == "qcfs" and method == "parallel" else ""


def _lossless(row):
    """A parallel row at T = T̃: the SNN agrees with its ANN and every rate error is 0."""
    return (row["method"] == "parallel" and row.get("agreement") == 1.0
            and bool(row.get("rate_error")) and max(row["rate_error"]) == 0.0)


def plot_accuracy_vs_T(rows, ax=None, n_test=None):
    """Test accuracy against the number of steps T, one series per (source, method).

    Parameters
    ----------
    rows : list of dict
        The demo's JSON rows, each with ``"source"`` ("qcfs" or "relu"), ``"method"``
        ("ann", "parallel", "parallel_calibrated", "if" or "training_free"), ``"T"`` and
        ``"accuracy"`` (a fraction in [0, 1]); ``"agreement"`` and ``"rate_error"`` are
        used when present. ANN rows are drawn as horizontal lines.
    ax : matplotlib.axes.Axes, optional
    n_test : int, optional
        The number of test images; the title then says what one image is worth, so that
        a reader can tell a difference of one image from a real one.

    Returns
    -------
    fig, ax
        One line per (source, method) with gid ``"<source>/<method>"``. A parallel SNN at
        T = T̃ (agreement 1 and zero rate error: lossless, Theorem 4.1) is drawn apart, as
        a star with gid ``"<source>/parallel_lossless"``, and not joined to the parallel
        SNNs at T ≠ T̃, which are not lossless. Series measured at the same T are dodged
        sideways a little (:data:`_DODGE`), IF with hollow markers on top, so none hides
        another.
    """
    check_accuracy_rows(rows)
    if n_test is not None:
        as_int("n_test", n_test)
    fig, ax = new_axes(ax, figsize=(6.8, 4.4))
    for source in SOURCES:
        ann = sorted({float(r["accuracy"]) for r in rows if r["source"] == source and r["method"] == "ann"})
        for acc in ann:
            ax.axhline(100 * acc, color=COLORS["ann"], ls=_LINESTYLES[source], lw=1, alpha=0.6,
                       label=f"{words(source)} ANN ({100 * acc:.1f}%)", gid=f"{source}/ann")
        lossless = sorted((int(r["T"]), float(r["accuracy"])) for r in rows
                          if r["source"] == source and _lossless(r))
        if lossless:
            Ts, acc = zip(*lossless)
            ax.plot(Ts, 100 * np.array(acc), ls="none", marker="*", ms=13, color=COLORS["parallel"],
                    markeredgecolor="black", zorder=5, label=f"{words(source)} → parallel SNN, T = T̃ (lossless)",
                    gid=f"{source}/parallel_lossless")
        for method in METHODS[1:]:
            sel = sorted((int(r["T"]), float(r["accuracy"])) for r in rows
                         if r["source"] == source and r["method"] == method and not _lossless(r))
            if sel:
                Ts, acc = zip(*sel)
                hollow = method == "if"
                ax.plot(np.array(Ts) * _DODGE[method], 100 * np.array(acc), ls=_LINESTYLES[source],
                        marker=_MARKERS[method], color=COLORS[method], ms=7 if hollow else 5,
                        markerfacecolor="white" if hollow else COLORS[method], zorder=4 if hollow else 3,
                        label=f"{words(source)} → {words(method)}" + _steps_note(source, method),
                        gid=f"{source}/{method}")
    _log2_T_axis(ax, [int(r["T"]) for r in rows if r["method"] != "ann"] or [int(rows[0]["T"])])
    ax.set_ylabel("test accuracy (%)")
    title = "Accuracy of the converted SNN against T"
    if n_test is not None:
        title += f"\n({n_test} test images: one image = {100 / n_test:.2f} points)"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    return fig, ax


def plot_cumulative_accuracy(per_step_accuracy, labels=None, ax=None):
    """Cumulative accuracy after each step t: argmax of the logits summed over 1..t.

    The authors' code records this as ``tot[t]`` and reports the last step (see
    ``tutorials/00_notation.md``, "Evaluation and timing in the released code").

    Parameters
    ----------
    per_step_accuracy : array_like of shape (T,), list of such arrays, or dict label → array
        Fractions in [0, 1]. Several curves may have different T.
    labels : list of str, optional
        One label per curve (not with a dict).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    fig, ax
    """
    if isinstance(per_step_accuracy, dict):
        if labels is not None:
            raise ValueError("labels must be None when per_step_accuracy is a dict")
        labels, curves = list(per_step_accuracy), list(per_step_accuracy.values())
    else:
        try:
            single = np.asarray(per_step_accuracy, dtype=float).ndim == 1
        except (TypeError, ValueError):  # ragged: curves of different lengths
            single = False
        curves = [per_step_accuracy] if single else list(per_step_accuracy)
    if not curves:
        raise ValueError("per_step_accuracy must hold at least one curve")
    curves = [as_float_array("per_step_accuracy", c, np.float64, ndim=1) for c in curves]
    if any(c.size == 0 or c.min() < 0 or c.max() > 1 for c in curves):
        raise ValueError("per_step_accuracy must hold non-empty curves of fractions in [0, 1]")
    if labels is not None and len(labels) != len(curves):
        raise ValueError(f"labels must have one entry per curve ({len(curves)}), got {len(labels)}")
    fig, ax = new_axes(ax, figsize=(5.6, 4.0))
    for i, c in enumerate(curves):
        ax.plot(np.arange(1, c.size + 1), 100 * c, marker="o", ms=3, color=CYCLE[i % len(CYCLE)],
                label=None if labels is None else str(labels[i]))
    step_ticks(ax, "x")
    ax.set_xlabel("time step t")
    ax.set_ylabel("cumulative accuracy (%)")
    ax.set_title("Accuracy from the logits summed over steps 1..t", fontsize=10)
    if labels is not None:
        ax.legend(fontsize=8)
    return fig, ax


def plot_calibration(errors_before, errors_after, layer_names=None, ax=None,
                     ylabel="mean rate error / θ"):
    """Per-layer mean error before and after DA-QCFS calibration, as grouped bars.

    Parameters
    ----------
    errors_before, errors_after : array_like, shape (L,)
        One mean error per layer (for example the demo rows' ``rate_error``).
    layer_names : list of str, optional
        Defaults to "1", "2", ...
    ax : matplotlib.axes.Axes, optional
    ylabel : str

    Returns
    -------
    fig, ax
        Bar containers with gids ``"before"`` and ``"after"``.
    """
    before = as_float_array("errors_before", errors_before, np.float64, ndim=1)
    after = as_float_array("errors_after", errors_after, np.float64, ndim=1)
    if before.shape != after.shape or before.size == 0:
        raise ValueError(f"errors_before and errors_after must have the same non-empty length, "
                         f"got {before.size} and {after.size}")
    names = [str(i) for i in range(1, before.size + 1)] if layer_names is None else list(layer_names)
    if len(names) != before.size:
        raise ValueError(f"layer_names must have {before.size} entries, got {len(names)}")
    x = np.arange(before.size)
    fig, ax = new_axes(ax, figsize=(max(4.0, 0.6 * before.size + 2.5), 3.8))
    ax.bar(x - 0.2, before, width=0.4, color=COLORS["before"], label="before (QCFS)", gid="before")
    ax.bar(x + 0.2, after, width=0.4, color=COLORS["after"], label="after (DA-QCFS)", gid="after")
    ax.axhline(0.0, color=COLORS["guide"], lw=1)
    ax.set_xticks(x, names)
    ax.set_xlabel("layer")
    ax.set_ylabel(ylabel)
    ax.set_title("Calibration: per-layer mean error before and after DA-QCFS", fontsize=10)
    ax.legend(fontsize=8)
    return fig, ax


def plot_channel_bias(before, after, layer_names=None, axes=None):
    """The signed bias of every channel, before and after DA-QCFS calibration, per layer.

    The bias of a channel is the mean over batch and space of (SNN rate − ANN
    activation): the per-channel shift that ψ_DA and φ_DA are calibrated to remove
    (DA-QCFS calibration). The per-sample noise around it, which calibration cannot
    remove, is not shown (it is in the rows' ``rate_error``).

    Parameters
    ----------
    before, after : list of array_like
        One (C_l,) array of signed biases per layer (the rows' ``channel_bias``).
    layer_names : list of str, optional
    axes : sequence of matplotlib Axes, optional
        One per layer.

    Returns
    -------
    fig, axes
        Per panel two line series with gids ``"before"`` and ``"after"``, x = channel 1..C.
    """
    from matplotlib.ticker import MaxNLocator

    if not isinstance(before, (list, tuple)) or not isinstance(after, (list, tuple)) or not before \
            or len(before) != len(after):
        raise ValueError("before and after must be non-empty lists with one array per layer, of equal length")
    before = [as_float_array(f"before[{i}]", b, np.float64, ndim=1) for i, b in enumerate(before)]
    after = [as_float_array(f"after[{i}]", a, np.float64, ndim=1) for i, a in enumerate(after)]
    for i, (b, a) in enumerate(zip(before, after)):
        if b.shape != a.shape or b.size == 0:
            raise ValueError(f"layer {i}: before and after must have the same non-empty number of channels")
    names = [f"layer {i}" for i in range(1, len(before) + 1)] if layer_names is None else list(layer_names)
    if len(names) != len(before):
        raise ValueError(f"layer_names must have {len(before)} entries, got {len(names)}")
    fig, axes = new_axes_row(axes, len(before), figsize=(4.2 * len(before), 3.6))
    for ax, b, a, name in zip(axes, before, after, names):
        channels = np.arange(1, b.size + 1)
        ax.axhline(0.0, color=COLORS["guide"], lw=1)
        ax.plot(channels, b, "o", color=COLORS["before"], ms=5, label="before (no calibration)", gid="before")
        ax.plot(channels, a, "s", color=COLORS["after"], ms=4, label="after DA-QCFS calibration", gid="after")
        ax.set_xlabel("channel")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"{name}: mean |bias| {np.abs(b).mean():.4f} → {np.abs(a).mean():.4f}", fontsize=9)
    axes[0].set_ylabel("per-channel bias of SNN rate − ANN activation")
    axes[0].legend(fontsize=7)
    return fig, axes


def _pearson(a, b):
    if a.size < 2 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def plot_rate_vs_activation(activations, rates, layer_names=None, axes=None, max_points=2000, ncols=4):
    """SNN rate against ANN activation, one scatter panel per layer (SNN Toolbox style).

    Each panel shows the y = x line and the Pearson correlation r in its title. A
    converted network is healthy when every layer's points hug the line.

    Parameters
    ----------
    activations, rates : list of array_like
        One array per layer (any shape; flattened), same sizes layer by layer.
    layer_names : list of str, optional
    axes : sequence of Axes, optional
        One per layer.
    max_points : int
        At most this many points per panel, a fixed-seed random subset (r uses all).
    ncols : int
        Panels per row of a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : numpy.ndarray of Axes, one per layer
    """
    if len(activations) != len(rates) or len(activations) == 0:
        raise ValueError(f"activations and rates must be non-empty lists of equal length, "
                         f"got {len(activations)} and {len(rates)}")
    acts = [as_float_array(f"activations[{i}]", a, np.float64).ravel() for i, a in enumerate(activations)]
    rts = [as_float_array(f"rates[{i}]", r, np.float64).ravel() for i, r in enumerate(rates)]
    for i, (a, r) in enumerate(zip(acts, rts)):
        if a.size != r.size or a.size == 0:
            raise ValueError(f"layer {i}: activations and rates must have the same non-zero size, "
                             f"got {a.size} and {r.size}")
    n = len(acts)
    names = [f"layer {i + 1}" for i in range(n)] if layer_names is None else list(layer_names)
    if len(names) != n:
        raise ValueError(f"layer_names must have {n} entries, got {len(names)}")
    if axes is None:
        import matplotlib.pyplot as plt

        cols = min(n, ncols)
        rows = -(-n // cols)
        fig, grid = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.1 * rows), layout="constrained",
                                 squeeze=False)
        for extra in grid.ravel()[n:]:
            extra.set_visible(False)
        axes = grid.ravel()[:n]
    else:
        fig, axes = new_axes_row(axes, n)
    rng = np.random.default_rng(0)
    for ax, a, r, name in zip(axes, acts, rts, names):
        keep = rng.permutation(a.size)[:max_points] if a.size > max_points else slice(None)
        lo, hi = min(a.min(), r.min()), max(a.max(), r.max())
        ax.plot([lo, hi], [lo, hi], color=COLORS["guide"], lw=1, ls="--")
        ax.scatter(a[keep], r[keep], s=6, alpha=0.4, color=COLORS["parallel"], linewidths=0)
        ax.set_title(f"{name}: r = {_pearson(a, r):.3f}", fontsize=10)
        ax.set_xlabel("ANN activation")
        ax.set_ylabel("SNN rate θ_post·N/T (θ_post = θ + φ_DA)")
    return fig, axes


def check_bench_rows(bench):
    """The benchmark JSON as the bench figures need it (also used by ``refsnn figures`` to
    check a results file before it draws anything)."""
    if not isinstance(bench, dict):
        raise TypeError(f"bench must be a dict (the benchmark JSON), got {type(bench).__name__}")
    for key in ("copy_gbps", "neuron", "network"):
        if key not in bench:
            raise ValueError(f"bench lacks the key {key!r}")
    _check_rows(bench["network"], ("mode", "T", "batch", "seconds"), "bench['network']")
    _check_rows(bench["neuron"], ("kernel", "T", "N", "seconds", "gbps"), "bench['neuron']")
    for i, row in enumerate(bench["network"]):
        if row["mode"] not in MODES:
            raise ValueError(f"bench['network'][{i}]['mode'] must be one of {list(MODES)}, got {row['mode']!r}")


_PEER_LABELS = {"if_neuron": "IF neuron", "parallel_neuron": "parallel neuron", "ann_forward": "ANN forward",
                "collapsed_parallel": "collapsed", "faithful_parallel": "faithful", "sequential_if": "sequential IF",
                "train_step": "training step", "spikingjelly": "SpikingJelly", "snntorch": "snnTorch"}


def plot_peers(bench, ax=None):
    """refsnn against PyTorch and its SNN libraries: peer time / refsnn time per row.

    One horizontal bar per row of ``bench["peers"]["rows"]`` (``refsnn bench --peers``),
    on a log scale with a line at 1: a bar to the right of it means refsnn is faster.

    Parameters
    ----------
    bench : dict
        The benchmark JSON with a ``"peers"`` entry holding ``rows`` of ``{"peer",
        "what", "T", "batch", "ratio"}``.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    fig, ax
        Bars have gids ``"<peer>/<what>/T=<T>/batch=<batch>"``.
    """
    if not isinstance(bench, dict) or "rows" not in bench.get("peers", {}):
        raise ValueError("bench has no measured 'peers' rows (run refsnn bench --peers with torch installed)")
    rows = bench["peers"]["rows"]
    _check_rows(rows, ("peer", "what", "T", "batch", "ratio"), "bench['peers']['rows']")
    fig, ax = new_axes(ax, figsize=(6.0, 0.25 * len(rows) + 1.2))
    labels = []
    for i, r in enumerate(rows):
        T = "" if r["T"] is None else f", T = {r['T']}"
        size = "N" if r["what"].endswith("neuron") else "batch"
        what, peer = _PEER_LABELS.get(r["what"], r["what"]), _PEER_LABELS.get(r["peer"], r["peer"])
        labels.append(f"{what} vs {peer}{T}, {size} {r['batch']}")
        ratio = float(r["ratio"])
        bar = ax.barh(i, abs(ratio - 1), left=min(ratio, 1.0),  # from 1 to the ratio
                      color=COLORS["parallel"] if ratio >= 1 else COLORS["if"], height=0.7)
        bar.patches[0].set_gid(f"{r['peer']}/{r['what']}/T={r['T']}/batch={r['batch']}")
        ax.text(max(ratio, 1) * 1.03, i, f"{ratio:.2f}×", va="center", fontsize=7)
    ax.axvline(1.0, color=COLORS["guide"], lw=1)
    ax.set_xscale("log")
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("peer time / refsnn time (> 1: refsnn faster)")
    threads = bench["peers"].get("threads", 1)
    ax.set_title(f"refsnn against its peers on the CPU ({threads} thread{'s' if threads > 1 else ''})", fontsize=10)
    return fig, ax


def plot_speedup(bench, axes=None, bandwidth=True):
    """Speed-up of the parallel network modes over the sequential IF network.

    Speed-up = seconds of ``sequential_if`` / seconds of the mode, at the same T and batch
    (the row's own ``"speedup"`` where the benchmark gives one: ``refsnn bench`` takes it
    within each round, the number its table prints), one line per (mode, batch), on a log scale; ``ann_forward`` rows (the ANN's own forward
    pass, the cost that collapsed inference approaches) are drawn in grey. The paper's speed
    claim is for T >= 32 on a GPU at batch size 1, where the faithful form runs the T copies
    side by side (see ``tutorials/00_notation.md``, "Evaluation and timing in the released code").

    Parameters
    ----------
    bench : dict
        The benchmark JSON: ``{"copy_gbps": float, "neuron": [{"kernel", "T", "N",
        "seconds", "gbps"}], "network": [{"mode", "T", "batch", "seconds"}]}``.
    axes : sequence of 1 or 2 Axes, optional
    bandwidth : bool
        Add a second panel, :func:`plot_bandwidth`.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : numpy.ndarray of 1 or 2 Axes
        Speed-up lines have gids ``"<mode>/batch=<batch>"``.
    """
    check_bench_rows(bench)
    fig, axes = new_axes_row(axes, 2 if bandwidth else 1, figsize=(13, 4.2) if bandwidth else (5.6, 4.0))
    ax = axes[0]
    base = {(int(r["T"]), int(r["batch"])): float(r["seconds"]) for r in bench["network"]
            if r["mode"] == "sequential_if"}
    if not base:
        raise ValueError("bench['network'] has no 'sequential_if' rows to compare against")
    batches = sorted({int(r["batch"]) for r in bench["network"]})
    styles = ["-", "--", ":", "-."]
    for mode in MODES[1:]:
        for j, batch in enumerate(batches):
            pts = sorted((int(r["T"]), _speedup(r, base[(int(r["T"]), batch)]))
                         for r in bench["network"] if r["mode"] == mode and int(r["batch"]) == batch
                         and (int(r["T"]), batch) in base)
            if pts:
                Ts, s = zip(*pts)
                color = {"faithful_parallel": COLORS["parallel"], "collapsed_parallel": COLORS["parallel_calibrated"],
                         "ann_forward": COLORS["guide"]}[mode]
                label = words(mode)
                ax.plot(Ts, s, marker=_MARKERS[mode], ls=styles[j % 4], color=color,
                        lw=1 if mode == "ann_forward" else 1.5,
                        label=f"{label}, batch {batch}", gid=f"{mode}/batch={batch}")
    ax.axhline(1.0, color=COLORS["guide"], lw=1)
    ax.axhspan(19, 38, color=COLORS["guide"], alpha=0.15, lw=0,
               label="paper: 19–38× (GPU, batch 1, T ≥ 32)")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
    _log2_T_axis(ax, [T for T, _ in base])
    ax.set_ylabel("speed-up over sequential IF (×)")
    ax.set_title("Network speed-up of the parallel neuron", fontsize=10)
    ax.legend(fontsize=8)
    if bandwidth:
        plot_bandwidth(bench, ax=axes[1])
    return fig, axes


def _speedup(row, base_seconds):
    """A benchmark row's speed-up over sequential IF: its ``"speedup"``, or the ratio of times."""
    return float(row["speedup"]) if "speedup" in row else base_seconds / float(row["seconds"])


def plot_bandwidth(bench, ax=None):
    """Neuron-kernel throughput in GB/s against T, with the memory-copy bandwidth as a line.

    Parameters
    ----------
    bench : dict
        The benchmark JSON (see :func:`plot_speedup`).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    fig, ax
    """
    check_bench_rows(bench)
    fig, ax = new_axes(ax, figsize=(5.6, 4.0))
    keys = sorted({(str(r["kernel"]), int(r["N"])) for r in bench["neuron"]})
    for i, (kernel, N) in enumerate(keys):
        pts = sorted((int(r["T"]), float(r["gbps"])) for r in bench["neuron"]
                     if str(r["kernel"]) == kernel and int(r["N"]) == N)
        Ts, g = zip(*pts)
        ax.plot(Ts, g, marker="o", color=CYCLE[i % len(CYCLE)], label=f"{words(kernel, KERNEL_WORDS)}, {N:,} neurons")
    copies = sorted((int(r["T"]), float(r["gbps"])) for r in bench.get("copy", []) if r.get("kind") == "copy")
    if copies:  # the copy bandwidth measured at each T, in the same rounds as the kernels
        Ts, g = zip(*copies)
        ax.plot(Ts, g, color=COLORS["ann"], ls="--", lw=1.5, label="memory copy (np.copyto)")
    else:
        ax.axhline(float(bench["copy_gbps"]), color=COLORS["ann"], ls="--", lw=1,
                   label=f"memory copy ({float(bench['copy_gbps']):.1f} GB/s)")
    _log2_T_axis(ax, [int(r["T"]) for r in bench["neuron"]])
    ax.set_ylabel("throughput (GB/s)")
    ax.set_ylim(bottom=0)
    ax.set_title("Neuron kernels against memory bandwidth", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return fig, ax
