"""Regenerate every figure of refsnn, deterministically (``refsnn figures``).

Neuron-level figures (the IF neuron, the parallel conversion neuron, the conversion
matrices, Theorem 4.1, binary search for the first spike step) are always drawn, from
fixed inputs and fixed seeds.
Network-level figures need results files: the demo's JSON (accuracy against T, per-step
cumulative accuracy, calibration) and the benchmark's JSON (speed-up, and refsnn against
its peers when the benchmark ran with ``--peers``). ``refsnn figures`` reads the committed
ones, ``figures/data/demo.json`` and ``figures/data/bench.json`` under the working folder,
unless given others (:func:`committed_results`); a figure whose data are missing is
skipped with a printed note. The files carry no timestamp or software version, so
running twice gives identical bytes.

Two styles: ``"page"``, the figures as the README and the tutorials show them (PNG), and
``"slides"``: 16:9, large type, one message per figure (the two panels of the staircase
and of the speed-up become two slides each), for SVG or PDF.
"""

import json
import os
from pathlib import Path

import numpy as np

from .outputs import save_figure

DPI = 120
SEED = 0
#: The file formats ``refsnn figures --format`` writes, and its styles (``--style``).
FORMATS = ("png", "svg", "pdf")
STYLES = ("page", "slides")
#: The results files ``refsnn figures`` reads when given none, relative to the working
#: folder (the repository's root): the committed demo and benchmark runs.
COMMITTED = {"demo_json": Path("figures", "data", "demo.json"), "bench_json": Path("figures", "data", "bench.json")}
#: Metadata that would make two runs differ (dates, versions), per format: left out.
_NO_METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None},
                "pdf": {"CreationDate": None, "Creator": None, "Producer": None}}

#: The neuron-level figures, in the order a reader meets them, and what each shows.
NEURON_FIGURES = {
    "membrane.png": "one IF neuron: integration, soft resets and a late burst it cannot emit",
    "raster.png": "IF neurons driven by uneven random input, with firing rates",
    "if_vs_parallel.png": "the same input into IF and parallel neurons (paper order)",
    "if_vs_parallel_code.png": "the same, parallel neuron in the authors' code order",
    "conversion_matrices.png": "Λ_pre, Λ_post, Λ_pc and b for T = 6",
    "staircase.png": "QCFS, parallel and IF rates against z, at T = T̃ and T ≠ T̃",
    "expected_error.png": "expected conversion error against ψ, zero at ψ = θ/2",
    "binary_search.png": "binary search for the first spike step, T = 16",
}

#: Input of ``membrane.png``: resets early, then a burst at the last step (mean 0.55).
MEMBRANE_INPUT = (0.4, 0.9, 0.0, 0.7, 0.1, 0.0, 0.2, 2.1)



def tutorial_figures_dir(source=None):
    """The folder a tutorial writes its figures to, created if missing.

    ``$REFSNN_TUTORIAL_FIGURES`` if set, else ``tutorials/output/`` of the repository that
    holds the tutorial (found from ``source``, the tutorial's ``__file__``, or from the
    working directory inside a notebook, which runs in ``tutorials/`` or
    ``tutorials/solutions/``). ``tutorials/output/`` is not under version control, so
    running a tutorial never changes the committed figures in ``figures/tutorials/``,
    which the rendered pages show; regenerating those is an explicit step,
    ``python tutorials/build_notebooks.py --markdown``, which sets
    ``$REFSNN_TUTORIAL_FIGURES`` to ``figures/tutorials/``. The tests point it at a
    temporary folder.
    """
    here = Path(source).resolve().parent if source else Path.cwd()
    if here.name == "solutions":
        here = here.parent
    folder = Path(os.environ.get("REFSNN_TUTORIAL_FIGURES", here / "output"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def uneven_currents(T, N, seed=SEED):
    """Signed random currents of shape (T, N), N(0.45, 1) rounded to multiples of 1/4.

    A quarter grid keeps every sum exact in floating point, so the QCFS level of the mean
    and the parallel count agree even at ties (see ``tutorials/00_notation.md``, "Float ties").
    """
    rng = np.random.default_rng(seed)
    return np.round(rng.normal(0.45, 1.0, (T, N)) * 4) / 4 + 0.0  # + 0.0 turns -0 into 0


def _neuron_figures(style="page"):
    """Yield (file name, figure) for every neuron-level figure."""
    import matplotlib.pyplot as plt

    from .. import plotting as rp
    from ..neurons.integrate_fire import if_neuron

    fig, _ = rp.plot_membrane(np.array(MEMBRANE_INPUT), theta=1.0)
    yield "membrane.png", fig

    rng = np.random.default_rng(SEED)
    T, N = 32, 16
    means = np.linspace(0.05, 0.95, N)
    currents = rng.exponential(1.0, (T, N)) * means
    fig, _ = rp.plot_raster(if_neuron(currents, 1.0),
                            title="IF neurons, T = 32, random input (mean rising with the neuron index)")
    yield "raster.png", fig

    currents = uneven_currents(8, 10)
    annotate = None if style == "page" else False  # on a slide, a colour bar: the numbers are detail
    fig, _ = rp.plot_if_vs_parallel(currents, 1.0, order="paper", annotate=annotate)
    yield "if_vs_parallel.png", fig
    fig, _ = rp.plot_if_vs_parallel(currents, 1.0, order="code", annotate=annotate)
    yield "if_vs_parallel_code.png", fig

    fig, _ = rp.plot_conversion_matrices(6, psi=0.5)
    yield "conversion_matrices.png", fig

    if style == "slides":  # one message per slide: lossless at T = T̃, then zero error on average
        fig, ax = rp.plot_staircase(4, 4)
        ax.set_title("Theorem 4.1, T = T̃ = 4: the parallel rate is the QCFS level, exactly")
        yield "staircase_lossless.png", fig
        fig, ax = rp.plot_staircase(4, 8)
        ax.set_title("Theorem 4.1, T = 4 ≠ T̃ = 8: the error is zero on average over z")
        yield "staircase_expected.png", fig
    else:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained", sharey=True)
        rp.plot_staircase(4, 4, ax=axes[0])
        rp.plot_staircase(4, 8, ax=axes[1])
        fig.suptitle("Theorem 4.1: rates against the mean input z (uneven input I_t ∝ t², mean z)",
                     fontsize=11)
        yield "staircase.png", fig

    fig, _ = rp.plot_expected_error(4, [2, 3, 8, 16])
    yield "expected_error.png", fig

    fig, _ = rp.plot_binary_search(total=5.3, theta=1.0, psi=0.5, T=16)
    yield "binary_search.png", fig


def _load_rows(demo):
    """The demo's rows: the JSON is a list of rows or a dict with a ``"rows"`` list."""
    rows = demo.get("rows") if isinstance(demo, dict) else demo
    if not isinstance(rows, list):
        raise ValueError("it must hold a list of rows or a dict with a 'rows' list")
    return rows


def _check_demo(demo):
    """Raise if ``demo`` is not what :func:`_demo_figures` draws from."""
    from ..plotting.networks import check_accuracy_rows

    check_accuracy_rows(_load_rows(demo))
    curves = demo.get("per_step_accuracy") if isinstance(demo, dict) else None
    if curves is not None and not isinstance(curves, dict):
        raise ValueError("'per_step_accuracy' must map labels to lists of per-step accuracies")


def _check_bench(bench):
    """Raise if ``bench`` is not what :func:`_bench_figures` draws from."""
    from ..plotting.networks import check_bench_rows

    check_bench_rows(bench)


def _demo_figures(demo):
    """Yield (file name, figure) for the figures drawn from the demo's JSON results."""
    from .. import plotting as rp

    rows = _load_rows(demo)
    n_test = demo.get("n_test") if isinstance(demo, dict) else None
    fig, _ = rp.plot_accuracy_vs_T(rows, n_test=n_test if isinstance(n_test, int) and n_test > 0 else None)
    yield "accuracy_vs_T.png", fig

    pairs = {}
    for row in rows:
        if row.get("method") in ("parallel", "parallel_calibrated") and row.get("channel_bias"):
            pairs.setdefault((row["source"], int(row["T"])), {})[row["method"]] = row["channel_bias"]
    pairs = {k: v for k, v in pairs.items() if len(v) == 2}
    if pairs:
        (source, T), pair = min(pairs.items(), key=lambda kv: (kv[0][0] != "qcfs", kv[0][1]))
        fig, axes = rp.plot_channel_bias(pair["parallel"], pair["parallel_calibrated"])
        fig.suptitle(f"DA-QCFS calibration, {source.upper()} ANN converted at T = {T}: what it targets, "
                     "the bias of each channel", fontsize=10)
        yield "calibration.png", fig
    else:
        print("note: the demo JSON has no parallel/parallel_calibrated pair with channel_bias; "
              "skipping calibration.png")

    curves = demo.get("per_step_accuracy") if isinstance(demo, dict) else None
    if curves:
        fig, _ = rp.plot_cumulative_accuracy(dict(curves))
        yield "cumulative_accuracy.png", fig
    else:
        print("note: the demo JSON has no 'per_step_accuracy'; skipping cumulative_accuracy.png")


def _bench_figures(bench, style="page"):
    """Yield (file name, figure) for the figures drawn from the benchmark's JSON."""
    from .. import plotting as rp

    fig, _ = rp.plot_speedup(bench, bandwidth=style != "slides")
    yield "speedup.png", fig
    if style == "slides":  # the page's second panel, a message of its own
        fig, _ = rp.plot_bandwidth(bench)
        yield "bandwidth.png", fig
    if "rows" in bench.get("peers", {}):
        fig, _ = rp.plot_peers(bench)
        yield "peers.png", fig
    else:
        print("note: the benchmark JSON has no peers rows (refsnn bench --peers); skipping peers.png")


#: What each results file holds, for messages, and the check of its content.
_RESULTS = {
    "demo_json": ("the results of 'refsnn demo --json'", _check_demo),
    "bench_json": ("the results of 'refsnn bench --json' (the benchmark)", _check_bench),
}


def _read_results(param, path, name):
    """Read a results file and check that it is of the kind ``param`` expects.

    ``name`` is how the caller knows the file (``demo_json`` or ``--demo-json``); every
    error is a ValueError naming it and ``path``.
    """
    what, check = _RESULTS[param]
    where = f"{name} {str(path)!r}"
    if not Path(path).is_file():
        raise ValueError(f"{where} is not a file; expected {what}")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise ValueError(f"{where} is not valid JSON ({exc}); expected {what}") from None
    except OSError as exc:
        raise ValueError(f"{where} cannot be read ({exc.strerror}); expected {what}") from None
    try:
        check(data)
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"{where} does not hold {what}: {exc}") from None
    return data


def check_inputs(out_dir, demo_json=None, bench_json=None, names=None):
    """Check every input of :func:`make_figures` before anything is drawn or written.

    Parameters
    ----------
    out_dir, demo_json, bench_json
        As for :func:`make_figures`.
    names : dict, optional
        How to name the inputs in messages, e.g. ``{"out_dir": "--out"}`` for the
        command line; by default the parameter names.

    Returns
    -------
    out : pathlib.Path
    demo, bench : the parsed JSON results, or None where no file was given

    Raises
    ------
    ValueError
        Naming the input, if ``out_dir`` cannot be written (see
        :func:`refsnn.programs.outputs.check_output_path`), or a results file is missing, is
        not JSON, or is not of its kind (e.g. the demo's results given as the
        benchmark's).
    """
    from .outputs import check_output_path

    names = {"out_dir": "out_dir", "demo_json": "demo_json", "bench_json": "bench_json", **(names or {})}
    check_output_path(out_dir, names["out_dir"], directory=True)
    demo = None if demo_json is None else _read_results("demo_json", demo_json, names["demo_json"])
    bench = None if bench_json is None else _read_results("bench_json", bench_json, names["bench_json"])
    return Path(out_dir), demo, bench


def committed_results(demo_json=None, bench_json=None):
    """The results files to draw from: each one given, else the committed one
    (:data:`COMMITTED`) where it exists under the working folder, else None.

    Returns
    -------
    demo_json, bench_json : path or None
    """
    given = {"demo_json": demo_json, "bench_json": bench_json}
    return tuple(given[key] if given[key] is not None else (path if path.is_file() else None)
                 for key, path in COMMITTED.items())


def check_style(fmt, style):
    """Raise ValueError unless ``fmt`` is one of :data:`FORMATS` and ``style`` one of :data:`STYLES`."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, got {style!r}")


def make_figures(out_dir, demo_json=None, bench_json=None, fmt="png", style="page"):
    """Write every figure into ``out_dir`` and return the written paths.

    Every input is checked first (:func:`check_inputs`), and every figure is drawn
    before the first file is written, so a bad input writes nothing.

    Parameters
    ----------
    out_dir : str or path
        Output directory; created if missing, but its parent folder must exist.
    demo_json : str or path, optional
        The demo's results (a list of rows, or a dict with ``"rows"`` and optionally
        ``"per_step_accuracy"``: label → list of per-step cumulative accuracies). Without
        it the accuracy and calibration figures are skipped.
    bench_json : str or path, optional
        The benchmark's results. Without it the speed-up figure (and ``peers.png``) is
        skipped; ``peers.png`` also needs the benchmark's ``peers`` rows.
    fmt : {"png", "svg", "pdf"}
        File format, also each file's suffix.
    style : {"page", "slides"}
        ``"page"``: as the README and the tutorials show them. ``"slides"``: 16:9 and large
        type (:func:`refsnn.plotting._style.as_slide`), one message per figure.

    Returns
    -------
    list of pathlib.Path
        The files written, in order.

    Raises
    ------
    ValueError
        As :func:`check_inputs`, or for a format or style not listed above.
    """
    check_style(fmt, style)
    return _write_figures(*check_inputs(out_dir, demo_json, bench_json), fmt, style)


def _write_figures(out, demo, bench, fmt="png", style="page"):
    import matplotlib
    import matplotlib.pyplot as plt

    from ..plotting._style import as_slide

    sources = [_neuron_figures(style)]
    if demo is None:
        print("note: no demo JSON (figures/data/demo.json or --demo-json); skipping accuracy_vs_T, "
              "calibration, cumulative_accuracy")
    else:
        sources.append(_demo_figures(demo))
    if bench is None:
        print("note: no benchmark JSON (figures/data/bench.json or --bench-json); skipping speedup, peers")
    else:
        sources.append(_bench_figures(bench, style))
    drawn, written = [], []
    with matplotlib.rc_context({"figure.dpi": DPI, "savefig.dpi": DPI, "svg.hashsalt": "refsnn"}):
        try:
            for source in sources:  # draw everything before writing anything
                drawn.extend(source)
            if style == "slides":
                for _, fig in drawn:
                    as_slide(fig)
            out.mkdir(exist_ok=True)  # only the folder asked for; its parent was checked
            for name, fig in drawn:
                path = out / f"{Path(name).stem}.{fmt}"
                save_figure(fig, path, dpi=DPI, metadata=_NO_METADATA[fmt])
                written.append(path)
        finally:
            for _, fig in drawn:
                plt.close(fig)
    return written


def run(out_dir="figures", demo_json=None, bench_json=None, fmt="png", style="page"):
    """Entry point of ``refsnn figures``: write the figures and print each path.

    Without ``demo_json`` or ``bench_json`` it reads the committed results
    (:func:`committed_results`) and says so.
    """
    import matplotlib

    matplotlib.use("Agg")
    demo_json, bench_json = _announce(committed_results(demo_json, bench_json), (demo_json, bench_json))
    for path in make_figures(out_dir, demo_json=demo_json, bench_json=bench_json, fmt=fmt, style=style):
        print(path)


def _announce(chosen, given):
    """Print which committed results file stands in for a missing argument; return ``chosen``."""
    for path, asked in zip(chosen, given):
        if asked is None and path is not None:
            print(f"reading the committed results {path.as_posix()}")
    return chosen
