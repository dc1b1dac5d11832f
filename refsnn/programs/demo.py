"""``refsnn demo``: the paper's experiments in miniature, on the embedded digits.

1. Train (or load from the cache) a small QCFS CNN at T̃ = 4 and a ReLU CNN, seeded.
2. Convert them and report, in the spirit of the paper's tables:
   the ANNs; QCFS → parallel SNN at T = T̃ (lossless, Theorem 4.1); QCFS → IF SNN at
   T̃, 8, 16 and 32 (the sequential baseline); QCFS → parallel SNN at T ≠ T̃ without and
   with DA-QCFS calibration; ReLU → training-free parallel SNN at T = 4 … 64; and the
   measured time of sequential IF inference against parallel inference.
   Every SNN row also reports its agreement with its source ANN's predictions and the
   mean absolute error between each layer's SNN rate and the ANN activation it replaces.
"""

import time
import warnings
from functools import partial

import numpy as np

from .._checks import as_int
from ..networks.activations import QCFS, ReLU
from ..networks.conversion import activation_outputs, calibrate, record_thresholds, to_if_snn, to_parallel_snn
from ..networks.data import load_digits
from ..networks.models import build_cnn
from ..networks.training import fit, predict
from ..threads import thread_setting
from .cache import array_digest, cache_path, check_cache, trained
from .experiments import run_depth
from .outputs import json_output
from .results import ann_row, snn_row

#: Everything that determines the trained weights; part of the cache key.
CONFIG = {
    "dataset": "digits",
    "architecture": "conv3x3(1->16)-act-avgpool2-conv3x3(16->32)-act-avgpool2-flatten-linear(128->10)",
    "epochs": 30,
    "batch_size": 32,
    "lr": 3e-3,
    "qcfs_theta0": 2.0,
    "qcfs_levels": 4,
}
T_TILDE = CONFIG["qcfs_levels"]
IF_STEPS = (T_TILDE, 8, 16, 32)
OTHER_STEPS = (2, 8)
TRAINING_FREE_STEPS = (4, 8, 16, 32, 64)
TIMING_STEPS = (4, 32)
#: The "stronger" block: the ``depth`` experiment's deepest MLP on the demo's seed.
STRONGER = {"depths": (12,), "if_multiples": (1, 2, 4, 8)}


def _cache_path(kind, seed, data):
    """The cache file of the demo's ``kind`` ("qcfs" or "relu") CNN for ``seed``, trained
    on the training split of ``data`` (its digest is part of the key)."""
    return cache_path(f"digits-{kind}", seed,
                      {**CONFIG, "kind": kind, "seed": seed, "data": array_digest(data[0], data[1])})


def trained_networks(data, seed=0, retrain=False, log=print, cache=True):
    """Train the QCFS and ReLU CNNs (:func:`refsnn.networks.models.build_cnn`), or load
    them from the cache; returns (qcfs_net, relu_net). ``cache=False`` saves neither."""
    factories = {
        "qcfs": lambda: QCFS(CONFIG["qcfs_theta0"], CONFIG["qcfs_levels"]),
        "relu": ReLU,
    }
    nets = {}
    for offset, (kind, factory) in enumerate(factories.items()):
        train = partial(_train_cnn, kind, factory, data, seed + offset, log)
        nets[kind] = trained(_cache_path(kind, seed, data), train, retrain, log,
                             loaded=f"loaded the {kind.upper()} CNN from the cache", saved="  cached at", cache=cache)
    return nets["qcfs"], nets["relu"]


def _train_cnn(kind, activation, data, seed, log):
    """The demo CNN with weights drawn from ``seed``, trained with batches shuffled by
    ``seed + 10``; logs every 10th epoch and the time taken."""
    net = build_cnn(activation, np.random.default_rng(seed))
    start = time.perf_counter()

    def progress(epoch, loss, acc):  # epoch counts from 1
        if epoch % 10 == 0 or epoch == CONFIG["epochs"]:
            log(f"  {kind.upper():4} epoch {epoch:2}/{CONFIG['epochs']}: loss {loss:.3f}, train accuracy {acc:.3f}")

    log(f"training the {kind.upper()} CNN ({CONFIG['epochs']} epochs) ...")
    fit(net, data[0], data[1], epochs=CONFIG["epochs"], batch_size=CONFIG["batch_size"],
        lr=CONFIG["lr"], rng=np.random.default_rng(seed + 10), progress=progress)
    log(f"  done in {time.perf_counter() - start:.1f} s with {thread_setting()}")
    return net


def _shown_steps(T):
    """The steps t at which a per-step curve is printed: 1, 2, 4, … and T."""
    return sorted({2 ** k for k in range(T.bit_length()) if 2 ** k <= T} | {T})


def _timing(net, X, T, repeats=3):
    """Median seconds of predict() for sequential IF, faithful and collapsed parallel."""
    runs = {
        "sequential_if": lambda: to_if_snn(net, T).predict(X),
        "faithful_parallel": lambda: to_parallel_snn(net, T).predict(X, mode="faithful"),
        "collapsed_parallel": lambda: to_parallel_snn(net, T).predict(X, mode="collapsed"),
    }
    result = {}
    for mode, run in runs.items():
        run()  # warm-up: compiles the kernels
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        result[mode] = float(np.median(times))
    return result


def _reference(net, X, y):
    """What the SNNs converted from ``net`` are compared with: (X, y, the ANN's
    predictions, its activation outputs)."""
    return X, y, predict(net, X), activation_outputs(net, X)


def _snn_row(source, method, T, snn, reference, log):
    """:func:`refsnn.programs.results.snn_row` against ``reference``, logged as one line."""
    row = snn_row(source, method, T, snn, *reference)
    log(f"  {row['source']:4} {row['method']:20} T={row['T']:<3} accuracy {row['accuracy']:.4f}  "
        f"agreement {row['agreement']:.4f}  rate error {' '.join(f'{e:.4f}' for e in row['rate_error'])}")
    return row


def _qcfs_rows(net, X_train, reference, calibration, log):
    """QCFS ANN → the parallel SNN at T = T̃ (lossless, Theorem 4.1), IF SNNs at
    ``IF_STEPS``, and parallel SNNs at ``OTHER_STEPS`` without and with DA-QCFS calibration."""
    log("QCFS ANN -> SNNs")
    rows = [_snn_row("qcfs", "parallel", T_TILDE, to_parallel_snn(net, T_TILDE), reference, log)]
    for T in IF_STEPS:
        rows.append(_snn_row("qcfs", "if", T, to_if_snn(net, T), reference, log))
    for T in OTHER_STEPS:
        rows.append(_snn_row("qcfs", "parallel", T, to_parallel_snn(net, T), reference, log))
        calibrated = calibrate(net, X_train, T, **calibration)
        rows.append(_snn_row("qcfs", "parallel_calibrated", T, to_parallel_snn(calibrated, T), reference, log))
    return rows


def _training_free_rows(net, X_train, reference, calibration, log):
    """ReLU ANN → record thresholds, calibrate DA-QCFS, convert: parallel SNNs at
    ``TRAINING_FREE_STEPS``. The warnings of :func:`record_thresholds` (silent channels)
    are logged as notes."""
    log("ReLU ANN -> training-free parallel SNNs (record thresholds, calibrate DA-QCFS, convert)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        clip_net = record_thresholds(net, X_train)
    for w in caught:
        log(f"  note: {w.message}")
    rows = []
    for T in TRAINING_FREE_STEPS:
        calibrated = calibrate(clip_net, X_train, T, **calibration)
        rows.append(_snn_row("relu", "training_free", T, to_parallel_snn(calibrated, T), reference, log))
    return rows


def _per_step_accuracy(net, X, y, log):
    """Accuracy of the logits summed over steps 1..t, for every t, of a few SNNs of
    ``net``: what the authors' code records as tot[t] (see ``tutorials/00_notation.md``,
    "Evaluation and timing in the released code"). A dict label → list of T accuracies."""
    log("per-step cumulative accuracy of a few SNNs (logits summed over steps 1..t)")
    snns = {
        f"QCFS parallel T={T_TILDE}, paper order": to_parallel_snn(net, T_TILDE),
        f"QCFS parallel T={T_TILDE}, code order": to_parallel_snn(net, T_TILDE, order="code"),
        "QCFS IF T=32": to_if_snn(net, 32),
    }
    curves = {}
    for label, snn in snns.items():
        curve = (snn.cumulative_predictions(X) == y).mean(axis=1).tolist()
        curves[label] = curve
        log(f"  {label:32} " + "  ".join(f"t={t} {curve[t - 1]:.3f}" for t in _shown_steps(len(curve))))
    return curves


def _timing_rows(net, X, log):
    """:func:`_timing` at every T of ``TIMING_STEPS``, one row each."""
    log(f"timing: predict() on the test set, median of 3 runs after a warm-up, with {thread_setting()}")
    rows = []
    for T in TIMING_STEPS:
        t = _timing(net, X, T)
        rows.append({"T": T, **t})
        log(f"  T={T:<3} sequential IF {t['sequential_if']:.3f} s, faithful parallel {t['faithful_parallel']:.3f} s "
            f"({t['sequential_if'] / t['faithful_parallel']:.1f}x), collapsed parallel {t['collapsed_parallel']:.4f} s "
            f"({t['sequential_if'] / t['collapsed_parallel']:.0f}x)")
    return rows


def _stronger_rows(data, seed, retrain, log, cache):
    """The "stronger" block: the ``depth`` experiment at ``STRONGER`` on the demo's seed."""
    log(f"stronger: a deep QCFS MLP ({STRONGER['depths'][0]} spiking layers, T~ = {T_TILDE}), "
        "where the IF neuron's unevenness error compounds layer by layer")
    return run_depth("digits", data, [seed], config=STRONGER, retrain=retrain, log=log, cache=cache)


def run_demo(seed=0, retrain=False, phi_update="ema_residual", calibration_epochs=5, log=print):
    """Run every experiment and return the JSON-ready result dict.

    ``seed`` must be an integer >= 0 (TypeError or ValueError naming it otherwise).
    """
    seed = as_int("seed", seed, minimum=0)
    start = time.perf_counter()
    cache = check_cache(log)
    data = load_digits(seed=seed)
    X_train, y_train, X_test, y_test = data
    log(f"digits: {len(X_train)} training and {len(X_test)} test images, 8x8, 10 classes (seed {seed})")
    qcfs_net, relu_net = trained_networks(data, seed, retrain, log, cache)
    qcfs, relu = _reference(qcfs_net, X_test, y_test), _reference(relu_net, X_test, y_test)
    calibration = {"phi_update": phi_update, "epochs": calibration_epochs}
    rows = [ann_row("qcfs", qcfs[2], y_test), ann_row("relu", relu[2], y_test)]
    rows += _qcfs_rows(qcfs_net, X_train, qcfs, calibration, log)
    rows += _training_free_rows(relu_net, X_train, relu, calibration, log)
    per_step_accuracy = _per_step_accuracy(qcfs_net, X_test, y_test, log)
    timing = _timing_rows(qcfs_net, X_test, log)
    stronger = _stronger_rows(data, seed, retrain, log, cache)
    return {"dataset": "digits", "seed": seed, "n_test": int(len(X_test)), "phi_update": phi_update,
            "rows": rows, "timing": timing,
            "per_step_accuracy": per_step_accuracy, "stronger": stronger,
            "seconds": time.perf_counter() - start, "thread_setting": thread_setting()}


def format_table(result):
    """The result rows as a fixed-width text table, each network named in the paper's words
    (:data:`refsnn.plotting.WORDS`), as the figures name it."""
    from ..plotting.vocabulary import words

    lines = [f"{'network':42} {'T':>3}  {'accuracy':>8}  {'agreement':>9}  rate error per layer"]
    for row in result["rows"]:
        T = "-" if row["T"] is None else str(row["T"])
        errors = " ".join(f"{e:.4f}" for e in row["rate_error"]) or "-"
        name = f"{words(row['source'])} " + ("ANN" if row["method"] == "ann" else f"→ {words(row['method'])}")
        lines.append(f"{name:42} {T:>3}  {row['accuracy']:8.4f}  {row['agreement']:9.4f}  {errors}")
    return lines


def findings(result):
    """Plain-language lines comparing the rows: what the paper predicts, and what happened."""
    rows = {(r["source"], r["method"], r["T"]): r for r in result["rows"]}
    pct = lambda x: f"{100 * x:.2f}%"  # noqa: E731
    qcfs_ann, relu_ann = rows["qcfs", "ann", None], rows["relu", "ann", None]
    lossless = rows["qcfs", "parallel", T_TILDE]
    if_same = rows["qcfs", "if", T_TILDE]
    lines = [
        f"parallel SNN at T = T~ = {T_TILDE}: accuracy {pct(lossless['accuracy'])} vs QCFS ANN "
        f"{pct(qcfs_ann['accuracy'])}, agreement {pct(lossless['agreement'])}, max rate error {max(lossless['rate_error']):.2g}",
        f"IF SNN at T = T~ = {T_TILDE}: accuracy {pct(if_same['accuracy'])} ({100 * (if_same['accuracy'] - lossless['accuracy']):+.2f} pp), "
        f"agreement {pct(if_same['agreement'])}, rate error {' '.join(f'{e:.4f}' for e in if_same['rate_error'])}",
    ]
    catch_up = [T for T in IF_STEPS if rows["qcfs", "if", T]["accuracy"] >= lossless["accuracy"]]
    lines.append("IF reaches the parallel SNN's accuracy at T = " + (str(catch_up[0]) if catch_up else
                 f"none of {', '.join(map(str, IF_STEPS))}"))
    for T in OTHER_STEPS:
        before, after = rows["qcfs", "parallel", T], rows["qcfs", "parallel_calibrated", T]
        lines.append(f"T = {T} != T~: calibration changes accuracy {pct(before['accuracy'])} -> {pct(after['accuracy'])}, "
                     f"agreement {pct(before['agreement'])} -> {pct(after['agreement'])}")
    first, last = rows["relu", "training_free", TRAINING_FREE_STEPS[0]], rows["relu", "training_free", TRAINING_FREE_STEPS[-1]]
    lines.append(f"training-free: accuracy {pct(first['accuracy'])} at T = {TRAINING_FREE_STEPS[0]} -> {pct(last['accuracy'])} "
                 f"at T = {TRAINING_FREE_STEPS[-1]} (ReLU ANN {pct(relu_ann['accuracy'])})")
    lines += stronger_findings(result.get("stronger", []))
    for t in result["timing"]:
        lines.append(f"speed at T = {t['T']}: collapsed parallel {t['sequential_if'] / t['collapsed_parallel']:.1f}x and faithful "
                     f"parallel {t['sequential_if'] / t['faithful_parallel']:.1f}x faster than sequential IF")
    return lines


def stronger_findings(rows):
    """The lines of the "stronger" block: the deep MLP's ANN, parallel SNN at T = T̃ and IF
    SNNs, and the first T at which IF reaches the parallel SNN's accuracy."""
    if not rows:
        return []
    pct = lambda x: f"{100 * x:.2f}%"  # noqa: E731
    ann = next(r for r in rows if r["method"] == "ann")
    parallel = next(r for r in rows if r["method"] == "parallel")
    ifs = sorted((r for r in rows if r["method"] == "if"), key=lambda r: r["T"])
    lines = [f"stronger, {ann['depth']} spiking layers: QCFS ANN {pct(ann['accuracy'])}, parallel SNN at T = T~ = "
             f"{parallel['T']} {pct(parallel['accuracy'])} (agreement {pct(parallel['agreement'])}), "
             + ", ".join(f"IF at T = {r['T']} {pct(r['accuracy'])}" for r in ifs)]
    caught = [r["T"] for r in ifs if r["accuracy"] >= parallel["accuracy"]]
    lines.append(f"IF needs T = {caught[0]} to reach the parallel SNN's accuracy at T~ = {parallel['T']}" if caught else
                 f"IF does not reach the parallel SNN's accuracy at T~ = {parallel['T']} by T = {ifs[-1]['T']}")
    return lines


def run(seed=0, retrain=False, json_path=None, phi_update="ema_residual"):
    """Entry point of ``refsnn demo``: run, print the table, optionally write JSON.

    ``json_path`` is checked before the experiments start
    (:func:`refsnn.programs.outputs.json_output`): its folder must exist and be writable;
    ``-`` writes the JSON to standard output and the rest to standard error.
    """
    with json_output(json_path, "json_path") as write_json:
        result = run_demo(seed=seed, retrain=retrain, phi_update=phi_update)
        print()
        print("\n".join(format_table(result)))
        print()
        print("\n".join(findings(result)))
        print(f"\ntotal {result['seconds']:.1f} s with {thread_setting()}")
        write_json(result)
    return result
