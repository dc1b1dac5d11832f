"""refsnn against torch itself: skipped where torch is not installed.

* :func:`refsnn.networks.checkpoints.read_checkpoint` returns what
  ``torch.load(..., weights_only=True)`` returns, for every dtype a state dict holds,
  views with offsets and strides, storages shared by several tensors and nested dicts;
* the authors' networks (``tests/fixtures/authors_models.py``), with random weights,
  BatchNorm statistics and ``up``, load through :func:`refsnn.networks.zoo.load_authors`
  and give torch's logits (module tests below).
"""

import collections
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from refsnn.networks.checkpoints import load_state_dict, read_checkpoint  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))


def as_numpy(value):
    if isinstance(value, torch.Tensor):
        value = value.detach()
        return (value.float() if value.dtype == torch.bfloat16 else value).numpy()
    if isinstance(value, dict):
        return {k: as_numpy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(as_numpy(v) for v in value)
    return value


def assert_same(ours, theirs, where="top"):
    if isinstance(theirs, np.ndarray):
        assert isinstance(ours, np.ndarray) and ours.dtype == theirs.dtype and ours.shape == theirs.shape, where
        np.testing.assert_array_equal(ours, theirs, err_msg=where)
    elif isinstance(theirs, dict):
        assert list(ours) == list(theirs), where
        for k in theirs:
            assert_same(ours[k], theirs[k], f"{where}.{k}")
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, f"{where}[{i}]")
    else:
        assert ours == theirs, where


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64,
                                   torch.int32, torch.int8, torch.uint8, torch.bool])
def test_every_dtype_as_torch_loads_it(tmp_path, dtype):
    g = torch.Generator().manual_seed(1)
    base = (torch.randn(5, 7, generator=g) * 50).to(dtype)
    obj = {"x": base, "t": base.t(), "slice": base[1:4, 2::3], "row": base[3], "scalar": base[2, 2]}
    torch.save(obj, tmp_path / "a.pth")
    assert_same(read_checkpoint(tmp_path / "a.pth"), as_numpy(torch.load(tmp_path / "a.pth", weights_only=True)))


def test_views_shared_storages_and_nesting_as_torch_loads_them(tmp_path):
    g = torch.Generator().manual_seed(2)
    big = torch.randn(4, 3, 6, 5, generator=g)
    state = collections.OrderedDict(
        [("a", big), ("perm", big.permute(2, 0, 3, 1)), ("narrow", big.narrow(2, 1, 3)[:, ::2]),
         ("expand", torch.randn(3, 1, generator=g).expand(3, 4)), ("flat", big.view(-1)[7:19]),
         ("param", torch.nn.Parameter(torch.randn(2, 2, generator=g)))])
    obj = {"model": state, "epoch": 12, "history": [1.5, 2.5], "nested": {"deeper": {"t": big[0, 0]}},
           "meta": ("name", None, True)}
    torch.save(obj, tmp_path / "b.pth")
    assert_same(read_checkpoint(tmp_path / "b.pth"), as_numpy(torch.load(tmp_path / "b.pth", weights_only=True)))


def test_a_dataparallel_state_dict_loses_its_prefix(tmp_path):
    net = torch.nn.DataParallel(torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2)))
    torch.save({"state_dict": net.state_dict()}, tmp_path / "c.pth")
    plain = {k: v.numpy() for k, v in net.module.state_dict().items()}
    assert_same(load_state_dict(tmp_path / "c.pth"), plain)


# --------------------------------------------------------------------------- the authors' networks

from authors_models import resnet18_relu, resnet20_qcfs, resnet50_relu, vgg16_qcfs  # noqa: E402

from refsnn.networks.activations import DAQCFS, QCFS  # noqa: E402
from refsnn.networks.containers import iter_layers, run  # noqa: E402
from refsnn.networks.layers import MaxPool2d  # noqa: E402
from refsnn.networks.conversion import to_parallel_snn  # noqa: E402
from refsnn.networks.zoo import load_authors  # noqa: E402

LEVELS = 4


def trained_looking(model, images, generator):
    """Random weights with BatchNorm statistics that fit them (two batches in training mode,
    cumulative averages), then random γ, β and ``up``: activations of a realistic size."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = None
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=generator))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=generator))
            if hasattr(m, "up"):
                m.up.copy_(0.5 + 1.5 * torch.rand(1, generator=generator))
        model.train()
        for batch in images.split(images.shape[0] // 2):
            model(batch)
        for m in model.modules():
            if hasattr(m, "rec_in_mean"):  # as after the authors' calibration loop
                m.rec_in_mean.copy_(0.05 * torch.randn(m.rec_in_mean.shape, generator=generator))
                m.rec_th_mean.copy_(0.05 * torch.randn(m.rec_th_mean.shape, generator=generator))
    return model.eval()


def ties(net, x, tolerance=5e-7):
    """QCFS inputs within float32 rounding of a step: z·L/θ + ½ within a few ulp (``tolerance``,
    relative) of an integer, where torch and refsnn may round to different levels."""
    found = [0]

    def hook(layer, z):
        if isinstance(layer, (QCFS, DAQCFS)):
            shift = getattr(layer, "psi_da", np.zeros(1)).reshape((-1, 1, 1) if z.ndim == 4 else -1)
            theta = (layer.theta if isinstance(layer, QCFS) else layer.theta.reshape(shift.shape))
            u = (z + shift) * layer.levels / theta + 0.5
            found[0] += int((np.abs(u - np.round(u)) < tolerance * np.maximum(1, np.abs(u))).sum())
        return None

    run(net, x, hook)
    return found[0]


def compare(model, arch, tmp_path, images, **options):
    torch.save({"model": model.state_dict(), "epoch": 3}, tmp_path / "model.pth")
    net = load_authors(tmp_path / "model.pth", arch, LEVELS, **options)
    x = images.numpy()
    with torch.no_grad():
        theirs = model(images).numpy()
    ours = net.forward(x)
    n_ties = ties(net, x)
    disagree = int((ours.argmax(1) != theirs.argmax(1)).sum())
    print(f"{arch}: max |difference| {np.abs(ours - theirs).max():.2e} of max |logit| {np.abs(theirs).max():.2e}, "
          f"{n_ties} QCFS inputs within rounding of a step, {disagree} predictions differ")
    close = np.isclose(ours, theirs, rtol=1e-5, atol=1e-5 * np.abs(theirs).max()).all(axis=1)
    assert disagree <= n_ties and int((~close).sum()) <= n_ties  # only a tie may move an image's logits
    return net, x


def assert_theorem_4_1(net, x):
    """Theorem 4.1 on a full-size network: the parallel SNN at T = T̃ predicts what refsnn's
    ANN predicts, except where a float tie (:func:`ties`) flips one level, which a deep
    network then carries to its output."""
    disagree = int((to_parallel_snn(net, LEVELS).predict(x) != net.forward(x).argmax(1)).sum())
    n_ties = ties(net, x)
    print(f"  parallel SNN at T = T~: {disagree} of {len(x)} predictions differ from the ANN, {n_ties} ties")
    assert disagree <= n_ties


@pytest.mark.parametrize("calibrated", [False, True])
def test_resnet20_gives_torchs_logits(tmp_path, calibrated):
    g = torch.Generator().manual_seed(3)
    images = torch.randn(16, 3, 32, 32, generator=g)
    model = trained_looking(resnet20_qcfs(LEVELS, classes=10, calibrated=calibrated), images, g)
    net, x = compare(model, "resnet20", tmp_path, images)
    kinds = {type(layer) for _, layer in iter_layers(net) if isinstance(layer, (QCFS, DAQCFS))}
    assert kinds == ({DAQCFS} if calibrated else {QCFS})
    if not calibrated:
        assert_theorem_4_1(net, x)


def test_vgg16_gives_torchs_logits(tmp_path):
    g = torch.Generator().manual_seed(4)
    images = torch.randn(4, 3, 32, 32, generator=g)
    model = trained_looking(vgg16_qcfs(LEVELS, classes=100), images, g)
    net, x = compare(model, "vgg16", tmp_path, images, classes=100)
    assert_theorem_4_1(net, x)


@pytest.mark.parametrize("arch, build, options", [
    ("resnet18_relu", resnet18_relu, dict(classes=10, image_size=32)),
    ("resnet50_relu", resnet50_relu, dict(classes=10, image_size=32, width=8, blocks=(1, 2, 1, 1))),
])
def test_torchvision_relu_resnet_gives_torchs_logits(tmp_path, arch, build, options):
    """The torchvision-layout ReLU ResNets, stem max pooling included: torch's logits within
    1e-5 relative (ReLU has no steps, so no float tie can move a prediction)."""
    g = torch.Generator().manual_seed(5)
    images = torch.randn(8, 3, 32, 32, generator=g)
    torch_options = {k: v for k, v in options.items() if k in ("classes", "width", "blocks")}
    model = trained_looking(build(**torch_options), images, g)
    torch.save({"model": model.state_dict()}, tmp_path / "model.pth")
    net = load_authors(tmp_path / "model.pth", arch, **options)
    with torch.no_grad():
        theirs = model(images).numpy()
    ours = net.forward(images.numpy())
    print(f"{arch}: max |difference| {np.abs(ours - theirs).max():.2e} of max |logit| {np.abs(theirs).max():.2e}")
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * np.abs(theirs).max())
    assert (ours.argmax(1) == theirs.argmax(1)).all()


def test_max_pooling_gives_torchs_output_and_gradient():
    """MaxPool2d(3, 2, 1) of refsnn against torch's, forward and backward, on an odd size."""
    g = torch.Generator().manual_seed(6)
    x = torch.randn(2, 3, 9, 7, generator=g, dtype=torch.float64, requires_grad=True)
    for kernel, stride, padding in ((3, 2, 1), (2, 2, 0), (3, 1, 1)):
        out = torch.nn.MaxPool2d(kernel, stride, padding)(x)
        upstream = torch.randn(out.shape, generator=g, dtype=torch.float64)
        (theirs,) = torch.autograd.grad(out, x, upstream)
        ours = MaxPool2d(kernel, stride, padding)
        np.testing.assert_array_equal(ours.forward(x.detach().numpy()), out.detach().numpy())
        np.testing.assert_allclose(ours.backward(upstream.numpy()), theirs.numpy(), rtol=1e-12)
