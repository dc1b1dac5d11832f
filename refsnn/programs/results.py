"""The result rows that the demo and the experiments share: one ANN or one SNN on a test set.

An SNN's row compares it with the ANN it was converted from:
``accuracy``, ``agreement`` (the fraction of test images on which the SNN predicts what
the ANN predicts), and per neuron layer ``rate_error`` (mean |SNN rate − ANN activation|)
and ``rate_bias`` (mean over channels of |the per-channel mean of SNN rate − ANN
activation|: the part of the error that DA-QCFS calibration targets, a per-channel
shift, as opposed to per-sample noise). An ANN's row has the same keys, with agreement
1 and no rates.
"""

import time

import numpy as np

from .cache import cache_dir, shown  # noqa: F401  (their home is refsnn.programs.cache)

__all__ = ["ann_row", "snn_row", "channel_bias"]


def channel_bias(rate, activation):
    """The signed bias of every channel (axis 1): the mean of (rate − activation) over the
    batch and space, shape (C,), float64."""
    axes = tuple(i for i in range(rate.ndim) if i != 1)
    return (rate - activation).mean(axis=axes, dtype=np.float64)


def _channel_bias(rate, activation):
    """Mean over channels of |:func:`channel_bias`|."""
    return float(np.abs(channel_bias(rate, activation)).mean())


def ann_row(source, predictions, y):
    """The row of an ANN (``method`` "ann", ``T`` None) from its test-set predictions.

    Parameters
    ----------
    source : {"qcfs", "relu"}
    predictions, y : numpy.ndarray, shape (B,)
        The ANN's predicted classes and the labels.

    Returns
    -------
    dict with the keys of :func:`snn_row`: ``accuracy``, ``agreement`` 1.0, empty
    ``rate_error``, ``rate_bias`` and ``channel_bias``, and ``seconds`` None.
    """
    return {"source": source, "method": "ann", "T": None, "accuracy": float((predictions == y).mean()),
            "agreement": 1.0, "rate_error": [], "rate_bias": [], "channel_bias": [], "seconds": None}


def snn_row(source, method, T, snn, X, y, ann_predictions, ann_activations, mode=None):
    """One result row for ``snn`` on the test set (X, y) (module docstring).

    Parameters
    ----------
    source : {"qcfs", "relu"}
    method : str
        "parallel", "if", "parallel_calibrated", "training_free", ...
    T : int
    snn : refsnn.networks.spiking.SpikingNetwork
    X, y : numpy.ndarray
        Test images (B, ...) and labels (B,).
    ann_predictions : numpy.ndarray, shape (B,)
    ann_activations : list of numpy.ndarray
        The ANN's activation outputs (``activation_outputs``), one per neuron layer.
    mode : {None, "sequential", "faithful", "collapsed"}
        How ``snn`` runs; None for its default mode.

    Returns
    -------
    dict with ``source``, ``method``, ``T``, ``accuracy``, ``agreement``,
    ``rate_error``, ``rate_bias`` (lists, one value per neuron layer), ``channel_bias``
    (per neuron layer, the list of signed per-channel biases) and ``seconds``.
    """
    start = time.perf_counter()
    predictions, rates = snn.predict_and_rates(X, mode)
    seconds = time.perf_counter() - start
    return {
        "source": source, "method": method, "T": T,
        "accuracy": float((predictions == y).mean()),
        "agreement": float((predictions == ann_predictions).mean()),
        "rate_error": [float(np.abs(r - a).mean()) for r, a in zip(rates, ann_activations)],
        "rate_bias": [_channel_bias(r, a) for r, a in zip(rates, ann_activations)],
        "channel_bias": [channel_bias(r, a).tolist() for r, a in zip(rates, ann_activations)],
        "seconds": seconds,
    }
