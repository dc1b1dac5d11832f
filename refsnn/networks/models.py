"""A small model zoo: the paper's architectures in miniature.

The paper converts VGG-16 and ResNet-20/34 networks trained on CIFAR and ImageNet. These
are the same shapes, small enough to train on a CPU in seconds to minutes:

:func:`deep_mlp`
    A plain stack of ``depth`` hidden layers: the simplest place to watch the IF
    neuron's unevenness error build up layer by layer.
:func:`vgg_mini`
    Stages of (3×3 convolution → BatchNorm → activation) ×2 → average pooling.
:func:`resnet_mini`
    A ResNet-20 shape: a 3×3 stem, three stages of BasicBlocks of widths w, 2w, 4w (the
    second and third start with stride 2), global average pooling and a linear layer.
:func:`build_cnn`
    The demo's CNN for 8×8 digits (``refsnn demo``): two 3×3 convolutions, each
    followed by the activation and 2×2 average pooling, then a linear layer.

Each takes an activation factory — a zero-argument callable such as ``ReLU`` or
``lambda: QCFS(8.0, levels=4)`` — and a seed, and is sized by the input shape: 8×8 digits,
28×28 MNIST or 32×32 CIFAR-10. Only average pooling appears between activations: max
pooling does not commute with the sum over time (:mod:`refsnn.networks.layers`).
"""

import numpy as np

from .._checks import as_int
from .activations import ACTIVATIONS
from .containers import Residual, Sequential, iter_layers
from .layers import AvgPool2d, Conv2d, Flatten, Linear
from .normalization import BatchNorm

__all__ = ["deep_mlp", "vgg_mini", "resnet_mini", "basic_block", "build_cnn", "count_activations"]


def _rng(seed):
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(as_int("seed", seed, minimum=0))


def _check_factory(activation):
    if not isinstance(activation, type) and hasattr(activation, "forward"):  # one layer, not a maker of layers
        raise TypeError(f"activation must be a zero-argument factory, called once per activation layer, such as "
                        f"the class {type(activation).__name__} or a lambda; got the layer {activation!r}")
    if not callable(activation):
        raise TypeError(f"activation must be a zero-argument factory such as ReLU, got {activation!r}")
    layer = activation()
    if not all(hasattr(layer, m) for m in ("forward", "backward")):
        raise TypeError(f"activation() must return a layer, got {layer!r}")
    return activation


def _check_shape(in_shape):
    try:
        C, H, W = (as_int("in_shape", v) for v in in_shape)
    except (TypeError, ValueError):
        raise ValueError(f"in_shape must be (channels, height, width) of positive ints, got {in_shape!r}") from None
    return C, H, W


def count_activations(net):
    """The number of activation (spiking, once converted) layers of a network."""
    return sum(isinstance(layer, ACTIVATIONS) for _, layer in iter_layers(net))


def deep_mlp(depth, width, activation, seed=0, in_features=64, classes=10, batchnorm=False):
    """Flatten → (Linear(width) → [BatchNorm] → activation) × depth → Linear(classes).

    Parameters
    ----------
    depth : int
        Number of hidden layers, i.e. of spiking layers after conversion.
    width : int
        Neurons per hidden layer.
    activation : callable
        Zero-argument factory of the activation layer (``ReLU``, ``lambda: QCFS(...)``).
    seed : int or numpy.random.Generator
    in_features : int, default 64
        Inputs after flattening (64 for the 8×8 digits, 784 for MNIST).
    classes : int, default 10
    batchnorm : bool, default False
        Put a BatchNorm after every hidden Linear.

    Examples
    --------
    >>> from refsnn.networks.activations import ReLU
    >>> net = deep_mlp(depth=3, width=16, activation=ReLU)
    >>> count_activations(net), net.forward(np.zeros((2, 1, 8, 8), np.float32)).shape
    (3, (2, 10))
    """
    depth, width = as_int("depth", depth), as_int("width", width)
    in_features, classes = as_int("in_features", in_features), as_int("classes", classes)
    _check_factory(activation)
    rng = _rng(seed)
    layers, fan_in = [Flatten()], in_features
    for _ in range(depth):
        layers.append(Linear(fan_in, width, rng))
        if batchnorm:
            layers.append(BatchNorm(width))
        layers.append(activation())
        fan_in = width
    layers.append(Linear(fan_in, classes, rng))
    return Sequential(*layers)


def _conv_bn(c_in, c_out, k, stride, rng):
    return [Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, rng=rng), BatchNorm(c_out)]


def vgg_mini(activation, seed=0, in_shape=(1, 8, 8), widths=(16, 32), classes=10):
    """A VGG in miniature: per stage (Conv3×3 → BN → activation) ×2 → AvgPool2d(2).

    Parameters
    ----------
    activation : callable
        Zero-argument factory of the activation layer.
    seed : int or numpy.random.Generator
    in_shape : (C, H, W), default (1, 8, 8)
    widths : sequence of int, default (16, 32)
        Channels of each stage; each stage halves the spatial size. (16, 32) suits 8×8
        digits; (32, 64, 128) suits 28×28 or 32×32 inputs.
    classes : int, default 10

    Examples
    --------
    >>> from refsnn.networks.activations import ReLU
    >>> vgg_mini(ReLU).forward(np.zeros((2, 1, 8, 8), np.float32)).shape
    (2, 10)
    """
    C, H, W = _check_shape(in_shape)
    if not isinstance(widths, (tuple, list, np.ndarray)):
        raise TypeError(f"widths must be a sequence of ints, one per stage, such as (16, 32), got {widths!r}")
    widths = [as_int("widths", w) for w in widths]
    _check_factory(activation)
    rng = _rng(seed)
    layers, c = [], C
    for w in widths:
        if H < 2 or W < 2:
            raise ValueError(f"in_shape {in_shape} is too small for {len(widths)} stages of pooling")
        for _ in range(2):
            layers += _conv_bn(c, w, 3, 1, rng) + [activation()]
            c = w
        layers.append(AvgPool2d(2))
        H, W = H // 2, W // 2
    layers += [Flatten(), Linear(c * H * W, as_int("classes", classes), rng)]
    return Sequential(*layers)


def basic_block(c_in, c_out, stride, activation, rng):
    """The BasicBlock of the paper's ResNets (He et al. 2016) as a :class:`Residual`.

    main: Conv3×3(stride) → BN → activation → Conv3×3 → BN; shortcut: identity when the
    shape is kept, else Conv1×1(stride) → BN; then activation(main + shortcut).
    """
    main = Sequential(*_conv_bn(c_in, c_out, 3, stride, rng), activation(), *_conv_bn(c_out, c_out, 3, 1, rng))
    shortcut = None
    if stride != 1 or c_in != c_out:
        shortcut = Sequential(Conv2d(c_in, c_out, 1, stride=stride, rng=rng), BatchNorm(c_out))
    return Residual(main, shortcut, activation())


def resnet_mini(activation, seed=0, in_shape=(1, 8, 8), width=8, blocks=3, classes=10):
    """A ResNet-20-shaped network: stem, three stages of BasicBlocks, pooling, linear.

    stem: Conv3×3(C → w) → BN → activation; stage k (k = 1, 2, 3): ``blocks``
    BasicBlocks of width w·2^(k−1), the first of stages 2 and 3 with stride 2; then
    global average pooling, Flatten and Linear(4w → classes). With ``blocks=3`` this is
    ResNet-20's layout: 1 + 2·9 = 19 activations (spiking layers) and 20 weight layers.

    Parameters
    ----------
    activation : callable
        Zero-argument factory of the activation layer.
    seed : int or numpy.random.Generator
    in_shape : (C, H, W), default (1, 8, 8)
    width : int, default 8
        w, the width of the first stage.
    blocks : int, default 3
        BasicBlocks per stage.
    classes : int, default 10

    Examples
    --------
    >>> from refsnn.networks.activations import ReLU
    >>> net = resnet_mini(ReLU, blocks=1)
    >>> count_activations(net), net.forward(np.zeros((2, 1, 8, 8), np.float32)).shape
    (7, (2, 10))
    """
    C, H, W = _check_shape(in_shape)
    width, blocks = as_int("width", width), as_int("blocks", blocks)
    _check_factory(activation)
    rng = _rng(seed)
    layers = _conv_bn(C, width, 3, 1, rng) + [activation()]
    c = width
    for stage in range(3):
        w = width * 2 ** stage
        for b in range(blocks):
            stride = 2 if stage > 0 and b == 0 else 1
            layers.append(basic_block(c, w, stride, activation, rng))
            c = w
            if stride == 2:
                H, W = (H + 1) // 2, (W + 1) // 2  # 3×3, padding 1, stride 2
    layers += [AvgPool2d(min(H, W)), Flatten(), Linear(c * (H // min(H, W)) * (W // min(H, W)),
                                                        as_int("classes", classes), rng)]
    return Sequential(*layers)


def build_cnn(activation, rng):
    """The demo's CNN for 1×8×8 digits and 10 classes, two spiking layers once converted.

    Conv3×3(1 → 16, padding 1) → activation → AvgPool2d(2) → Conv3×3(16 → 32, padding 1)
    → activation → AvgPool2d(2) → Flatten → Linear(32·2·2 → 10).

    Parameters
    ----------
    activation : callable
        Zero-argument factory of the activation layer (``ReLU``, ``lambda: QCFS(...)``).
    rng : numpy.random.Generator
        Draws the initial weights.

    Examples
    --------
    >>> from refsnn.networks.activations import ReLU
    >>> net = build_cnn(ReLU, np.random.default_rng(0))
    >>> count_activations(net), net.forward(np.zeros((2, 1, 8, 8), np.float32)).shape
    (2, (2, 10))
    """
    return Sequential(
        Conv2d(1, 16, 3, padding=1, rng=rng), activation(), AvgPool2d(2),
        Conv2d(16, 32, 3, padding=1, rng=rng), activation(), AvgPool2d(2),
        Flatten(), Linear(32 * 2 * 2, 10, rng),
    )
