"""Tests for refsnn.networks.data. All MNIST and CIFAR-10 files are generated here, in tmp_path.

* the bundled digits parse exactly as scikit-learn parses them, and the seeded split is
  stratified, disjoint, complete and reproducible;
* IDX and CIFAR files written here read back to the same pixels and labels;
* every kind of broken file (missing, truncated, bad magic, wrong shape, inconsistent
  counts, hostile pickle) raises FileNotFoundError or ValueError naming the path.
"""

import gzip
import os
import pickle
import re

import numpy as np
import pytest

from refsnn.networks.data import (
    load_cifar10, load_cifar100, load_digits, load_mnist, normalise, read_idx, stratified_split,
)

IDX_TYPES = {np.dtype(np.uint8): 0x08, np.dtype(np.int16): 0x0B, np.dtype(np.float32): 0x0D}


def write_idx(path, array, gz=False):
    """Write ``array`` as an IDX file: 0, 0, type byte, ndim, big-endian sizes, big-endian data."""
    array = np.asarray(array)
    header = bytes([0, 0, IDX_TYPES[array.dtype], array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)
    return path


def make_mnist(directory, n_train=5, n_test=3, gz=False, seed=0):
    """A tiny MNIST-format directory; returns the uint8 images and labels written."""
    rng = np.random.default_rng(seed)
    parts = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        write_idx(directory / f"{prefix}-images-idx3-ubyte", images, gz)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte", labels, gz)
        parts[prefix] = (images, labels)
    return parts


def make_cifar(directory, n=4, seed=0):
    """Tiny CIFAR-10 python batches, pickled with protocol 2 like the original files."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, n)]
        batch = {b"batch_label": name.encode(), b"labels": labels, b"data": data,
                 b"filenames": [f"img_{i}.png".encode() for i in range(n)]}
        with open(directory / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)
        written[name] = (data, labels)
    return written


# --------------------------------------------------------------------------- digits


def test_digits_shapes_dtypes_and_range():
    X_train, y_train, X_test, y_test = load_digits()
    assert X_train.shape == (1346, 1, 8, 8) and X_test.shape == (451, 1, 8, 8)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    assert X_train.min() == 0.0 and X_train.max() == 1.0
    assert set(np.unique(y_test)) == set(range(10))


def test_digits_parse_like_scikit_learn():
    """The embedded digits are the file scikit-learn ships; where scikit-learn happens to be
    installed, they must parse to the same images and labels. scikit-learn is not a
    dependency of refsnn, so this test is skipped without it (the other tests of this
    file check the parser on its own)."""
    sklearn_datasets = pytest.importorskip("sklearn.datasets", reason="optional check against scikit-learn, which refsnn does not depend on")
    ref = sklearn_datasets.load_digits()
    X_train, y_train, X_test, y_test = load_digits(seed=3)
    train, test = stratified_split(ref.target, 0.25, seed=3)
    np.testing.assert_array_equal(X_train[:, 0] * 16, ref.images[train])
    np.testing.assert_array_equal(y_test, ref.target[test])


def test_split_is_seeded_stratified_disjoint_and_complete():
    y = np.repeat(np.arange(4), [10, 20, 30, 41])
    train, test = stratified_split(y, 0.25, seed=1)
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(y.size))
    np.testing.assert_array_equal(np.bincount(y[test]), [3, 5, 8, 10])  # floor(n/4 + 1/2)
    again, other = stratified_split(y, 0.25, seed=1), stratified_split(y, 0.25, seed=2)
    assert np.array_equal(again[1], test) and not np.array_equal(other[1], test)
    assert not np.all(np.diff(y[train]) >= 0)  # shuffled, not sorted by class


def test_digits_same_seed_same_split():
    a, b, c = load_digits(seed=7), load_digits(seed=7), load_digits(seed=8)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[3], c[3])


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_bad_test_fraction_raises(fraction):
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits(test_fraction=fraction)


# --------------------------------------------------------------------------- IDX / MNIST


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("array", [np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
                                   np.array([-300, 7, 1000], dtype=np.int16),
                                   np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2)])
def test_read_idx_round_trip(tmp_path, array, gz):
    back = read_idx(write_idx(tmp_path / "a-idx", array, gz))
    assert back.dtype == array.dtype and back.dtype.isnative
    np.testing.assert_array_equal(back, array)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("kind", ["mnist", "fashion"])
def test_load_mnist_round_trip(tmp_path, gz, kind):
    parts = make_mnist(tmp_path, gz=gz)
    X_train, y_train, X_test, y_test = load_mnist(tmp_path, kind=kind)
    assert X_train.shape == (5, 1, 28, 28) and X_test.shape == (3, 1, 28, 28)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    np.testing.assert_allclose(X_train[:, 0] * 255, parts["train"][0], atol=1e-4)
    np.testing.assert_array_equal(y_test, parts["t10k"][1])


def test_load_mnist_unknown_kind(tmp_path):
    make_mnist(tmp_path)
    with pytest.raises(ValueError, match="kind"):
        load_mnist(tmp_path, kind="kmnist")


def test_missing_mnist_file_names_the_path(tmp_path):
    make_mnist(tmp_path)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte")
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_mnist(tmp_path / "nowhere")


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_idx_file_names_the_path(tmp_path, gz):
    make_mnist(tmp_path, gz=gz)
    path = tmp_path / ("train-images-idx3-ubyte" + (".gz" if gz else ""))
    path.write_bytes(path.read_bytes()[:-50])
    with pytest.raises(ValueError, match=re.escape(str(path))):
        load_mnist(tmp_path)


@pytest.mark.parametrize("edit,pattern", [
    (lambda b: b"\x08\x03" + b[2:], "bad magic number"),         # does not start with 0, 0
    (lambda b: b[:2] + b"\x42" + b[3:], "bad magic number"),     # unknown type byte
    (lambda b: b + b"\x00", "longer than its header"),          # trailing byte
    (lambda b: b[:6], "truncated"),                             # cut inside the header
])
def test_corrupt_idx_file_names_the_path(tmp_path, edit, pattern):
    make_mnist(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(edit(path.read_bytes()))
    with pytest.raises(ValueError, match=pattern) as info:
        load_mnist(tmp_path)
    assert str(path) in str(info.value)


def test_mismatched_image_and_label_counts(tmp_path):
    make_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="5 images.*4 labels"):
        load_mnist(tmp_path)


def test_wrong_image_size_and_label_range(tmp_path):
    make_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((5, 27, 28), np.uint8))
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        load_mnist(tmp_path)
    make_mnist(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([1, 2, 10], np.uint8))
    with pytest.raises(ValueError, match="0..9"):
        load_mnist(tmp_path)


# --------------------------------------------------------------------------- CIFAR-10


def test_load_cifar10_round_trip(tmp_path):
    written = make_cifar(tmp_path)
    X_train, y_train, X_test, y_test = load_cifar10(tmp_path)
    assert X_train.shape == (20, 3, 32, 32) and X_test.shape == (4, 3, 32, 32)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    data, labels = written["data_batch_2"]
    # row i of a batch holds 1024 red, then 1024 green, then 1024 blue values, row-major
    assert X_train[4 + 1, 2, 3, 5] == np.float32(data[1, 2 * 1024 + 3 * 32 + 5]) / np.float32(255)
    np.testing.assert_array_equal(y_train[4:8], labels)
    np.testing.assert_array_equal(y_test, written["test_batch"][1])
    assert 0.0 <= X_train.min() and X_train.max() <= 1.0


def test_load_cifar10_accepts_the_parent_directory(tmp_path):
    make_cifar(tmp_path / "cifar-10-batches-py")
    assert load_cifar10(tmp_path)[0].shape == (20, 3, 32, 32)


def test_missing_cifar_batch_names_the_path(tmp_path):
    make_cifar(tmp_path)
    os.remove(tmp_path / "test_batch")
    with pytest.raises(FileNotFoundError, match="test_batch"):
        load_cifar10(tmp_path)


def test_truncated_cifar_batch_names_the_path(tmp_path):
    make_cifar(tmp_path)
    path = tmp_path / "data_batch_3"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match="data_batch_3"):
        load_cifar10(tmp_path)


@pytest.mark.parametrize("batch,pattern", [
    ({b"data": np.zeros((3, 3072), np.uint8), b"labels": [0, 1]}, "3 images but 2 labels"),
    ({b"data": np.zeros((2, 1024), np.uint8), b"labels": [0, 1]}, r"\(N, 3072\)"),
    ({b"labels": [0]}, "b'data'"),
    ({b"data": np.zeros((1, 3072), np.uint8), b"labels": [12]}, "0..9"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0.5, 9.9]}, "integer.*float64"),  # not 0 and 9
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [b"a", b"b"]}, "integer.*S1"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [True, False]}, "integer.*bool"),
])
def test_malformed_cifar_batch_names_the_path(tmp_path, batch, pattern):
    make_cifar(tmp_path)
    with open(tmp_path / "data_batch_5", "wb") as f:
        pickle.dump(batch, f, protocol=2)
    with pytest.raises(ValueError, match=pattern) as info:
        load_cifar10(tmp_path)
    assert "data_batch_5" in str(info.value)


class _Hostile:
    def __reduce__(self):
        return (os.getcwd, ())  # harmless here, but any callable would be run by pickle.load


def test_cifar_loader_refuses_pickles_that_call_functions(tmp_path):
    make_cifar(tmp_path)
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({b"data": _Hostile(), b"labels": []}, f, protocol=2)
    with pytest.raises(ValueError, match="refusing to load posix.getcwd|refusing to load os.getcwd"):
        load_cifar10(tmp_path)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("shape", [(2**32 - 1, 2**32 - 1, 2**31), (2**31, 2**31, 4), (2**32 - 1,) * 4])
def test_idx_header_with_huge_dimensions_names_the_path(tmp_path, shape):
    """Sizes whose product overflows int64 are compared with the real file size."""
    path = tmp_path / "huge-idx"
    path.write_bytes(bytes([0, 0, 0x08, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape) + b"\0" * 10)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*truncated.*" + re.escape(str(shape))):
        read_idx(path)


@pytest.mark.parametrize("y, error, pattern", [
    ([], ValueError, "y.*at least one"),
    (np.zeros((4, 2), np.int64), ValueError, "y.*1-D"),
    (np.array([0.0, 1.0, 0.0, 1.0]), TypeError, "y.*integer"),
    (np.array(["a", "b", "a", "b"]), TypeError, "y.*integer"),
    ([0, 0, 0, 0, 1], ValueError, "y.*class 1.*1 sample"),
])
def test_stratified_split_rejects_bad_labels(y, error, pattern):
    with pytest.raises(error, match=pattern):
        stratified_split(y, 0.5, seed=0)


@pytest.mark.parametrize("fraction, error", [(float("nan"), ValueError), ("0.5", TypeError),
                                             (None, TypeError), (0.0, ValueError), (1.0, ValueError)])
def test_stratified_split_rejects_bad_fraction(fraction, error):
    with pytest.raises(error, match="test_fraction"):
        stratified_split(np.arange(20) % 2, fraction, seed=0)


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (1.5, TypeError), ("0", TypeError)])
def test_stratified_split_rejects_bad_seed(seed, error):
    with pytest.raises(error, match="seed"):
        stratified_split(np.arange(20) % 2, 0.25, seed=seed)


def test_a_class_without_test_or_training_samples_is_an_error():
    """round(0.1 · 4) = 0: class 1 would get no test sample."""
    y = np.array([0] * 20 + [1] * 4)
    with pytest.raises(ValueError, match="class 1.*4 samples.*test_fraction"):
        stratified_split(y, 0.1, seed=0)
    train, test = stratified_split(y, 0.25, seed=0)
    assert sorted(np.bincount(y[test])) == [1, 5]


# --------------------------------------------------------------------------- CIFAR-100


def make_cifar100(directory, n=4, seed=0):
    """Tiny CIFAR-100 python files (``train``, ``test``), fine and coarse labels, protocol 2."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in ("train", "test"):
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        fine = [int(v) for v in rng.integers(0, 100, n)]
        batch = {b"filenames": [f"img_{i}.png".encode() for i in range(n)], b"batch_label": name.encode(),
                 b"fine_labels": fine, b"coarse_labels": [v // 5 for v in fine], b"data": data}
        with open(directory / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)
        written[name] = (data, fine)
    return written


def test_cifar100_round_trip_with_fine_labels_from_the_parent_folder(tmp_path):
    written = make_cifar100(tmp_path / "cifar-100-python", n=5)
    X_train, y_train, X_test, y_test = load_cifar100(tmp_path)
    assert X_train.shape == (5, 3, 32, 32) and X_train.dtype == np.float32 and y_test.dtype == np.int64
    np.testing.assert_array_equal(X_test, written["test"][0].reshape(-1, 3, 32, 32) / np.float32(255))
    np.testing.assert_array_equal(y_train, written["train"][1])


def test_cifar100_refuses_labels_beyond_99_and_a_missing_file(tmp_path):
    make_cifar100(tmp_path)
    with open(tmp_path / "test", "wb") as f:
        pickle.dump({b"data": np.zeros((1, 3072), np.uint8), b"fine_labels": [100]}, f, protocol=2)
    with pytest.raises(ValueError, match=r"test.*0\.\.99"):
        load_cifar100(tmp_path)
    (tmp_path / "train").unlink()
    with pytest.raises(FileNotFoundError, match="train"):
        load_cifar100(tmp_path)


def test_normalise_uses_the_authors_constants():
    X = np.ones((1, 3, 2, 2), np.float32)
    out = normalise(X, "cifar100")
    np.testing.assert_allclose(out[0, :, 0, 0], [(1 - 129.3 / 255) / (68.2 / 255), (1 - 124.1 / 255) / (65.4 / 255),
                                                 (1 - 112.4 / 255) / (70.4 / 255)], rtol=1e-6)
    np.testing.assert_allclose(normalise(X, "cifar10")[0, 0, 0, 0], (1 - 0.4914) / 0.2023, rtol=1e-6)


def test_an_idx_header_with_zero_dimensions_is_refused(tmp_path):
    """IDX data have at least one dimension: 0, 0, 0x08, 0 followed by one byte is not a
    0-d array but a bad magic number."""
    path = tmp_path / "zero-dims-idx1-ubyte"
    path.write_bytes(bytes([0, 0, 0x08, 0, 7]))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*bad magic number"):
        read_idx(path)
