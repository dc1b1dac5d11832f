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

The two parallel modes give the same predictions (asserted). The IF network is a
different network: it suffers the unevenness error that the parallel neuron removes, so
its predictions are reported as an agreement rate, not asserted equal.
"""

import numpy as np

from .. import demo
from ...networks.conversion import to_if_snn, to_parallel_snn
from ...networks.data import load_digits
from ...networks.layers import QCFS
from .timing import interleaved, median, median_ratio

MODES = ("sequential_if", "faithful_parallel", "collapsed_parallel")
FULL = {"steps": (4, 8, 16, 32, 64), "batches": (1, 256), "repeats": {1: 7, 256: 3}}
QUICK = {"steps": (4, 16, 64), "batches": (1, 16), "repeats": {1: 3, 16: 3}}


def demo_network(train=True, log=print):
    """The demo's QCFS CNN: trained (from the cache, or trained now if ``train``), else
    an untrained one with the same layers, which times the same.

    Returns
    -------
    net : refsnn.networks.layers.Sequential
    description : str
    X : numpy.ndarray
        The digits test images, float32 (451, 1, 8, 8).
    """
    data = load_digits()
    cached = demo._cache_path("qcfs", 0).exists()
    if cached or train:
        net, _ = demo.trained_networks(data, log=log)
        description = "demo QCFS CNN, trained on the digits (refsnn.programs.demo.trained_networks)"
    else:
        qcfs = lambda: QCFS(demo.CONFIG["qcfs_theta0"], demo.CONFIG["qcfs_levels"])  # noqa: E731
        net = demo.build_cnn(qcfs, np.random.default_rng(0))
        description = "demo QCFS CNN, untrained (refsnn.programs.demo.build_cnn; no cached weights)"
    return net, description, data[2].astype(np.float32)


def _batch(X, B):
    reps = -(-B // X.shape[0])
    return np.ascontiguousarray(np.concatenate([X] * reps)[:B])


def bench_network(net, X, quick=False, log=print, config=None):
    """Seconds per ``predict`` call of each mode at each T and batch size.

    Returns
    -------
    list of dict
        ``{"mode", "T", "batch", "seconds", "speedup"}``, where ``speedup`` is the median
        over interleaved rounds of sequential_if seconds / this mode's seconds, and, for
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
            }, cfg["repeats"][B], warmup=0)  # the predictions above were the warm-up
            for mode in MODES:
                row = {"mode": mode, "T": T, "batch": B, "seconds": median(times[mode]),
                       "speedup": median_ratio(times["sequential_if"], times[mode])}
                if mode == "sequential_if":
                    row["agreement"] = agreement
                rows.append(row)
            log(f"  T={T:<3} batch {B:<4} sequential IF {median(times['sequential_if']) * 1e3:8.2f} ms, "
                f"faithful x{rows[-2]['speedup']:.1f}, collapsed x{rows[-1]['speedup']:.1f} "
                f"(IF agrees on {agreement:.1%})")
    return rows


def format_network(rows):
    """Lines of a table: ms per predict call per mode, and speed-ups over sequential IF."""
    lines = [f"{'T':>3} {'batch':>5} {'sequential IF ms':>17} {'faithful ms':>12} {'collapsed ms':>13} "
             f"{'faithful x':>11} {'collapsed x':>12} {'IF agrees':>10}"]
    by_key = {}
    for row in rows:
        by_key.setdefault((row["T"], row["batch"]), {})[row["mode"]] = row
    for (T, B), modes in sorted(by_key.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        s, f, c = (modes[m] for m in MODES)
        lines.append(f"{T:3} {B:5} {s['seconds'] * 1e3:17.2f} {f['seconds'] * 1e3:12.2f} {c['seconds'] * 1e3:13.3f} "
                     f"{f['speedup']:11.1f} {c['speedup']:12.1f} {s['agreement']:10.1%}")
    lines.append("x = median over interleaved rounds of (sequential IF time / mode time), same run")
    return lines
