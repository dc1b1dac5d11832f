"""Tests for refsnn.programs.bench.twin: a refsnn network redone in torch.

The twin is the peer every speed ratio of ``refsnn bench --peers`` and ``--full-size`` is
taken against, so it must compute the same network: on a small ResNet and a small VGG
with BatchNorm (random running statistics) its logits equal refsnn's to float rounding
(convolutions and BatchNorm sum in another order) and its predictions are identical, as
an ANN (BatchNorm in evaluation and in training mode), and as the collapsed, faithful and
sequential SNN. (The training step's gradients are not compared: QCFS's straight-through
mask is [0 ≤ z ≤ θ] in refsnn and half a step wider under autograd, see QCFS's Notes.)
Every test skips without torch (an optional extra).
"""

import sys

import numpy as np
import pytest

from refsnn.networks.activations import QCFS, ReLU
from refsnn.networks.containers import Sequential, iter_layers, set_training
from refsnn.networks.conversion import to_if_snn, to_parallel_snn
from refsnn.networks.layers import Conv2d, Flatten, Linear, MaxPool2d
from refsnn.networks.models import resnet_mini, vgg_mini
from refsnn.networks.normalization import BatchNorm

torch = pytest.importorskip("torch")
from refsnn.programs.bench import twin  # noqa: E402 (after the skip: the tests need torch)

#: Float32 logits of a few hundred summed products: equal to this, relative and absolute.
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}


def _with_statistics(net, seed):
    """``net`` with random BatchNorm weights and running statistics, in evaluation mode."""
    rng = np.random.default_rng(seed)
    for _, layer in iter_layers(net):
        if isinstance(layer, BatchNorm):
            layer.weight[...] = rng.uniform(0.5, 1.5, layer.channels)
            layer.bias[...] = rng.uniform(-0.3, 0.3, layer.channels)
            layer.running_mean[...] = rng.uniform(-0.2, 0.2, layer.channels)
            layer.running_var[...] = rng.uniform(0.5, 2.0, layer.channels)
    return set_training(net, False)


def _qcfs():
    return QCFS(2.0, 4)


NETWORKS = {
    "resnet_mini": lambda: resnet_mini(_qcfs, seed=1, in_shape=(3, 8, 8), width=4, blocks=1),
    "vgg_mini": lambda: vgg_mini(_qcfs, seed=2, in_shape=(3, 8, 8), widths=(4, 8)),
}


@pytest.fixture(params=sorted(NETWORKS))
def net_and_images(request):
    net = _with_statistics(NETWORKS[request.param](), seed=3)
    X = np.random.default_rng(4).uniform(0, 2, (16, 3, 8, 8)).astype(np.float32)
    return net, X


def _agree(theirs, ours):
    np.testing.assert_allclose(theirs, ours, **TOLERANCE)
    np.testing.assert_array_equal(theirs.argmax(1), ours.argmax(1))


def test_torch_ann_equals_refsnn_in_evaluation_mode(net_and_images):
    net, X = net_and_images
    forward, params = twin.torch_ann(torch, net, trainable=False)
    out = forward(torch.from_numpy(X))
    assert params == [] and not out.requires_grad
    ours = net.forward(X)
    assert len(np.unique(ours.argmax(1))) > 1  # the predictions say something
    _agree(out.numpy(), ours)


def test_torch_ann_equals_refsnn_in_training_mode_and_updates_the_same_statistics(net_and_images):
    """BatchNorm in training mode normalises with the batch's statistics on both sides,
    and both update their running averages alike (torch's copies, refsnn's arrays)."""
    net, X = net_and_images
    set_training(net, True)
    forward, params = twin.torch_ann(torch, net)
    out = forward(torch.from_numpy(X))
    assert out.requires_grad and all(p.requires_grad for p in params)
    _agree(out.detach().numpy(), net.forward(X))
    n_bn = sum(isinstance(layer, BatchNorm) for _, layer in iter_layers(net))
    n_conv_linear = sum(isinstance(layer, (Conv2d, Linear)) for _, layer in iter_layers(net))
    n_qcfs = sum(isinstance(layer, QCFS) for _, layer in iter_layers(net))
    assert len(params) == 2 * n_bn + 2 * n_conv_linear + n_qcfs


def test_torch_snn_equals_refsnn_in_every_mode(net_and_images):
    net, X = net_and_images
    xt = torch.from_numpy(X)
    parallel = to_parallel_snn(net, 4)
    with torch.inference_mode():
        tpar = twin.TorchSNN(torch, parallel)
        _agree(tpar.collapsed(xt).numpy(), parallel.run(X, "collapsed"))
        _agree(tpar.faithful(xt).numpy(), parallel.run(X).sum(axis=0))
        if pytest.importorskip("spikingjelly"):
            sequential = to_if_snn(net, 4)
            tseq = twin.TorchSNN(torch, sequential)
            for _ in range(2):  # the second call starts again from v0 = θ/2
                _agree(tseq.sequential(xt).numpy(), sequential.run(X).sum(axis=0))


def test_torch_snn_needs_spikingjelly_only_for_the_sequential_snn(net_and_images, monkeypatch):
    """``refsnn bench --full-size`` times the collapsed and faithful twins with torch alone."""
    net, X = net_and_images
    for module in ("spikingjelly", "spikingjelly.activation_based"):
        monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    parallel = to_parallel_snn(net, 4)
    with torch.inference_mode():
        tpar = twin.TorchSNN(torch, parallel)
        _agree(tpar.collapsed(torch.from_numpy(X)).numpy(), parallel.run(X, "collapsed"))
        with pytest.raises(ImportError):
            tpar.sequential(torch.from_numpy(X))


def test_max_pooling_in_the_ann():
    rng = np.random.default_rng(5)
    net = _with_statistics(Sequential(Conv2d(3, 4, 3, padding=1, rng=rng), BatchNorm(4), QCFS(2.0, 4),
                                      MaxPool2d(3, 2, 1), Flatten(), Linear(4 * 4 * 4, 5, rng)), seed=6)
    X = np.random.default_rng(7).uniform(0, 2, (6, 3, 8, 8)).astype(np.float32)
    forward, _ = twin.torch_ann(torch, net, trainable=False)
    _agree(forward(torch.from_numpy(X)).numpy(), net.forward(X))


def test_a_layer_without_a_torch_version_is_named():
    net = Sequential(Flatten(), Linear(4, 2, np.random.default_rng(0)), ReLU())
    with pytest.raises(ValueError, match="no torch version of ReLU"):
        twin.torch_ann(torch, net)
