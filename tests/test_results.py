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
