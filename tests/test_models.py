"""Tests for refsnn.networks.models: the miniature VGG, ResNet and deep MLP."""

import numpy as np
import pytest

from refsnn.networks.activations import QCFS, ReLU
from refsnn.networks.containers import Residual, iter_layers
from refsnn.networks.models import basic_block, count_activations, deep_mlp, resnet_mini, vgg_mini
from refsnn.networks.normalization import BatchNorm


@pytest.mark.parametrize("in_shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32)])
def test_every_model_fits_every_input_size(in_shape):
    X = np.zeros((2,) + in_shape, np.float32)
    widths = (8, 16) if in_shape[1] == 8 else (8, 16, 32)
    for net in (resnet_mini(ReLU, in_shape=in_shape, blocks=1), vgg_mini(ReLU, in_shape=in_shape, widths=widths),
                deep_mlp(2, 8, ReLU, in_features=int(np.prod(in_shape)))):
        assert net.forward(X).shape == (2, 10)


@pytest.mark.parametrize("in_shape", [(1, 7, 7), (2, 9, 13)])
def test_resnet_mini_fits_odd_input_sizes(in_shape):
    """A 3×3 convolution of stride 2 and padding 1 makes H into (H + 1) // 2 (7 → 4 → 2)."""
    net = resnet_mini(ReLU, in_shape=in_shape, blocks=1)
    assert net.forward(np.ones((2,) + in_shape, np.float32)).shape == (2, 10)


@pytest.mark.parametrize("c_in, c_out, stride, projected", [
    (8, 8, 1, False), (4, 8, 1, True), (8, 8, 2, True), (4, 8, 2, True)])
def test_basic_block_projects_the_shortcut_when_the_shape_changes(c_in, c_out, stride, projected):
    """A projection shortcut whenever the channels or the size change (also at stride 1),
    so that main and shortcut outputs have one shape."""
    rng = np.random.default_rng(0)
    block = basic_block(c_in, c_out, stride, ReLU, rng)
    assert (block.shortcut is not None) == projected
    x = rng.standard_normal((2, c_in, 5, 5)).astype(np.float32)
    assert block.main.forward(x).shape == (block.shortcut.forward(x) if projected else x).shape


def test_resnet_mini_has_resnet20_layout():
    """blocks=3: 19 activations, 3 stages of 3 BasicBlocks, projection shortcuts only where
    the shape changes (the first block of stages 2 and 3), BatchNorm after every conv."""
    net = resnet_mini(lambda: QCFS(8.0, 4), blocks=3)
    assert count_activations(net) == 19
    blocks = [layer for layer in net if isinstance(layer, Residual)]
    assert len(blocks) == 9
    assert [b.shortcut is not None for b in blocks] == [False] * 3 + [True, False, False] * 2
    convs = [layer for _, layer in iter_layers(net) if type(layer).__name__ == "Conv2d"]
    norms = [layer for _, layer in iter_layers(net) if isinstance(layer, BatchNorm)]
    assert len(convs) == len(norms) == 1 + 9 * 2 + 2
    assert [c.out_channels for c in convs[1::7]] == [8, 16, 32]


def test_depth_counts_spiking_layers_and_seed_reproduces():
    a, b = deep_mlp(12, 32, ReLU, seed=4), deep_mlp(12, 32, ReLU, seed=4)
    assert count_activations(a) == 12
    for (name, p), q in zip(a.params().items(), b.params().values()):
        np.testing.assert_array_equal(p, q, err_msg=name)
    assert not np.array_equal(a.params()["1.weight"], deep_mlp(12, 32, ReLU, seed=5).params()["1.weight"])
    assert sum(isinstance(layer, BatchNorm) for layer in deep_mlp(3, 8, ReLU, batchnorm=True)) == 3


@pytest.mark.parametrize("make, error, match", [
    (lambda: deep_mlp(0, 8, ReLU), ValueError, "depth"),
    (lambda: deep_mlp(2, 8, "relu"), TypeError, "activation"),
    (lambda: deep_mlp(2, 8, ReLU()), TypeError, r"activation.*factory.*the class ReLU.*got the layer ReLU\(\)"),
    (lambda: resnet_mini(QCFS(8.0, 4)), TypeError, "activation.*factory"),
    (lambda: vgg_mini(ReLU, widths=16), TypeError, r"widths.*sequence.*\(16, 32\).*got 16"),
    (lambda: resnet_mini(ReLU, seed=-1), ValueError, "seed"),
    (lambda: resnet_mini(ReLU, in_shape=(1, 8)), ValueError, "in_shape"),
    (lambda: vgg_mini(ReLU, in_shape=(1, 2, 2), widths=(4, 4)), ValueError, "too small"),
])
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()
