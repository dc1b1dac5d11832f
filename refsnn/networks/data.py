"""Image data sets as NumPy arrays, with no downloads.

Every loader returns the same 4-tuple

    ``(X_train, y_train, X_test, y_test)``

with ``X`` float32 of shape ``(N, C, H, W)`` scaled to [0, 1] and ``y`` int64 of shape
``(N,)``. No normalisation beyond the [0, 1] scaling is applied.

* :func:`load_digits` reads the 8×8 handwritten digits bundled with refsnn
  (``refsnn/_data/digits.csv.gz``; source and licence in ``refsnn/_data/README.md``).
  It is small enough to train a CNN on a laptop CPU in seconds, which makes it the
  default data set of the examples and tests.
* :func:`load_mnist`, :func:`load_cifar10` and :func:`load_cifar100` read the standard distribution files
  from a directory that the user has already downloaded. refsnn never fetches data.

Bad files raise ``FileNotFoundError`` (missing) or ``ValueError`` (truncated, corrupt,
wrong format, inconsistent counts), and the message always names the offending path.
"""

import gzip
import math
import pickle
import zlib
from importlib import resources
from pathlib import Path

import numpy as np

from .._checks import as_float, as_int, check_choice

__all__ = ["load_digits", "stratified_split", "read_idx", "load_mnist", "load_cifar10", "load_cifar100", "NORMALISATION",
           "normalise"]


# --------------------------------------------------------------------------- digits


def _digits_arrays():
    """All 1797 digits: pixels (1797, 64) in 0..16 and labels (1797,), as int64."""
    ref = resources.files("refsnn") / "_data" / "digits.csv.gz"
    with ref.open("rb") as raw, gzip.open(raw, "rt") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.int64)
    if table.shape != (1797, 65):
        raise ValueError(f"bundled digits file {ref} has shape {table.shape}, expected (1797, 65)")
    return table[:, :64], table[:, 64]


def stratified_split(y, test_fraction, seed):
    """Seeded stratified train/test split of the indices ``0..len(y)-1``.

    For every class c with n_c samples, round(test_fraction·n_c) randomly chosen samples
    go to the test set and the rest to the training set. Both index arrays are then
    shuffled, so batches are not sorted by class.

    Parameters
    ----------
    y : array_like of int, shape (N,)
        Class labels.
    test_fraction : float
        Fraction of each class held out, 0 < test_fraction < 1.
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same split.

    Returns
    -------
    train_idx, test_idx : numpy.ndarray of int64
        Disjoint index arrays whose union is ``0..N-1``.

    Raises
    ------
    TypeError
        If ``y`` is not of an integer dtype, ``test_fraction`` is not a real number or
        ``seed`` is not an integer.
    ValueError
        If ``y`` is empty or not 1-D, ``test_fraction`` is not strictly between 0 and 1,
        ``seed`` < 0, or a class is too small for ``test_fraction``: it would put none
        or all of the class's samples into the test set.
    """
    as_float("test_fraction", test_fraction, "(0, 1)")
    seed = as_int("seed", seed, minimum=0)
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"y must be a 1-D array of at least one label, got shape {y.shape}")
    if y.dtype.kind not in "iu":
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = int(np.floor(test_fraction * idx.size + 0.5))
        if not 0 < n_test < idx.size:
            raise ValueError(
                f"y: class {c} has only {idx.size} sample{'s' * (idx.size != 1)}, too few for "
                f"test_fraction={test_fraction}: {n_test} would go to the test set and "
                f"{idx.size - n_test} to the training set, but each needs at least one"
            )
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    train_idx = rng.permutation(np.concatenate(train)).astype(np.int64)
    test_idx = rng.permutation(np.concatenate(test)).astype(np.int64)
    return train_idx, test_idx


def load_digits(seed=0, test_fraction=0.25):
    """The bundled 8×8 handwritten digits, split into train and test sets.

    Pixels x ∈ {0, …, 16} are scaled to x/16 ∈ [0, 1].

    Parameters
    ----------
    seed : int, default 0
        Seed of the stratified split (:func:`stratified_split`).
    test_fraction : float, default 0.25
        Fraction of every class held out for testing.

    Returns
    -------
    X_train : numpy.ndarray of float32, shape (N_train, 1, 8, 8)
    y_train : numpy.ndarray of int64, shape (N_train,)
    X_test : numpy.ndarray of float32, shape (N_test, 1, 8, 8)
    y_test : numpy.ndarray of int64, shape (N_test,)
        With the defaults N_train = 1346 and N_test = 451 (round(0.25·n_c) per class).

    Examples
    --------
    >>> X_train, y_train, X_test, y_test = load_digits(seed=0)
    >>> X_train.shape, X_test.shape
    ((1346, 1, 8, 8), (451, 1, 8, 8))
    """
    pixels, labels = _digits_arrays()
    X = (pixels / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    train, test = stratified_split(labels, test_fraction, seed)
    return X[train], labels[train], X[test], labels[test]


# --------------------------------------------------------------------------- IDX (MNIST)

# IDX type byte -> big-endian dtype (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT")
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path):
    """Read a raw or gzip-compressed file, turning decompression errors into ValueError."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (EOFError, OSError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise ValueError(f"{path} is not a complete gzip file ({exc})") from None


def read_idx(path):
    """Read one IDX file (the MNIST / Fashion-MNIST format), raw or ``.gz``.

    The header is two zero bytes, a type byte (0x08 = uint8, …, 0x0E = float64), the
    number of dimensions d, then d big-endian uint32 sizes. The data follow in C order.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    numpy.ndarray
        Shape given by the header, native byte order.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        On a bad magic number, a truncated file or trailing bytes, or header sizes that
        do not match the file's real size (however large they are); the message names
        ``path``.
    """
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path} is truncated: {len(data)} bytes, too short for an IDX header")
    zero0, zero1, type_code, ndim = data[:4]
    magic = int.from_bytes(data[:4], "big")
    if zero0 != 0 or zero1 != 0 or type_code not in _IDX_DTYPES or ndim == 0:
        raise ValueError(f"{path} is not an IDX file: bad magic number 0x{magic:08x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path} is truncated inside its IDX header ({len(data)} bytes)")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[type_code])
    # Python ints: a header's sizes (up to 2**32 - 1 each) can overflow np.prod's int64.
    expected = header + dtype.itemsize * math.prod(shape)
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise ValueError(
            f"{path} is {what}: header shape {shape} needs {expected} bytes, file has {len(data)}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def _find(directory, stem):
    """Return ``directory/stem`` or ``directory/stem.gz``, whichever exists."""
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"neither {directory / stem} nor {directory / stem}.gz exists")


def _check_labels(labels, path, n_classes=10):
    """Labels must be integers in 0..n_classes-1 (floats would be truncated, 9.9 to 9)."""
    if labels.size and labels.dtype.kind not in "iu":  # an empty list is float64
        raise ValueError(f"{path}: labels must be integers in 0..{n_classes - 1}, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"{path}: labels must lie in 0..{n_classes - 1}, "
            f"found {labels.min()}..{labels.max()}"
        )
    return labels.astype(np.int64)


def _mnist_split(directory, prefix):
    """Read one split (``train`` or ``t10k``) of an MNIST-format directory."""
    image_path = _find(directory, f"{prefix}-images-idx3-ubyte")
    label_path = _find(directory, f"{prefix}-labels-idx1-ubyte")
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(
            f"{image_path}: expected uint8 images of shape (N, 28, 28), "
            f"got {images.dtype} of shape {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(
            f"{label_path}: expected uint8 labels of shape (N,), "
            f"got {labels.dtype} of shape {labels.shape}"
        )
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{image_path} holds {images.shape[0]} images but {label_path} "
            f"holds {labels.shape[0]} labels"
        )
    X = (images.astype(np.float32) / np.float32(255.0))[:, None]
    return X, _check_labels(labels, label_path)


def load_mnist(directory, kind="mnist"):
    """MNIST or Fashion-MNIST from the four IDX files in ``directory``.

    Expected files (each raw or with a ``.gz`` suffix): ``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``.
    Both data sets use these names; ``kind`` only records which one you mean. Pixels
    x ∈ {0, …, 255} are scaled to x/255.

    Parameters
    ----------
    directory : str or pathlib.Path
    kind : {"mnist", "fashion"}

    Returns
    -------
    X_train : float32, shape (60000, 1, 28, 28) for the full data sets
    y_train : int64, shape (60000,)
    X_test : float32, shape (10000, 1, 28, 28)
    y_test : int64, shape (10000,)
    """
    check_choice("kind", kind, ("mnist", "fashion"))
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{kind} directory does not exist: {directory}")
    X_train, y_train = _mnist_split(directory, "train")
    X_test, y_test = _mnist_split(directory, "t10k")
    return X_train, y_train, X_test, y_test


# --------------------------------------------------------------------------- CIFAR-10


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that only rebuilds NumPy arrays, so a hostile file cannot run code.

    The CIFAR-10 python batches are dicts of bytes, lists, ints and NumPy uint8 arrays;
    nothing else is needed to read them.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("_codecs", "encode"),  # how protocols < 3 store bytes objects
    }

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _cifar_batch(path, labels_key=b"labels", n_classes=10):
    """Read one CIFAR python batch: images (N, 3, 32, 32) uint8 and labels (N,)."""
    if not path.is_file():
        raise FileNotFoundError(f"no such CIFAR batch file: {path}")
    try:
        with path.open("rb") as f:
            batch = _NumpyOnlyUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path} is not a readable CIFAR pickle ({exc})") from None
    if not isinstance(batch, dict) or b"data" not in batch or labels_key not in batch:
        raise ValueError(f"{path}: expected a dict with keys b'data' and {labels_key!r}")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[labels_key])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(
            f"{path}: b'data' must be uint8 of shape (N, 3072), got {data.dtype} {data.shape}"
        )
    if labels.ndim != 1 or labels.shape[0] != data.shape[0]:
        raise ValueError(
            f"{path} holds {data.shape[0]} images but {labels.size} labels"
        )
    return data.reshape(-1, 3, 32, 32), _check_labels(labels, path, n_classes)


def _cifar_directory(directory, nested, first, name):
    """``directory``, or its ``nested`` folder if the batches are there instead."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{name} directory does not exist: {directory}")
    if not (directory / first).exists() and (directory / nested).is_dir():
        return directory / nested
    return directory


def _scaled(X_train, y_train, X_test, y_test):
    scale = np.float32(255.0)
    return X_train.astype(np.float32) / scale, y_train, X_test.astype(np.float32) / scale, y_test


def load_cifar10(directory):
    """CIFAR-10 from the python batches (``cifar-10-python.tar.gz``, extracted).

    ``directory`` holds ``data_batch_1`` … ``data_batch_5`` and ``test_batch``, or is
    the parent of the extracted ``cifar-10-batches-py`` folder. Each batch is a pickled
    dict with ``b"data"`` (uint8, shape (N, 3072), channel-major: 1024 red, 1024 green,
    1024 blue values in row order) and ``b"labels"`` (N ints). Only NumPy arrays are
    unpickled (see :class:`_NumpyOnlyUnpickler`). Pixels are scaled to x/255 and not
    normalised further; the authors' code also normalises each channel with mean
    (0.4914, 0.4822, 0.4465) and std (0.2023, 0.1994, 0.2010) (see
    ``tutorials/00_notation.md``, "Where the released code differs").

    Parameters
    ----------
    directory : str or pathlib.Path

    Returns
    -------
    X_train : float32, shape (50000, 3, 32, 32) for the full data set
    y_train : int64, shape (50000,)
    X_test : float32, shape (10000, 3, 32, 32)
    y_test : int64, shape (10000,)
    """
    directory = _cifar_directory(directory, "cifar-10-batches-py", "data_batch_1", "CIFAR-10")
    train = [_cifar_batch(directory / f"data_batch_{i}") for i in range(1, 6)]
    X_test, y_test = _cifar_batch(directory / "test_batch")
    X_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return _scaled(X_train, y_train, X_test, y_test)


def load_cifar100(directory):
    """CIFAR-100 from the python files (``cifar-100-python.tar.gz``, extracted), fine labels.

    ``directory`` holds ``train`` and ``test``, or is the parent of the extracted
    ``cifar-100-python`` folder. Each is a pickled dict with ``b"data"`` (uint8, shape (N,
    3072), laid out as in CIFAR-10) and ``b"fine_labels"`` (N ints in 0..99; the 20
    ``b"coarse_labels"`` are not used). Pixels are scaled to x/255, as in :func:`load_cifar10`.

    Returns
    -------
    X_train : float32, shape (50000, 3, 32, 32) for the full data set
    y_train : int64, shape (50000,)
    X_test : float32, shape (10000, 3, 32, 32)
    y_test : int64, shape (10000,)
    """
    directory = _cifar_directory(directory, "cifar-100-python", "train", "CIFAR-100")
    X_train, y_train = _cifar_batch(directory / "train", b"fine_labels", 100)
    X_test, y_test = _cifar_batch(directory / "test", b"fine_labels", 100)
    return _scaled(X_train, y_train, X_test, y_test)


#: The per-channel (mean, std) of the authors' ``dataprocess.py``, applied after the x/255 scaling.
NORMALISATION = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    "cifar100": (tuple(v / 255 for v in (129.3, 124.1, 112.4)), tuple(v / 255 for v in (68.2, 65.4, 70.4))),
}


def normalise(X, data):
    """(X − mean_c)/std_c per channel with the authors' constants for ``data``
    (:data:`NORMALISATION`), so that their checkpoints see what they were trained on.

    X : float32 array, shape (N, 3, H, W), scaled to [0, 1]. Returns a new float32 array.
    """
    check_choice("data", data, tuple(NORMALISATION))
    mean, std = (np.asarray(v, np.float32).reshape(1, -1, 1, 1) for v in NORMALISATION[data])
    return ((X - mean) / std).astype(np.float32)
