"""Tests for the analog prefix of a SpikingNetwork and the MaxPool2d layer it allows.

* MaxPool2d equals a loop over the windows of the −∞-padded input, and its backward
  pass is the gradient of that function (finite differences);
* the prefix is exact: an SNN with an analog prefix gives, in every mode, bit for bit
  what the SNN of the rest gives on the prefix's output, and Theorem 4.1 holds behind it;
* max pooling and activations after the prefix, and neuron layers inside it, are refused;
* the torchvision-layout ReLU ResNet goes through the training-free pipeline at a tiny
  size, its stem ReLU left analog, its other ReLUs converted.
"""

import numpy as np
import pytest

from refsnn.networks.activations import QCFS, ClipReLU, DAQCFS, ReLU
from refsnn.networks.containers import Sequential, iter_layers, set_training
from refsnn.networks.conversion import calibrate, record_thresholds, to_if_snn, to_parallel_snn
from refsnn.networks.layers import AvgPool2d, Conv2d, Flatten, Linear, MaxPool2d
from refsnn.networks.normalization import BatchNorm
from refsnn.networks.spiking import ParallelNeurons, SpikingNetwork
from refsnn.networks.zoo import relu_resnet18

LEVELS = 4


def max_pool_loop(x, k, s, p):
    """The maximum of every window, one window at a time (padding never wins)."""
    B, C, H, W = x.shape
    padded = np.full((B, C, H + 2 * p, W + 2 * p), -np.inf, x.dtype)
    padded[:, :, p:p + H, p:p + W] = x
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    out = np.empty((B, C, Ho, Wo), x.dtype)
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = padded[:, :, s * i:s * i + k, s * j:s * j + k].max(axis=(2, 3))
    return out


@pytest.mark.parametrize("k, s, p", [(3, 2, 1), (2, 2, 0), (3, 1, 1), (3, 3, 0)])
def test_max_pool_equals_the_window_loop(k, s, p):
    x = np.random.default_rng(0).normal(size=(2, 3, 9, 7)).astype(np.float32)
    np.testing.assert_array_equal(MaxPool2d(k, s, p).forward(x), max_pool_loop(x, k, s, p))


@pytest.mark.parametrize("k, s, p", [(3, 2, 1), (3, 1, 1)])
def test_max_pool_backward_is_its_gradient(k, s, p):
    rng = np.random.default_rng(1)
    x, pool = rng.normal(size=(1, 2, 6, 5)), MaxPool2d(k, s, p)
    g = rng.normal(size=pool.forward(x).shape)
    dx = pool.backward(g)
    numeric = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = 1e-6
        numeric[index] = ((max_pool_loop(x + step, k, s, p) - max_pool_loop(x - step, k, s, p)) * g).sum() / 2e-6
    np.testing.assert_allclose(dx, numeric, rtol=1e-6, atol=1e-8)


def test_max_pool_refuses_bad_settings():
    with pytest.raises(ValueError, match="padding must be at most"):
        MaxPool2d(3, 2, 2)
    with pytest.raises(ValueError, match="smaller than the window"):
        MaxPool2d(3).forward(np.zeros((1, 1, 2, 2), np.float32))


def randomised(net, seed=0):
    rng = np.random.default_rng(seed)
    for _, layer in iter_layers(net):
        if isinstance(layer, BatchNorm) and not layer.running_mean.any():
            layer.weight[...] = rng.uniform(0.5, 1.5, layer.channels)
            layer.bias[...] = rng.normal(0, 0.3, layer.channels)
            layer.running_mean[...] = rng.normal(0, 0.2, layer.channels)
            layer.running_var[...] = rng.uniform(0.5, 1.5, layer.channels)
    return set_training(net, False)


def stem_net(seed=0):
    """conv → BN → ReLU → MaxPool2d(3, 2, 1) as the analog prefix, then a QCFS body."""
    rng = np.random.default_rng(seed)
    stem = Sequential(Conv2d(1, 4, 3, 1, 1, rng=rng), BatchNorm(4), ReLU(), MaxPool2d(3, 2, 1))
    stem.layers[1].running_mean[...] = 1.0  # whole windows below zero, where the ReLU matters
    return randomised(Sequential(stem, Conv2d(4, 6, 3, 1, 1, rng=rng), BatchNorm(6), QCFS(1.0, LEVELS),
                                 AvgPool2d(2), Flatten(), Linear(6 * 2 * 2, 5, rng), QCFS(1.5, LEVELS),
                                 Linear(5, 3, rng)), seed)


@pytest.mark.parametrize("T, convert, mode", [
    (LEVELS, to_parallel_snn, "faithful"), (LEVELS, to_parallel_snn, "collapsed"), (3, to_parallel_snn, "faithful"),
    (3, to_parallel_snn, "collapsed"), (LEVELS, to_if_snn, "sequential"), (7, to_if_snn, "sequential"),
])
def test_the_prefix_runs_once_and_is_exact(T, convert, mode):
    """The SNN with the stem as analog prefix == the stem run once, then the SNN of the rest."""
    net = stem_net()
    X = np.random.default_rng(2).normal(size=(5, 1, 8, 8)).astype(np.float32)
    snn = convert(net, T, analog_prefix=1)
    body = convert(Sequential(*net.layers[1:]), T)
    stem_out = net.layers[0].forward(X)
    np.testing.assert_array_equal(snn.run(X, mode), body.run(stem_out, mode))
    np.testing.assert_array_equal(snn.predict(X, mode), body.predict(stem_out, mode))
    for ours, theirs in zip(snn.layer_rates(X, mode), body.layer_rates(stem_out, mode)):
        np.testing.assert_array_equal(ours, theirs)
    assert isinstance(snn.net.layers[0].layers[2], ReLU) and len(snn.neuron_layers) == 2


def test_theorem_4_1_behind_an_analog_prefix():
    net = stem_net(3)
    X = np.random.default_rng(4).normal(size=(16, 1, 8, 8)).astype(np.float32)
    snn = to_parallel_snn(net, LEVELS, analog_prefix=1)
    np.testing.assert_array_equal(snn.predict(X, "collapsed"), net.forward(X).argmax(axis=1))
    np.testing.assert_array_equal(snn.predict(X, "faithful"), net.forward(X).argmax(axis=1))


def test_max_pooling_and_activations_after_the_prefix_are_refused():
    rng = np.random.default_rng(0)
    spiking = [Conv2d(1, 2, 3, 1, 1, rng=rng), ParallelNeurons(1.0, 2)]
    with pytest.raises(TypeError, match="only in the analog prefix"):
        SpikingNetwork(spiking + [MaxPool2d(2), Flatten(), Linear(2 * 4 * 4, 3, rng)], 2)
    with pytest.raises(TypeError, match="only in the analog prefix"):  # the prefix ends before layer 1
        SpikingNetwork([Conv2d(1, 2, 3, 1, 1, rng=rng), MaxPool2d(2)] + spiking, 2, analog_prefix=1)
    with pytest.raises(TypeError, match="cannot be part of the analog prefix"):  # a neuron layer in it
        SpikingNetwork(spiking + [Flatten(), Linear(2 * 8 * 8, 3, rng)], 2, analog_prefix=2)
    with pytest.raises(ValueError, match="leaves no layer"):
        SpikingNetwork(spiking, 2, analog_prefix=2)
    net = stem_net()
    with pytest.raises(ValueError, match="cannot be converted"):  # without a prefix the stem's max pooling is refused
        to_parallel_snn(net, LEVELS)


@pytest.mark.filterwarnings("ignore:ReLU layer")  # channels that a random network never makes positive
def test_the_relu_resnet_goes_through_the_training_free_pipeline():
    """A tiny torchvision-layout ResNet-18: ReLU → ClipReLU → DA-QCFS → parallel SNN with the
    stem analog; every mode gives the same predictions, the stem's ReLU stays a ReLU."""
    net = randomised(relu_resnet18(classes=4, image_size=16, width=2, in_channels=1, seed=1), 1)
    rng = np.random.default_rng(5)
    X_train, X = (rng.normal(size=(n, 1, 16, 16)).astype(np.float32) for n in (12, 6))
    clipped = record_thresholds(net, X_train, analog_prefix=1)
    kinds = [type(layer) for _, layer in iter_layers(clipped)]
    assert kinds.count(ReLU) == 1 and kinds.count(ClipReLU) == 16 and kinds.count(MaxPool2d) == 1
    calibrated = calibrate(clipped, X_train, 4, batch_size=4, analog_prefix=1)
    assert sum(isinstance(layer, DAQCFS) for _, layer in iter_layers(calibrated)) == 16
    snn = to_parallel_snn(calibrated, 4, analog_prefix=1)
    assert len(snn.neuron_layers) == 16 and snn.analog_prefix == 1
    faithful, collapsed = snn.predict(X, "faithful"), snn.predict(X, "collapsed")
    np.testing.assert_array_equal(faithful, collapsed)
    assert to_if_snn(clipped, 4, analog_prefix=1).predict(X).shape == (6,)
    with pytest.raises(ValueError, match="cannot be converted"):  # without the prefix, the stem's max pooling
        calibrate(clipped, X_train, 4)


def test_a_prefix_batchnorm_put_in_training_mode_is_refused_on_every_run():
    """The prefix's BatchNorm is checked on every run, like the body's: in training mode it
    would normalise with the batch's statistics and overwrite its running averages."""
    net = stem_net()
    snn = to_parallel_snn(net, LEVELS, analog_prefix=1)
    X = np.random.default_rng(2).normal(size=(3, 1, 8, 8)).astype(np.float32)
    bn = snn.net.layers[0].layers[1]
    running = bn.running_mean.copy()
    bn.training = True
    with pytest.raises(ValueError, match=r"layer 0\.1 .*training mode"):
        snn.predict(X, "collapsed")
    np.testing.assert_array_equal(bn.running_mean, running)
