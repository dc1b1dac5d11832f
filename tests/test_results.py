"""Tests for refsnn.programs.results: an ANN's row has the keys of an SNN's row."""

import numpy as np

from refsnn.networks.activations import QCFS
from refsnn.networks.conversion import activation_outputs, to_parallel_snn
from refsnn.networks.models import build_cnn
from refsnn.networks.training import predict
from refsnn.programs.results import ann_row, snn_row


def test_ann_row_has_the_keys_of_snn_row_and_the_ann_accuracy():
    rng = np.random.default_rng(0)
    net = build_cnn(lambda: QCFS(2.0, 4), rng)
    X, y = rng.random((20, 1, 8, 8), dtype=np.float32), rng.integers(0, 10, 20)
    predictions = predict(net, X)
    ann = ann_row("qcfs", predictions, y)
    snn = snn_row("qcfs", "parallel", 4, to_parallel_snn(net, 4), X, y, predictions, activation_outputs(net, X))
    assert list(ann) == list(snn)
    assert ann == {"source": "qcfs", "method": "ann", "T": None, "accuracy": float(np.mean(predictions == y)),
                   "agreement": 1.0, "rate_error": [], "rate_bias": [], "channel_bias": [], "seconds": None}
    assert snn["accuracy"] == ann["accuracy"]  # T = T̃: the parallel SNN is the ANN (Theorem 4.1)


def test_snn_row_agreement_compares_with_the_ann_not_the_labels():
    """Agreement is the fraction of images on which the SNN predicts the ANN's class: at
    T = T̃ the parallel SNN is the ANN (Theorem 4.1), so 1.0, whatever the labels."""
    rng = np.random.default_rng(0)
    net = build_cnn(lambda: QCFS(2.0, 4), rng)
    X = rng.random((20, 1, 8, 8), dtype=np.float32)
    predictions = predict(net, X)
    y = (predictions + 1) % 10  # every label wrong
    row = snn_row("qcfs", "parallel", 4, to_parallel_snn(net, 4), X, y, predictions, activation_outputs(net, X))
    assert (row["accuracy"], row["agreement"]) == (0.0, 1.0)


def test_channel_bias_is_the_mean_difference_of_each_channel():
    """channel_bias averages rate − activation over the batch and space of each channel
    (axis 1): shape (C,)."""
    from refsnn.programs.results import channel_bias

    activation = np.zeros((2, 3, 2, 2))
    rate = np.zeros((2, 3, 2, 2))
    rate[:, 0] = 1.0
    rate[0, 2, 0, 0] = 8.0  # one position of eight in channel 2
    np.testing.assert_array_equal(channel_bias(rate, activation), [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(channel_bias(rate[:, :, 0, 0], activation[:, :, 0, 0]), [1.0, 0.0, 4.0])
