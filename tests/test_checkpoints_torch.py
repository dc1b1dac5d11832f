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
