"""The demo CNN converted to an SNN and run in its three modes.

The authors' code times SNN inference at batch size 1 (see
``tutorials/00_notation.md``, "Evaluation and timing in the released code"); here batch
1 and a larger batch are timed. ``collapsed_parallel`` is refsnn's addition (see
``tutorials/00_notation.md``, "Collapsed inference").

``sequential_if``
    ``to_if_snn(net, T).predict``: T full forward passes, IF neurons with soft reset.
``faithful_parallel``
    ``to_parallel_snn(net, T).predict(mode="faithful")``: one pass over a T·B batch, as in
    the authors' code; every linear layer still runs on all T copies.
``collapsed_parallel``
    ``predict(mode="collapsed")``: one pass over B carrying time sums; its cost does not
    grow with T.
``ann_forward``
    ``refsnn.networks.training.predict(net, X)``: the QCFS ANN itself, one forward pass
    over B (the yardstick of collapsed inference, which should cost about one ANN pass).

The two parallel modes give the same predictions (asserted). The IF network is a
different network: it suffers the unevenness error that the parallel neuron removes, so
its predictions are reported as an agreement rate, not asserted equal.
"""

import numpy as np

from .. import demo
from ...networks.conversion import to_if_snn, to_parallel_snn
from ...networks.data import load_digits
from ...networks.activations import QCFS
from ...networks.training import predict as ann_predict
from .timing import interleaved, median, median_ratio

MODES = ("sequential_if", "faithful_parallel", "collapsed_parallel", "ann_forward")
FULL = {"steps": (4, 8, 16, 32, 64), "batches": (1, 256), "repeats": {1: 9, 256: 5}}
QUICK = {"steps": (4, 16, 64), "batches": (1, 256), "repeats": {1: 5, 256: 3}}


def demo_network(train=True, log=print):
    """The demo's QCFS CNN: trained (from the cache, or trained now if ``train``), else
    an untrained one with the same layers, which times the same.

    Returns
    -------
    net : refsnn.networks.containers.Sequential
    description : str
    X : numpy.ndarray
        The digits test images, float32 (451, 1, 8, 8).
    """
    data = load_digits()
    cached = demo._cache_path("qcfs", 0, data).exists()
    if cached or train:
        net, _ = demo.trained_networks(data, log=log)
        description = "demo QCFS CNN, trained on the digits (refsnn.programs.demo.trained_networks)"
    else:
        qcfs = lambda: QCFS(demo.CONFIG["qcfs_theta0"], demo.CONFIG["qcfs_levels"])  # noqa: E731
        net = demo.build_cnn(qcfs, np.random.default_rng(0))
        description = "demo QCFS CNN, untrained (refsnn.programs.demo.build_cnn; no cached weights)"
    return net, description, data[2].astype(np.float32)


def _batch(X, B):
    """B images of X, repeated from the start as needed, contiguous."""
    return np.ascontiguousarray(X[np.arange(B) % X.shape[0]])


def bench_network(net, X, quick=False, log=print, config=None):
    """Seconds per ``predict`` call of each mode at each T and batch size.

    Returns
    -------
    list of dict
        ``{"mode", "T", "batch", "seconds", "speedup", "vs_ann"}``, where ``speedup`` is the
        median over interleaved rounds of sequential_if seconds / this mode's seconds,
        ``vs_ann`` the median of this mode's seconds / ann_forward's, and, for
        sequential_if, ``agreement``: the fraction of its predictions that equal the
        parallel network's.
    """
    cfg = config or (QUICK if quick else FULL)
    rows = []
    for T in cfg["steps"]:
        sequential, parallel = to_if_snn(net, T), to_parallel_snn(net, T)
        for B in cfg["batches"]:
            xb = _batch(X, B)
            faithful = parallel.predict(xb, mode="faithful")
            collapsed = parallel.predict(xb, mode="collapsed")
            if not np.array_equal(faithful, collapsed):
                raise AssertionError(f"faithful and collapsed parallel predictions differ at T={T}, batch {B}")
            agreement = float((sequential.predict(xb) == collapsed).mean())
            times = interleaved({
                "sequential_if": lambda: sequential.predict(xb),
                "faithful_parallel": lambda: parallel.predict(xb, mode="faithful"),
                "collapsed_parallel": lambda: parallel.predict(xb, mode="collapsed"),
                "ann_forward": lambda: ann_predict(net, xb),
            }, cfg["repeats"][B], warmup=1)
            for mode in MODES:
                row = {"mode": mode, "T": T, "batch": B, "seconds": median(times[mode]),
                       "speedup": median_ratio(times["sequential_if"], times[mode]),
                       "vs_ann": median_ratio(times[mode], times["ann_forward"])}
                if mode == "sequential_if":
                    row["agreement"] = agreement
                rows.append(row)
            log(f"  T={T:<3} batch {B:<4} sequential IF {median(times['sequential_if']) * 1e3:8.2f} ms, "
                f"faithful x{rows[-3]['speedup']:.1f}, collapsed x{rows[-2]['speedup']:.1f}, "
                f"collapsed / ANN {rows[-2]['vs_ann']:.2f} (IF agrees on {agreement:.1%})")
    return rows


#: The targets the ratios are held against: collapsed inference costs at most
#: 1.3 ANN forward passes, and faithful mode is at least as fast as sequential IF.
COLLAPSED_VS_ANN_MAX = 1.3


def format_network(rows):
    """Lines of a table: ms per predict call per mode, speed-ups over sequential IF, and
    collapsed inference over the ANN's own forward pass, with the targets met or not."""
    lines = [f"{'T':>3} {'batch':>5} {'sequential IF ms':>17} {'faithful ms':>12} {'collapsed ms':>13} "
             f"{'ANN ms':>9} {'faithful x':>11} {'collapsed x':>12} {'collapsed/ANN':>14} {'IF agrees':>10}"]
    by_key = {}
    for row in rows:
        by_key.setdefault((row["T"], row["batch"]), {})[row["mode"]] = row
    misses = []
    for (T, B), modes in sorted(by_key.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        s, f, c, a = (modes[m] for m in MODES)
        lines.append(f"{T:3} {B:5} {s['seconds'] * 1e3:17.2f} {f['seconds'] * 1e3:12.2f} {c['seconds'] * 1e3:13.3f} "
                     f"{a['seconds'] * 1e3:9.3f} {f['speedup']:11.2f} {c['speedup']:12.1f} {c['vs_ann']:14.2f} "
                     f"{s['agreement']:10.1%}")
        if f["speedup"] < 1:
            misses.append(f"faithful slower than sequential IF at T={T}, batch {B} (x{f['speedup']:.2f})")
        if c["vs_ann"] > COLLAPSED_VS_ANN_MAX:
            misses.append(f"collapsed costs {c['vs_ann']:.2f} ANN passes at T={T}, batch {B}")
    lines.append("x = median over interleaved rounds of (sequential IF time / mode time); collapsed/ANN = median of "
                 "(collapsed time / ANN forward time); same run")
    lines.append(f"targets: faithful x >= 1 and collapsed/ANN <= {COLLAPSED_VS_ANN_MAX}: "
                 + ("all met" if not misses else "; ".join(misses)))
    return lines
