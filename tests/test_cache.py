"""Tests for refsnn.programs.cache: where trained weights live and when they are reused.

* :func:`cache_dir` follows $REFSNN_CACHE_DIR, else $XDG_CACHE_HOME/refsnn;
* :func:`cache_path` is ``<name>-seed<seed>-<12 hex digits>.npz``, the digits those of
  the SHA-256 of the key as sorted JSON; the demo's key holds its settings and the
  digest of its training data (:func:`array_digest`, a content hash);
* :func:`trained` trains and saves once, then loads (logging the path) without training,
  and trains again with ``retrain=True``;
* the cache never stops a run: an entry that does not load is reported in one line,
  trained again and replaced; a folder at its path is reported and kept; a folder that
  cannot be written is reported by :func:`check_cache`, a failed save by :func:`trained`;
* temporary files of killed writes (the pattern :func:`refsnn._files.atomic_write`
  uses) are removed once stale, and a fresh one is kept."""

import errno
import hashlib
import os
import time

import numpy as np
import pytest

from refsnn._files import atomic_write
from refsnn.networks import io
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


def test_demo_cache_names_hash_the_settings_and_the_data():
    """The demo's names on the embedded digits (update them only on purpose, together
    with the demo's settings or the key's rule); other training data, other names."""
    data = demo.load_digits(seed=0)
    assert demo._cache_path("qcfs", 0, data).name == "digits-qcfs-seed0-32c0405b8ef9.npz"
    assert demo._cache_path("relu", 0, data).name == "digits-relu-seed0-b594d6bcd757.npz"
    copy = tuple(a.copy() for a in data)
    assert demo._cache_path("qcfs", 0, copy) == demo._cache_path("qcfs", 0, data)
    other = (data[0][::-1].copy(), data[1][::-1].copy(), *data[2:])  # the same images, another order
    assert demo._cache_path("qcfs", 0, other) != demo._cache_path("qcfs", 0, data)


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


# --------------------------------------------------------------------------- a damaged entry


def _counting_train(calls):
    """A ``train`` for :func:`cache.trained` that counts its calls in ``calls``."""
    def train():
        calls.append(1)
        return build_cnn(ReLU, np.random.default_rng(len(calls)))
    return train


def _damage(path, how):
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[:len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    else:  # one bit flipped in the middle of the archive
        flipped = bytearray(data)
        flipped[len(data) // 2] ^= 0x10
        path.write_bytes(bytes(flipped))


@pytest.mark.parametrize("how", ["truncated", "empty", "bit-flipped"])
def test_an_entry_that_does_not_load_is_reported_trained_again_and_replaced(tmp_path, how):
    path = tmp_path / "net.npz"
    calls, lines = [], []
    cache.trained(path, _counting_train(calls), log=lines.append)
    _damage(path, how)
    with pytest.raises(ValueError):
        io.load(path)
    net = cache.trained(path, _counting_train(calls), log=lines.append)
    assert len(calls) == 2
    assert len(lines) == 1 and lines[0].startswith("warning:") and str(path) in lines[0], lines
    assert "not a readable refsnn file" in lines[0]  # why, in io.load's words
    assert (io.load(path)[0].weight == net[0].weight).all()  # replaced by the new weights
    assert cache.trained(path, _counting_train(calls), log=lines.append) is not None and len(calls) == 2


def test_a_folder_at_the_entry_path_is_reported_and_left_alone(tmp_path):
    path = tmp_path / "net.npz"
    path.mkdir()
    (path / "mine.txt").write_text("the user's")
    calls, lines = [], []
    for _ in range(2):  # never cached: trained each time
        assert cache.trained(path, _counting_train(calls), log=lines.append) is not None
    assert len(calls) == 2
    assert len(lines) == 2 and all(line.startswith("warning:") and str(path) in line and "folder" in line
                                   for line in lines), lines
    assert [p.name for p in path.iterdir()] == ["mine.txt"] and (path / "mine.txt").read_text() == "the user's"


# --------------------------------------------------------------------------- a cache that cannot be written


def test_check_cache_accepts_a_writable_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("REFSNN_CACHE_DIR", str(tmp_path / "new" / "cache"))
    lines = []
    assert cache.check_cache(lines.append) is True and lines == []
    assert list((tmp_path / "new" / "cache").iterdir()) == []  # nothing left behind


@pytest.mark.parametrize("below", ["", "sub"])
def test_check_cache_warns_in_one_line_about_a_file_in_the_way(monkeypatch, tmp_path, below):
    (tmp_path / "file").write_text("not a folder")
    folder = tmp_path / "file" / below if below else tmp_path / "file"
    monkeypatch.setenv("REFSNN_CACHE_DIR", str(folder))
    lines = []
    assert cache.check_cache(lines.append) is False
    assert len(lines) == 1 and lines[0].startswith("warning:") and str(folder) in lines[0], lines
    assert "without caching" in lines[0]
    assert (tmp_path / "file").read_text() == "not a folder"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions and no root")
def test_check_cache_warns_about_a_read_only_folder(monkeypatch, tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir()
    folder.chmod(0o555)
    monkeypatch.setenv("REFSNN_CACHE_DIR", str(folder))
    lines = []
    try:
        assert cache.check_cache(lines.append) is False
    finally:
        folder.chmod(0o755)
    assert len(lines) == 1 and str(folder) in lines[0]


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_check_cache_warns_about_a_folder_that_refuses_new_files(monkeypatch):
    """/proc exists and is a folder, but no file can be created in it, even by root."""
    monkeypatch.setenv("REFSNN_CACHE_DIR", "/proc")
    lines = []
    assert cache.check_cache(lines.append) is False
    assert len(lines) == 1 and "/proc" in lines[0]


def test_a_failed_save_is_reported_and_the_network_returned(monkeypatch, tmp_path):
    path = tmp_path / "net.npz"

    def full_disk(net, target):
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(cache.io, "save", full_disk)
    calls, lines = [], []
    net = cache.trained(path, _counting_train(calls), log=lines.append)
    assert net is not None and len(calls) == 1 and not path.exists()
    assert len(lines) == 1 and lines[0].startswith("warning:") and "No space left" in lines[0], lines


def test_a_file_in_place_of_the_folder_is_reported_and_the_network_returned(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    lines = []
    net = cache.trained(tmp_path / "file" / "net.npz", _counting_train([]), log=lines.append)
    assert net is not None and len(lines) == 1 and lines[0].startswith("warning:")
    assert (tmp_path / "file").read_text() == "not a folder"


def test_cache_false_trains_without_writing_but_still_loads(tmp_path):
    path = tmp_path / "net.npz"
    calls, lines = [], []
    cache.trained(path, _counting_train(calls), log=lines.append, cache=False)
    assert not path.exists() and lines == []
    cache.trained(path, _counting_train(calls), log=lines.append)
    cache.trained(path, _counting_train(calls), log=lines.append, cache=False)
    assert len(calls) == 2 and len(lines) == 1 and "loaded" in lines[0]  # a read-only cache still serves


# --------------------------------------------------------------------------- the key covers the data


def test_array_digest_is_a_content_hash():
    X = np.arange(12, dtype=np.float32).reshape(3, 4)
    y = np.array([0, 1, 2])
    digest = cache.array_digest(X, y)
    assert digest == cache.array_digest(X.copy(), y.copy())  # same data, same digest
    assert digest == cache.array_digest(np.asfortranarray(X), y)  # memory layout does not matter
    changed = X.copy()
    changed[1, 2] = np.nextafter(changed[1, 2], np.float32(np.inf))
    others = [cache.array_digest(changed, y),  # one value, by one ulp
              cache.array_digest(X, y[::-1]),  # the labels
              cache.array_digest(X.reshape(4, 3), y),  # the same bytes in another shape
              cache.array_digest(X.astype(np.float64), y),  # the same values in another dtype
              cache.array_digest(X.view(np.int32), y),  # the same bytes in another dtype
              cache.array_digest(y, X)]  # the order of the arrays
    assert len({digest, *others}) == 1 + len(others)


# --------------------------------------------------------------------------- stale temporary files


def test_the_stale_pattern_is_the_one_atomic_write_uses(tmp_path):
    seen = []

    def write(file):
        seen.extend(os.listdir(tmp_path))
        file.write(b"x")

    atomic_write(tmp_path / "net-seed0-0123456789ab.npz", write)
    assert len(seen) == 1 and cache._TEMPORARY.fullmatch(seen[0]), seen


def test_stale_temporary_files_are_removed_and_fresh_ones_kept(tmp_path):
    old = time.time() - cache.STALE_SECONDS - 60
    names = {"stale": ".net-seed0-0123456789ab.npz.0badc0de.tmp",  # left by a killed write
             "fresh": ".net-seed1-0123456789ab.npz.12345678.tmp",  # another run is writing it
             "entry": "net-seed2-0123456789ab.npz",
             "user": ".notes.tmp", "other": ".data.json.0badc0de.tmp"}
    for key, name in names.items():
        (tmp_path / name).write_bytes(b"x")
        if key != "fresh":
            os.utime(tmp_path / name, (old, old))
    cache.trained(tmp_path / "net.npz", _counting_train([]), log=lambda line: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        {"net.npz", *(name for key, name in names.items() if key != "stale")})
