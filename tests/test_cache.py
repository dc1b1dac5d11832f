"""Tests for refsnn.programs.cache: where trained weights live and when they are reused.

* :func:`cache_dir` follows $REFSNN_CACHE_DIR, else $XDG_CACHE_HOME/refsnn;
* :func:`cache_path` is ``<name>-seed<seed>-<12 hex digits>.npz``, the digits those of
  the SHA-256 of the key as sorted JSON; the demo's file names stay what users' caches
  hold;
* :func:`trained` trains and saves once, then loads (logging the path) without training,
  and trains again with ``retrain=True``.
"""

import hashlib

import numpy as np

from refsnn.networks.activations import ReLU
from refsnn.networks.models import build_cnn
from refsnn.programs import cache, demo, results


def test_cache_dir_respects_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("REFSNN_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / "refsnn"
    monkeypatch.setenv("REFSNN_CACHE_DIR", str(tmp_path / "x"))
    assert cache.cache_dir() == tmp_path / "x"
    assert results.cache_dir is cache.cache_dir  # the old import path still works


def test_cache_path_hashes_the_sorted_key(monkeypatch, tmp_path):
    monkeypatch.setenv("REFSNN_CACHE_DIR", str(tmp_path))
    digest = hashlib.sha256(b'{"a": 1, "b": [2, 3]}').hexdigest()[:12]
    assert cache.cache_path("net", 3, {"b": [2, 3], "a": 1}) == tmp_path / f"net-seed3-{digest}.npz"
    assert cache.cache_path("net", 3, {"a": 1, "b": [2, 4]}) != cache.cache_path("net", 3, {"a": 1, "b": [2, 3]})


def test_demo_cache_names_are_those_users_have():
    """The demo's settings and key are unchanged: a changed name would retrain needlessly
    (update these names only on purpose, together with the demo's settings)."""
    assert demo._cache_path("qcfs", 0).name == "digits-qcfs-seed0-c208c9c562ab.npz"
    assert demo._cache_path("relu", 0).name == "digits-relu-seed0-d8d98ad6e359.npz"


def test_trained_trains_once_then_loads(tmp_path):
    path = tmp_path / "new folder" / "net.npz"
    calls, lines = [], []

    def train():
        calls.append(1)
        return build_cnn(ReLU, np.random.default_rng(len(calls)))

    first = cache.trained(path, train, log=lines.append, loaded="loaded it")
    assert len(calls) == 1 and path.exists() and lines == []
    second = cache.trained(path, train, log=lines.append, loaded="loaded it")
    assert len(calls) == 1 and lines == [f"loaded it: {path}"]
    assert all((first[i].weight == second[i].weight).all() for i in (0, 3, 7))  # the two Conv2d and the Linear
    third = cache.trained(path, train, retrain=True, log=lines.append, loaded="loaded it")
    assert len(calls) == 2 and len(lines) == 1
    assert not (third[0].weight == first[0].weight).all()  # trained again, and saved
    assert (cache.trained(path, train, log=lines.append)[0].weight == third[0].weight).all()
