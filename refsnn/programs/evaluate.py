"""``refsnn evaluate``: a checkpoint of the authors' code, as an ANN and as SNNs, on a test set.

The checkpoint is read without torch (:mod:`refsnn.networks.checkpoints`) into the authors'
architecture (:func:`refsnn.networks.zoo.load_authors`); CIFAR images get the authors'
normalisation (:func:`refsnn.networks.data.normalise`). Then, as in ``refsnn experiment``:

* the ANN (``method`` "ann");
* the parallel SNN at every ``T`` (default T̃), in collapsed mode, the cost of one ANN
  pass; at T = T̃ it predicts what the ANN predicts (Theorem 4.1);
* with ``calibrate`` N, the parallel SNN at every ``T`` after DA-QCFS calibration on the
  first N training images ("parallel_calibrated");
* the sequential IF SNN at every ``if_T`` ("if"), T ANN passes each.

A ReLU network (the ``*_relu`` ResNets) has no level T̃ and runs the training-free
pipeline (:mod:`refsnn.networks.conversion`), its stem left analog
(:data:`refsnn.networks.zoo.ANALOG_PREFIX`): thresholds recorded on the first
``calibrate`` N training images (required), then at every ``T`` (required) the parallel
SNN of DA-QCFS with ψ_DA = φ_DA = 0 ("parallel") and after calibration on the same
images ("parallel_calibrated"), and the IF SNN of the recorded thresholds ("if"). The
ANN row is the ReLU network's, and agreement and rate errors compare with it.

The rows have the keys of :func:`refsnn.programs.results.snn_row` plus ``arch``, ``data``
and ``images``. The test set runs in chunks of ``batch_size`` images, and each row averages
its chunks (weighted by their sizes), so memory does not grow with the test set.
"""

import sys
import time

import numpy as np

from .._checks import as_int, check_choice
from ..networks.conversion import activation_outputs, calibrate, record_thresholds, to_if_snn, to_parallel_snn
from ..networks.data import load_cifar10, load_cifar100, load_digits, load_mnist, normalise
from ..networks.fast_snn import COLLAPSED_MAX_T
from ..networks.training import predict
from ..networks.zoo import ANALOG_PREFIX, ARCHITECTURES, load_authors
from ..threads import thread_setting
from .outputs import check_output_path, save_json
from .results import ann_row, snn_row

__all__ = ["DATASETS", "load_test_data", "evaluate", "run"]

DATASETS = ("cifar10", "cifar100", "mnist", "digits")
CLASSES = {"cifar10": 10, "cifar100": 100, "mnist": 10, "digits": 10}


def load_test_data(data, data_dir=None):
    """(X_train, y_train, X_test, y_test) as the checkpoint was trained on: CIFAR normalised."""
    check_choice("data", data, DATASETS)
    if data == "digits":
        return load_digits()
    if data_dir is None:
        raise ValueError(f"--data {data} reads local files: pass --data-dir DIR")
    if data == "mnist":
        return load_mnist(data_dir)
    X_train, y_train, X_test, y_test = (load_cifar10 if data == "cifar10" else load_cifar100)(data_dir)
    return normalise(X_train, data), y_train, normalise(X_test, data), y_test


def _merge(rows, sizes):
    """One row from the rows of the chunks: every mean weighted by the chunk's size, the
    rate bias recomputed from the merged per-channel biases, the seconds summed."""
    w = np.asarray(sizes, np.float64) / sum(sizes)
    row = dict(rows[0])
    for key in ("accuracy", "agreement"):
        row[key] = float(sum(wi * r[key] for wi, r in zip(w, rows)))
    layers = range(len(rows[0]["rate_error"]))
    row["rate_error"] = [float(sum(wi * r["rate_error"][k] for wi, r in zip(w, rows))) for k in layers]
    row["channel_bias"] = [np.sum([wi * np.asarray(r["channel_bias"][k]) for wi, r in zip(w, rows)], axis=0).tolist()
                           for k in layers]
    row["rate_bias"] = [float(np.abs(bias).mean()) for bias in row["channel_bias"]]
    if row["seconds"] is not None:
        row["seconds"] = float(sum(r["seconds"] for r in rows))
    return row


def _rows_of(net, snns, X, y, batch_size, progress, analog_prefix=0):
    """The ANN's row and one row per (method, T, snn, mode) of ``snns``, chunk by chunk."""
    chunks, sizes = {key: [] for key in ["ann"] + [s[:2] for s in snns]}, []
    source = "relu" if analog_prefix else "qcfs"
    for start in range(0, len(X), batch_size):
        xb, yb = X[start:start + batch_size], y[start:start + batch_size]
        pred, act = predict(net, xb, batch_size), activation_outputs(net, xb, batch_size, analog_prefix)
        chunks["ann"].append(ann_row(source, pred, yb))
        for method, T, snn, mode in snns:
            chunks[method, T].append(snn_row(source, method, T, snn, xb, yb, pred, act, mode=mode))
        sizes.append(len(xb))
        progress(start + len(xb), len(X))
    return [_merge(rows, sizes) for rows in chunks.values()]


def _progress(done, total):
    width = 30
    filled = width * done // total
    print(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total} images", end="", file=sys.stderr, flush=True)
    if done == total:
        print(file=sys.stderr)


def evaluate(checkpoint, arch, levels, data, data_dir=None, T=None, if_T=(), calibrate_images=0, limit=None,
             batch_size=100, log=print, progress=_progress):
    """Load ``checkpoint`` and return ``{"rows": [...], "seconds": ...}`` (module docstring).

    ``T`` defaults to (``levels``,); ``limit`` takes the first N test images; a QCFS
    network that the checkpoint holds calibrated (DA-QCFS) runs as parallel SNN at
    T = ``levels`` only and cannot be calibrated again. A ReLU network takes no
    ``levels`` and needs ``T`` and ``calibrate_images`` (module docstring).
    """
    check_choice("arch", arch, tuple(ARCHITECTURES))
    relu = bool(ANALOG_PREFIX[arch])
    if relu:
        _check_relu(arch, levels, T, calibrate_images)
    elif levels is None:
        raise ValueError(f"--arch {arch} is a QCFS network: pass --levels, the level T~ it was trained with")
    else:
        levels = as_int("levels", levels)
    steps = [as_int("T", t) for t in (T or (levels,))]
    if_steps = [as_int("if_T", t) for t in if_T]
    calibrate_images = as_int("calibrate", calibrate_images, minimum=0)
    batch_size = as_int("batch_size", batch_size)
    start = time.perf_counter()
    X_train, _, X_test, y_test = load_test_data(data, data_dir)
    if limit is not None:
        X_test, y_test = X_test[:as_int("limit", limit)], y_test[:limit]
    net = load_authors(checkpoint, arch, levels, classes=CLASSES[data], image_size=X_test.shape[-1],
                       in_channels=X_test.shape[1])
    prefix, X_calibration = ANALOG_PREFIX[arch], X_train[:calibrate_images]
    if relu:
        log(f"{arch} (ReLU, training-free pipeline) from {checkpoint} on {len(X_test)} {data} test images")
        snns = _relu_snns(net, X_calibration, steps, if_steps, batch_size, prefix)
    else:
        log(f"{arch} (T~ = {levels}) from {checkpoint} on {len(X_test)} {data} test images")
        snns = _qcfs_snns(net, X_calibration, steps, if_steps, batch_size)
    rows = [{"arch": arch, "data": data, "images": len(X_test), **row}
            for row in _rows_of(net, snns, X_test, y_test, batch_size, progress, prefix)]
    return {"rows": rows, "seconds": time.perf_counter() - start, "thread_setting": thread_setting()}


def _qcfs_snns(net, X_calibration, steps, if_steps, batch_size):
    """The SNNs of a QCFS network: (method, T, snn, mode) each; calibrated ones only with
    calibration images."""
    snns = [("parallel", t, to_parallel_snn(net, t), _mode(t)) for t in steps]
    if len(X_calibration):
        for t in steps:
            calibrated = calibrate(net, X_calibration, t, batch_size=min(batch_size, 32))
            snns.append(("parallel_calibrated", t, to_parallel_snn(calibrated, t), _mode(t)))
    return snns + [("if", t, to_if_snn(net, t), None) for t in if_steps]


def _check_relu(arch, levels, T, calibrate_images):
    if levels is not None:
        raise ValueError(f"--arch {arch} is a ReLU network, which has no QCFS level: leave out --levels")
    if not T:
        raise ValueError(f"--arch {arch} is a ReLU network, which has no level T~ to default to: pass --T")
    if not calibrate_images:
        raise ValueError(f"--arch {arch} is a ReLU network: its thresholds are recorded on training images, "
                         "pass --calibrate N")


def _mode(T):
    return "collapsed" if T < COLLAPSED_MAX_T else None


def _relu_snns(net, X_calibration, steps, if_steps, batch_size, analog_prefix):
    """The training-free pipeline's SNNs of a ReLU network: (method, T, snn, mode) each."""
    clipped = record_thresholds(net, X_calibration, batch_size, analog_prefix=analog_prefix)
    snns = []
    for t, epochs, method in [(t, 0, "parallel") for t in steps] + [(t, 1, "parallel_calibrated") for t in steps]:
        calibrated = calibrate(clipped, X_calibration, t, epochs=epochs, batch_size=min(batch_size, 32),
                               analog_prefix=analog_prefix)
        snns.append((method, t, to_parallel_snn(calibrated, t, analog_prefix=analog_prefix), _mode(t)))
    return snns + [("if", t, to_if_snn(clipped, t, analog_prefix=analog_prefix), None) for t in if_steps]


def format_rows(rows):
    """The rows as a fixed-width table: method, T, accuracy, agreement, mean rate error."""
    lines = [f"{'method':20} {'T':>3}  {'accuracy':>8}  {'agreement':>9}  {'mean rate error':>15}  seconds"]
    for r in rows:
        T = "-" if r["T"] is None else str(r["T"])
        error = f"{np.mean(r['rate_error']):.4g}" if r["rate_error"] else "-"
        seconds = "-" if r["seconds"] is None else f"{r['seconds']:.1f}"
        lines.append(f"{r['method']:20} {T:>3}  {100 * r['accuracy']:7.2f}%  {100 * r['agreement']:8.2f}%  "
                     f"{error:>15}  {seconds}")
    return lines


def run(checkpoint, arch, levels, data, data_dir=None, T=None, if_T=(), calibrate_images=0, limit=None,
        batch_size=100, json_path=None):
    """Entry point of ``refsnn evaluate``: evaluate, print the rows, optionally write JSON."""
    check_choice("arch", arch, tuple(ARCHITECTURES))
    if json_path is not None:
        check_output_path(json_path, "--json")
    result = evaluate(checkpoint, arch, levels, data, data_dir, T, if_T, calibrate_images, limit, batch_size)
    print("\n".join(format_rows(result["rows"])))
    print(f"\ntotal {result['seconds']:.1f} s with {thread_setting()}")
    if json_path is not None:
        save_json({"rows": result["rows"], "thread_setting": result["thread_setting"]}, json_path)
        print(f"wrote {json_path}")
    return result
