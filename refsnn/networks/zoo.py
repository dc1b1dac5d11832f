"""The authors' QCFS networks at full size, under their own ``state_dict`` names.

Hao et al. train VGG-16 and ResNet-18/20/34 QCFS networks in PyTorch
(https://github.com/hzc1208/STA_Parallel_Conversion, ``models/VGG_QCFS.py`` and
``models/ResNet_QCFS.py``). These builders make the same networks from refsnn's layers, and
:func:`load_authors` fills them from a checkpoint of the authors' code, read without torch
(:mod:`refsnn.networks.checkpoints`):

:func:`vgg16`
    Five stages of 2, 2, 3, 3, 3 × (Conv3×3 with bias → BatchNorm → QCFS), each closed by
    AvgPool2d(2); then Flatten → Linear(512·s² → 4096) → QCFS → Linear(4096 → 4096) → QCFS
    → Linear(4096 → classes), with s = 1 for 32×32 CIFAR images and s = 7 for 224×224
    ImageNet images. Keys ``layer1.0.weight`` … ``layer5.…``, ``classifier.1.weight`` …
    (the authors' Dropout layers take indices but hold no weights).
:func:`resnet20`, :func:`resnet18`, :func:`resnet34`
    A 3×3 stem without bias (no max pooling, stride 1) → BatchNorm → QCFS; stages of
    BasicBlocks of widths 16/32/64 ([3, 3, 3], ``ResNet4Cifar``) or 64/128/256/512 ([2, 2, 2,
    2] and [3, 4, 6, 3], ``ResNet``), the first block of every later stage with stride 2;
    global average pooling and ``fc``. Keys ``conv1.0.weight``,
    ``conv2_x.0.residual_function.0.weight``, ``….shortcut.0.weight``, ``….relu.up``,
    ``fc.weight``.
:func:`relu_resnet18`, :func:`relu_resnet34`, :func:`relu_resnet50`, :func:`relu_resnet101`
    The torchvision-layout ReLU ResNets of the training-free results (``models/ResNet_ReLU.py``):
    a stem Conv7×7 stride 2 without bias → BatchNorm → ReLU → MaxPool2d(3, 2, 1), then
    ``layer1`` … ``layer4`` of widths 64/128/256/512, BasicBlocks ([2, 2, 2, 2] and [3, 4,
    6, 3]: conv1 → bn1 → relu1 → conv2 → bn2, then relu2 after the sum) or Bottlenecks
    ([3, 4, 6, 3] and [3, 4, 23, 3]: 1×1 → 3×3 with the stride → 1×1 to 4× the width, relu1
    and relu2 between them, relu3 after the sum), the first block of every later stage
    with stride 2; global average pooling and ``fc``. Keys ``conv1.weight``, ``bn1.…``,
    ``layer1.0.conv1.weight``, ``….downsample.0.weight``, ``….downsample.1.…``,
    ``fc.weight``. The stem is the network's first top-level layer and its analog prefix
    (:data:`ANALOG_PREFIX`): the authors' conversion replaces the ReLU modules ``relu1``,
    ``relu2``, ``relu3`` and leaves the stem's ReLU, a function call, and its max pooling
    analog; the training-free pipeline records, calibrates and converts with
    ``analog_prefix=1`` (:mod:`refsnn.networks.conversion`).

How the authors' values map onto refsnn's layers:

* QCFS's ``up`` is the threshold θ; the level T̃ is not in a checkpoint, so ``levels`` is
  a required argument;
* a QCFS with ``rec_in_mean`` and ``rec_th_mean`` that are not all zero was calibrated by
  the authors' loop: it becomes :class:`~refsnn.networks.activations.DAQCFS` with
  ψ_DA = ``rec_in_mean`` and φ_DA = ``rec_th_mean`` (their forward pass is
  (θ + φ_DA)·clip(⌊(z + ψ_DA)·L/θ + ½⌋/L, 0, 1), DA-QCFS at level L = ``levels``);
* BatchNorm's running statistics are loaded and it runs in evaluation mode;
  ``num_batches_tracked`` is ignored.

Every key that is missing, unexpected or of the wrong shape is named in one ValueError;
nothing loads silently wrong. :func:`authors_state_dict` is the way back: the arrays of a
refsnn network under the authors' names, ready for ``torch.save`` and their ``main.py``.
"""

import numpy as np

from .._checks import as_int, check_choice
from .activations import DAQCFS, QCFS, ReLU
from .checkpoints import load_state_dict
from .containers import Residual, Sequential, iter_layers, map_children, set_training
from .layers import AvgPool2d, Conv2d, Flatten, Linear, MaxPool2d
from .normalization import BatchNorm

__all__ = ["ARCHITECTURES", "ANALOG_PREFIX", "vgg16", "resnet18", "resnet20", "resnet34", "relu_resnet18",
           "relu_resnet34", "relu_resnet50", "relu_resnet101", "load_authors", "authors_state_dict"]

#: The keys of each kind of layer in a PyTorch state dict.
KEYS = {Conv2d: ("weight", "bias"), Linear: ("weight", "bias"),
        BatchNorm: ("weight", "bias", "running_mean", "running_var"), QCFS: ("up",), DAQCFS: ("up",)}
CALIBRATION_KEYS = ("rec_in_mean", "rec_th_mean")


class _Names:
    """The authors' name of every layer, recorded while a network is built: id → (prefix, keys)."""

    def __init__(self):
        self.of = {}

    def __call__(self, prefix, layer, keys=None):
        self.of[id(layer)] = (prefix, KEYS[type(layer)] if keys is None else keys)
        return layer

    def layout(self, net):
        """(path, layer, prefix, keys) for every leaf of ``net`` that holds weights, in forward order."""
        return [(path, layer) + self.of[id(layer)] for path, layer in iter_layers(net) if id(layer) in self.of]


def _rng(seed):
    return np.random.default_rng(as_int("seed", seed, minimum=0))


def _conv_bn_qcfs(name, prefix, c_in, c_out, stride, bias, levels, theta, rng, qcfs=True):
    """Conv3×3 → BatchNorm (→ QCFS), named ``prefix.0``, ``prefix.1``, ``prefix.2`` by default."""
    conv = name(f"{prefix}.0", Conv2d(c_in, c_out, 3, stride, 1, rng=rng), None if bias else ("weight",))
    layers = [conv, name(f"{prefix}.1", BatchNorm(c_out))]
    return layers + [name(f"{prefix}.2", QCFS(theta, levels))] if qcfs else layers


def _vgg16(levels, classes=10, image_size=32, width=64, hidden=4096, theta=8.0, in_channels=3, seed=0):
    name, rng = _Names(), _rng(seed)
    levels, classes, width, hidden = (as_int(k, v) for k, v in
                                      (("levels", levels), ("classes", classes), ("width", width), ("hidden", hidden)))
    size, c = as_int("image_size", image_size, minimum=32), as_int("in_channels", in_channels)
    stages = []
    for k, (convs, w) in enumerate(zip((2, 2, 3, 3, 3), (1, 2, 4, 8, 8)), 1):
        layers = []
        for j in range(convs):  # the authors' index: conv, BN, QCFS, Dropout per convolution
            p = f"layer{k}"
            layers += [name(f"{p}.{4 * j}", Conv2d(c, w * width, 3, 1, 1, rng=rng)),
                       name(f"{p}.{4 * j + 1}", BatchNorm(w * width)), name(f"{p}.{4 * j + 2}", QCFS(theta, levels))]
            c = w * width
        stages.append(Sequential(*layers, AvgPool2d(2)))
        size //= 2
    head = Sequential(Flatten(), name("classifier.1", Linear(c * size * size, hidden, rng)),
                      name("classifier.2", QCFS(theta, levels)), name("classifier.4", Linear(hidden, hidden, rng)),
                      name("classifier.5", QCFS(theta, levels)), name("classifier.7", Linear(hidden, classes, rng)))
    return Sequential(*stages, head), name


def _block(name, prefix, c_in, c_out, stride, levels, theta, rng):
    """The authors' BasicBlock: QCFS(residual_function(x) + shortcut(x))."""
    main = _conv_bn_qcfs(name, f"{prefix}.residual_function", c_in, c_out, stride, False, levels, theta, rng)
    second = name(f"{prefix}.residual_function.3", Conv2d(c_out, c_out, 3, 1, 1, rng=rng), ("weight",))
    main += [second, name(f"{prefix}.residual_function.4", BatchNorm(c_out))]
    shortcut = None
    if stride != 1 or c_in != c_out:
        shortcut = Sequential(name(f"{prefix}.shortcut.0", Conv2d(c_in, c_out, 1, stride, rng=rng), ("weight",)),
                              name(f"{prefix}.shortcut.1", BatchNorm(c_out)))
    return Residual(Sequential(*main), shortcut, name(f"{prefix}.relu", QCFS(theta, levels)))


def _resnet(levels, blocks, classes=10, width=16, image_size=32, theta=8.0, in_channels=3, seed=0):
    name, rng = _Names(), _rng(seed)
    levels, classes, width = as_int("levels", levels), as_int("classes", classes), as_int("width", width)
    size, c = as_int("image_size", image_size, minimum=2 ** len(blocks)), as_int("in_channels", in_channels)
    parts = [Sequential(*_conv_bn_qcfs(name, "conv1", c, width, 1, False, levels, theta, rng))]
    c = width
    for k, n in enumerate(blocks):
        w, stage = width * 2 ** k, []
        for b in range(as_int("blocks", n)):
            stride = 2 if k > 0 and b == 0 else 1
            stage.append(_block(name, f"conv{k + 2}_x.{b}", c, w, stride, levels, theta, rng))
            c, size = w, (size + 1) // 2 if stride == 2 else size  # 3×3, padding 1, stride 2
        parts.append(Sequential(*stage))
    parts += [AvgPool2d(size), Flatten(), name("fc", Linear(c, classes, rng))]  # AdaptiveAvgPool2d((1, 1))
    return Sequential(*parts), name


def _conv_bn(name, rng, prefix, c_in, c_out, kernel, stride, bn):
    """Conv k×k without bias (padding k // 2) → BatchNorm, named ``prefix`` and ``bn``."""
    conv = name(prefix, Conv2d(c_in, c_out, kernel, stride, kernel // 2, rng=rng), ("weight",))
    return [conv, name(bn, BatchNorm(c_out))]


def _torchvision_block(name, rng, prefix, c_in, width, stride, bottleneck):
    """A torchvision BasicBlock (two 3×3, ``relu1`` between, ``relu2`` after the sum) or
    Bottleneck (1×1 → 3×3 with the stride → 1×1 to 4·width, ``relu3`` after the sum)."""
    p = prefix
    if bottleneck:
        c_out = 4 * width
        main = (_conv_bn(name, rng, f"{p}.conv1", c_in, width, 1, 1, f"{p}.bn1") + [ReLU()]
                + _conv_bn(name, rng, f"{p}.conv2", width, width, 3, stride, f"{p}.bn2") + [ReLU()]
                + _conv_bn(name, rng, f"{p}.conv3", width, c_out, 1, 1, f"{p}.bn3"))
    else:
        c_out = width
        main = (_conv_bn(name, rng, f"{p}.conv1", c_in, width, 3, stride, f"{p}.bn1") + [ReLU()]
                + _conv_bn(name, rng, f"{p}.conv2", width, width, 3, 1, f"{p}.bn2"))
    shortcut = None
    if stride != 1 or c_in != c_out:
        shortcut = Sequential(*_conv_bn(name, rng, f"{p}.downsample.0", c_in, c_out, 1, stride, f"{p}.downsample.1"))
    return Residual(Sequential(*main), shortcut, ReLU()), c_out


def _relu_resnet(blocks, bottleneck, classes=1000, width=64, image_size=224, in_channels=3, seed=0):
    name, rng = _Names(), _rng(seed)
    classes, width = as_int("classes", classes), as_int("width", width)
    size, c = as_int("image_size", image_size), as_int("in_channels", in_channels)
    stem = Sequential(*_conv_bn(name, rng, "conv1", c, width, 7, 2, "bn1"), ReLU(), MaxPool2d(3, 2, 1))
    parts, c, size = [stem], width, ((size - 1) // 2) // 2 + 1  # 7×7 stride 2 padding 3, then the max pooling
    for k, n in enumerate(blocks):
        stage = []
        for b in range(as_int("blocks", n)):
            stride = 2 if k > 0 and b == 0 else 1
            block, c = _torchvision_block(name, rng, f"layer{k + 1}.{b}", c, width * 2 ** k, stride, bottleneck)
            stage.append(block)
            size = (size - 1) // 2 + 1 if stride == 2 else size
        parts.append(Sequential(*stage))
    parts += [AvgPool2d(size), Flatten(), name("fc", Linear(c, classes, rng))]  # AdaptiveAvgPool2d((1, 1))
    return Sequential(*parts), name


def vgg16(levels, classes=10, image_size=32, width=64, hidden=4096, theta=8.0, in_channels=3, seed=0):
    """The authors' VGG-16 with QCFS activations (module docstring).

    Parameters
    ----------
    levels : int
        T̃, the QCFS level of every activation.
    classes : int, default 10
    image_size : int, default 32
        32 (CIFAR, a 512-wide head input) or 224 (ImageNet, 512·7·7); at least 32.
    width, hidden : int, default 64 and 4096
        The first stage's channels (then 2w, 4w, 8w, 8w) and the head's hidden width;
        smaller values make the same layout in miniature, for tests.
    theta : float, default 8.0
        The initial QCFS threshold θ (the authors' initial ``up``).
    in_channels : int, default 3
    seed : int, default 0
        Seed of the random initial weights (overwritten by :func:`load_authors`).

    Returns
    -------
    refsnn.networks.containers.Sequential
        Input (B, in_channels, image_size, image_size), output (B, classes).
    """
    return _vgg16(levels, classes, image_size, width, hidden, theta, in_channels, seed)[0]


def resnet20(levels, classes=10, image_size=32, width=16, blocks=(3, 3, 3), theta=8.0, in_channels=3, seed=0):
    """The authors' ResNet-20 for CIFAR (``ResNet4Cifar``): widths w, 2w, 4w with ``blocks``
    BasicBlocks each (module docstring); other arguments as in :func:`vgg16`."""
    return _resnet(levels, blocks, classes, width, image_size, theta, in_channels, seed)[0]


def resnet18(levels, classes=10, image_size=32, width=64, theta=8.0, in_channels=3, seed=0):
    """The authors' QCFS ResNet-18: [2, 2, 2, 2] BasicBlocks of widths w … 8w, 3×3 stride-1
    stem without max pooling (module docstring); arguments as in :func:`vgg16`."""
    return _resnet(levels, (2, 2, 2, 2), classes, width, image_size, theta, in_channels, seed)[0]


def resnet34(levels, classes=10, image_size=32, width=64, theta=8.0, in_channels=3, seed=0):
    """The authors' QCFS ResNet-34: [3, 4, 6, 3] BasicBlocks, otherwise as :func:`resnet18`."""
    return _resnet(levels, (3, 4, 6, 3), classes, width, image_size, theta, in_channels, seed)[0]


def relu_resnet18(classes=1000, image_size=224, width=64, in_channels=3, seed=0):
    """The authors' torchvision-layout ReLU ResNet-18: [2, 2, 2, 2] BasicBlocks after the
    analog stem (module docstring); ``width`` w gives stages w … 8w, other arguments as in
    :func:`vgg16`. Input (B, in_channels, image_size, image_size), output (B, classes)."""
    return _relu_resnet((2, 2, 2, 2), False, classes, width, image_size, in_channels, seed)[0]


def relu_resnet34(classes=1000, image_size=224, width=64, in_channels=3, seed=0):
    """ReLU ResNet-34: [3, 4, 6, 3] BasicBlocks, otherwise as :func:`relu_resnet18`."""
    return _relu_resnet((3, 4, 6, 3), False, classes, width, image_size, in_channels, seed)[0]


def relu_resnet50(classes=1000, image_size=224, width=64, in_channels=3, seed=0):
    """ReLU ResNet-50: [3, 4, 6, 3] Bottlenecks (outputs 4w … 32w), otherwise as :func:`relu_resnet18`."""
    return _relu_resnet((3, 4, 6, 3), True, classes, width, image_size, in_channels, seed)[0]


def relu_resnet101(classes=1000, image_size=224, width=64, in_channels=3, seed=0):
    """ReLU ResNet-101: [3, 4, 23, 3] Bottlenecks, otherwise as :func:`relu_resnet50`."""
    return _relu_resnet((3, 4, 23, 3), True, classes, width, image_size, in_channels, seed)[0]


def _relu(blocks, bottleneck):
    """An ARCHITECTURES builder of a ReLU ResNet: ReLU networks have no level, ``levels`` is None."""
    def build(levels, blocks=blocks, **options):
        if levels is not None:
            raise ValueError(f"levels={levels!r}: a ReLU network has no QCFS level T~ (leave it out)")
        return _relu_resnet(blocks, bottleneck, **options)
    return build


#: Architecture name → builder of (network, names): the names of ``refsnn evaluate --arch``.
ARCHITECTURES = {
    "vgg16": _vgg16,
    "resnet18": lambda levels, **kw: _resnet(levels, (2, 2, 2, 2), width=kw.pop("width", 64), **kw),
    "resnet20": lambda levels, blocks=(3, 3, 3), **kw: _resnet(levels, blocks, width=kw.pop("width", 16), **kw),
    "resnet34": lambda levels, **kw: _resnet(levels, (3, 4, 6, 3), width=kw.pop("width", 64), **kw),
    "resnet18_relu": _relu((2, 2, 2, 2), False),
    "resnet34_relu": _relu((3, 4, 6, 3), False),
    "resnet50_relu": _relu((3, 4, 6, 3), True),
    "resnet101_relu": _relu((3, 4, 23, 3), True),
}
#: Architecture name → its analog prefix, the top-level layers that stay analog in the SNN
#: (the stem of the ReLU ResNets); 0 for the others.
ANALOG_PREFIX = {arch: int(arch.endswith("_relu")) for arch in ARCHITECTURES}


def _build(arch, levels, options):
    check_choice("arch", arch, tuple(ARCHITECTURES))
    if levels is None and not ANALOG_PREFIX[arch]:
        raise ValueError(f"the authors' {arch} is a QCFS network: its level T~ (levels) is required")
    return ARCHITECTURES[arch](levels, **options)


def _fill(layer, prefix, keys, state, used, problems):
    """Copy ``prefix.key`` of ``state`` into ``layer`` for every key; a missing or mis-shaped
    key goes into ``problems``. Returns the DA-QCFS that replaces a calibrated QCFS, or None."""
    params = {"up": layer.theta} if isinstance(layer, QCFS) else layer.__dict__
    for key in keys:
        name, target = f"{prefix}.{key}", params[key]
        if name not in state:
            problems["missing"].append(f"{name} {target.shape}")
        elif state[name].shape != target.shape:
            problems["mis-shaped"].append(f"{name} is {state[name].shape}, expected {target.shape}")
            used.add(name)
        else:
            target[...] = state[name]
            used.add(name)
    if isinstance(layer, QCFS):
        return _calibrated(layer, prefix, state, used, problems)
    return None


def _calibrated(qcfs, prefix, state, used, problems):
    """The DA-QCFS of a QCFS whose checkpoint holds non-zero ``rec_in_mean`` and
    ``rec_th_mean``: ψ_DA and φ_DA, one per channel (module docstring); else None."""
    found = [f"{prefix}.{key}" for key in CALIBRATION_KEYS if f"{prefix}.{key}" in state]
    used.update(found)
    if not found:
        return None
    if len(found) == 1:
        problems["missing"].append(f"{prefix}.{CALIBRATION_KEYS[found[0].endswith('in_mean')]} (beside {found[0]})")
        return None
    psi, phi = (state[name] for name in found)
    if psi.ndim != 3 or psi.shape[1:] != (1, 1) or phi.shape != psi.shape:
        problems["mis-shaped"].append(f"{found[0]} is {psi.shape} and {found[1]} {phi.shape}, expected (C, 1, 1)")
        return None
    if not (psi.any() or phi.any()):  # never calibrated: DA-QCFS with ψ_DA = φ_DA = 0 is the QCFS itself
        return None
    theta = np.full(psi.shape[0], qcfs.theta[0])
    return DAQCFS(theta, qcfs.levels, psi_da=psi.reshape(-1), phi_da=phi.reshape(-1))


def _swap(layer, new):
    """``layer`` with every leaf whose id is a key of ``new`` replaced by its value."""
    if id(layer) in new:
        return new[id(layer)]
    replaced = map_children(layer, lambda child: _swap(child, new))
    return layer if replaced is layer else replaced


def load_authors(checkpoint, arch, levels=None, **options):
    """A refsnn network from a checkpoint of the authors' code (module docstring).

    Parameters
    ----------
    checkpoint : str, os.PathLike or dict
        A ``torch.save`` file (read by :func:`refsnn.networks.checkpoints.load_state_dict`,
        nesting and ``module.`` prefixes allowed), or a state dict of NumPy arrays.
    arch : str
        A key of :data:`ARCHITECTURES`: "vgg16", "resnet18", "resnet20", "resnet34" (QCFS)
        or "resnet18_relu", "resnet34_relu", "resnet50_relu", "resnet101_relu" (ReLU).
    levels : int
        T̃, the QCFS level the network was trained with (not stored in a checkpoint);
        required for the QCFS networks, left out (None) for the ReLU ones.
    **options
        ``classes``, ``image_size``, ``width``, ``in_channels`` (and ``hidden`` for vgg16,
        ``blocks`` for resnet20 and the ReLU ResNets) as the builders take them; they must
        describe the checkpoint, or its keys come out mis-shaped.

    Returns
    -------
    refsnn.networks.containers.Sequential
        In evaluation mode, float32 weights, QCFS (or DA-QCFS where the checkpoint was
        calibrated) at level ``levels``, or ReLU; its first :data:`ANALOG_PREFIX` ``[arch]``
        top-level layers are the analog prefix of the converted SNN.

    Raises
    ------
    ValueError
        Naming every missing, unexpected and mis-shaped key, a threshold ``up`` <= 0, or
        the file if it cannot be read.
    """
    state = dict(checkpoint) if isinstance(checkpoint, dict) else load_state_dict(checkpoint)
    net, names = _build(arch, levels, options)
    used, problems, calibrated = set(), {"missing": [], "unexpected": [], "mis-shaped": []}, {}
    for path, layer, prefix, keys in names.layout(net):
        replacement = _fill(layer, prefix, keys, state, used, problems)
        if replacement is not None:
            calibrated[id(layer)] = replacement
    problems["unexpected"] = [k for k in state if k not in used and not k.endswith(".num_batches_tracked")]
    _raise_problems(checkpoint, arch, problems)
    for path, layer, prefix, _ in names.layout(net):
        if isinstance(layer, QCFS) and not layer.theta[0] > 0:
            raise ValueError(f"{_source(checkpoint)}: {prefix}.up = {layer.theta[0]}, but a QCFS threshold must be > 0")
    return set_training(_swap(net, calibrated), False)


def _source(checkpoint):
    return "the state dict" if isinstance(checkpoint, dict) else str(checkpoint)


def _raise_problems(checkpoint, arch, problems):
    found = [(kind, items) for kind, items in problems.items() if items]
    if found:
        listed = "; ".join(f"{len(items)} {kind}: {', '.join(items[:6])}{' …' * (len(items) > 6)}"
                           for kind, items in found)
        raise ValueError(f"{_source(checkpoint)} does not fit the authors' {arch}: {listed}")


def authors_state_dict(net, arch, levels=None, **options):
    """The arrays of ``net`` under the authors' key names: what their ``main.py`` loads once
    each is passed to ``torch.from_numpy`` and saved as ``{'model': state_dict}``.

    ``net`` must have the layout that ``arch``, ``levels`` and ``options`` build (as from
    :func:`load_authors` or the builders). A DA-QCFS layer must have one threshold θ for
    all channels (the authors' ``up`` is a scalar) and gets ``rec_in_mean`` = ψ_DA and
    ``rec_th_mean`` = φ_DA of shape (C, 1, 1); BatchNorm gets ``num_batches_tracked`` 0.
    """
    reference, names = _build(arch, levels, options)
    pairs = list(zip((layer for _, layer in iter_layers(net)), iter_layers(reference)))
    same = len(pairs) == len(list(iter_layers(reference))) and all(
        type(ours) is type(ref) or (isinstance(ours, DAQCFS) and isinstance(ref, QCFS)) for ours, (_, ref) in pairs)
    if not same:
        raise ValueError(f"net does not have the layout of the authors' {arch} with options {options}")
    state = {}
    for ours, (path, ref) in pairs:
        if id(ref) in names.of:
            state.update(_arrays_of(ours, *names.of[id(ref)], path))
    return state


def _arrays_of(layer, prefix, keys, path):
    if isinstance(layer, DAQCFS):
        if not np.all(layer.theta == layer.theta[0]):
            raise ValueError(f"layer {path} ({layer!r}) has channel thresholds; the authors' up is one scalar")
        shape = (-1, 1, 1)
        return {f"{prefix}.up": layer.theta[:1].astype(np.float32),
                f"{prefix}.rec_in_mean": layer.psi_da.reshape(shape).astype(np.float32),
                f"{prefix}.rec_th_mean": layer.phi_da.reshape(shape).astype(np.float32)}
    if isinstance(layer, QCFS):
        return {f"{prefix}.up": layer.theta.astype(np.float32)}
    if isinstance(layer, Conv2d) and "bias" not in keys and layer.bias.any():
        raise ValueError(f"layer {path} ({layer!r}) has a bias, which the authors' {prefix} does not have")
    out = {f"{prefix}.{key}": getattr(layer, key).copy() for key in keys}
    if isinstance(layer, BatchNorm):
        out[f"{prefix}.num_batches_tracked"] = np.array(0, np.int64)
    return out
