"""Tests for refsnn.networks.zoo without torch: the authors' architectures by their key names.

* the committed ``tests/fixtures/tiny_resnet.pth`` (made by torch from
  ``tests/fixtures/authors_models.py``) loads and gives the logits torch gave;
* the full-size builders have the authors' parameter counts;
* a network exported with ``authors_state_dict`` loads back to the same logits, DA-QCFS
  layers included (ψ_DA = ``rec_in_mean``, φ_DA = ``rec_th_mean``);
* every missing, unexpected or mis-shaped key is named, and a bad ``up`` refused.
"""

from pathlib import Path

import numpy as np
import pytest

from refsnn.networks.activations import DAQCFS
from refsnn.networks.layers import Conv2d
from refsnn.networks.containers import iter_layers, set_training
from refsnn.networks.zoo import ARCHITECTURES, authors_state_dict, load_authors, resnet20, vgg16

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY = dict(classes=3, width=2, blocks=(1, 1, 1), image_size=8)


def test_the_tiny_fixture_gives_torchs_logits():
    io = np.load(FIXTURES / "tiny_resnet_io.npz")
    net = load_authors(FIXTURES / "tiny_resnet.pth", "resnet20", 4, **TINY)
    np.testing.assert_allclose(net.forward(io["x"]), io["logits"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("arch, count", [("vgg16", 33_646_681), ("resnet20", 273_277)])
def test_full_size_parameter_counts(arch, count):
    """VGG-16 for CIFAR-10 (14.7 M in the convolutions, 18.9 M in the head) and ResNet-20
    (0.27 M); every QCFS adds its one threshold."""
    net = ARCHITECTURES[arch](4)[0]
    assert sum(v.size for v in net.params().values()) == count


def small_vgg():
    return dict(width=2, hidden=8, classes=5)


def randomize(net, rng, conv_bias=True):
    for name, value in net.params().items():
        value[...] = rng.uniform(0.5, 1.5, value.shape) if name.endswith("theta") else rng.normal(0, 0.5, value.shape)
    for _, layer in iter_layers(net):
        if hasattr(layer, "running_var"):
            layer.running_mean[...] = rng.normal(0, 0.1, layer.channels)
            layer.running_var[...] = rng.uniform(0.5, 1.5, layer.channels)
        if isinstance(layer, Conv2d) and not conv_bias:
            layer.bias[...] = 0
    return set_training(net, False)


@pytest.mark.parametrize("arch, options", [("vgg16", small_vgg()), ("resnet20", TINY)])
def test_export_and_load_round_trip(arch, options):
    rng = np.random.default_rng(0)
    net = randomize(ARCHITECTURES[arch](4, **options)[0], rng, conv_bias=arch == "vgg16")
    state = authors_state_dict(net, arch, 4, **options)
    back = load_authors(state, arch, 4, **options)
    x = rng.normal(size=(3, 3, options.get("image_size", 32), options.get("image_size", 32))).astype(np.float32)
    np.testing.assert_array_equal(back.forward(x), net.forward(x))


def test_calibration_buffers_become_da_qcfs():
    rng = np.random.default_rng(1)
    net = randomize(resnet20(4, **TINY), rng, conv_bias=False)
    state = authors_state_dict(net, "resnet20", 4, **TINY)
    prefix = "conv2_x.0.residual_function.2"
    state[f"{prefix}.rec_in_mean"] = rng.normal(0, 0.1, (2, 1, 1)).astype(np.float32)
    state[f"{prefix}.rec_th_mean"] = rng.normal(0, 0.1, (2, 1, 1)).astype(np.float32)
    state["conv1.2.rec_in_mean"] = state["conv1.2.rec_th_mean"] = np.zeros((2, 1, 1), np.float32)  # never ran
    back = load_authors(state, "resnet20", 4, **TINY)
    da = [layer for _, layer in iter_layers(back) if isinstance(layer, DAQCFS)]
    assert len(da) == 1 and da[0].levels == 4
    np.testing.assert_array_equal(da[0].psi_da, state[f"{prefix}.rec_in_mean"].ravel())
    np.testing.assert_array_equal(da[0].phi_da, state[f"{prefix}.rec_th_mean"].ravel())
    np.testing.assert_array_equal(da[0].theta, np.full(2, state[f"{prefix}.up"][0]))
    again = authors_state_dict(back, "resnet20", 4, **TINY)
    for key in (f"{prefix}.rec_in_mean", f"{prefix}.rec_th_mean", f"{prefix}.up"):
        np.testing.assert_array_equal(again[key], state[key])


def test_missing_unexpected_and_mis_shaped_keys_are_named():
    state = authors_state_dict(resnet20(4, **TINY), "resnet20", 4, **TINY)
    del state["conv1.1.running_var"]
    state["fc.weight"] = np.zeros((4, 8), np.float32)
    state["conv9_x.0.relu.up"] = np.ones(1, np.float32)
    with pytest.raises(ValueError) as error:
        load_authors(state, "resnet20", 4, **TINY)
    message = str(error.value)
    for part in ("1 missing: conv1.1.running_var", "1 unexpected: conv9_x.0.relu.up",
                 "fc.weight is (4, 8), expected (3, 8)"):
        assert part in message


def test_a_lone_calibration_buffer_and_a_bad_threshold_are_refused():
    state = authors_state_dict(resnet20(4, **TINY), "resnet20", 4, **TINY)
    with pytest.raises(ValueError, match="conv1.2.rec_th_mean"):
        load_authors({**state, "conv1.2.rec_in_mean": np.ones((2, 1, 1), np.float32)}, "resnet20", 4, **TINY)
    with pytest.raises(ValueError, match=r"fc.weight|conv1.2.up = -1.0"):
        load_authors({**state, "conv1.2.up": -np.ones(1, np.float32)}, "resnet20", 4, **TINY)


def test_vgg16_names_skip_the_dropout_indices():
    state = authors_state_dict(vgg16(4, **small_vgg()), "vgg16", 4, **small_vgg())
    assert {"layer1.0.weight", "layer1.4.weight", "layer3.10.up", "classifier.7.bias"} <= set(state)
    assert not any(k.startswith("layer1.3") or k.startswith("classifier.3") for k in state)


def test_export_refuses_what_the_authors_layout_cannot_hold():
    net = randomize(resnet20(4, **TINY), np.random.default_rng(2))  # biases in bias-less convolutions
    with pytest.raises(ValueError, match="has a bias.*conv1.0"):
        authors_state_dict(net, "resnet20", 4, **TINY)
    with pytest.raises(ValueError, match="layout"):
        authors_state_dict(vgg16(4, **small_vgg()), "resnet20", 4, **TINY)


@pytest.mark.parametrize("arch, count", [("resnet18_relu", 11_689_512), ("resnet34_relu", 21_797_672),
                                         ("resnet50_relu", 25_557_032), ("resnet101_relu", 44_549_160)])
def test_torchvision_resnets_have_torchvisions_parameter_counts(arch, count):
    """The parameters of torchvision's ImageNet ResNets (its model documentation), counted
    from the exported state dict without BatchNorm's buffers."""
    net = ARCHITECTURES[arch](None, classes=1000)[0]
    state = authors_state_dict(net, arch, classes=1000)
    buffers = ("running_mean", "running_var", "num_batches_tracked")
    assert sum(v.size for k, v in state.items() if not k.endswith(buffers)) == count
    assert "layer4.0.downsample.1.running_var" in state and "fc.weight" in state


RELU_TINY = dict(classes=3, width=2, image_size=16)


@pytest.mark.parametrize("arch, options", [("resnet18_relu", RELU_TINY),
                                           ("resnet50_relu", dict(RELU_TINY, blocks=(1, 2, 1, 1)))])
def test_relu_resnets_export_and_load_round_trip(arch, options):
    rng = np.random.default_rng(2)
    net = randomize(ARCHITECTURES[arch](None, **options)[0], rng, conv_bias=False)
    back = load_authors(authors_state_dict(net, arch, **options), arch, **options)
    x = rng.normal(size=(2, 3, 16, 16)).astype(np.float32)
    np.testing.assert_array_equal(back.forward(x), net.forward(x))


def test_levels_belong_to_qcfs_networks_only():
    state = authors_state_dict(ARCHITECTURES["resnet18_relu"](None, **RELU_TINY)[0], "resnet18_relu", **RELU_TINY)
    with pytest.raises(ValueError, match="a ReLU network has no QCFS level"):
        load_authors(state, "resnet18_relu", 4, **RELU_TINY)
    with pytest.raises(ValueError, match="is a QCFS network: its level"):
        load_authors(state, "resnet20")
