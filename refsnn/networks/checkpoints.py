"""Read PyTorch checkpoints (``torch.save``) as NumPy arrays, without torch and without running code.

Since torch 1.6, ``torch.save`` writes a zip archive (stored, not compressed)::

    <root>/data.pkl     the pickled object; every tensor refers to a storage by key
    <root>/data/<key>   the raw bytes of one storage, in the byte order of <root>/byteorder
    <root>/byteorder    "little" or "big" (absent in old files: little)

A tensor is pickled as ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
requires_grad, hooks)``, its storage as a *persistent id* ``("storage", torch.FloatStorage,
key, location, numel)`` that the unpickler resolves. Element (i_1, …, i_n) of the tensor is
element ``offset + Σ_k i_k·stride_k`` of its storage, so views (a transpose, a slice) and
tensors sharing one storage are saved once and rebuilt from the same bytes.

``torch.load`` without ``weights_only=True`` unpickles whatever the file names, and a
pickle can name ``os.system``. :func:`read_checkpoint` reads the pickle through an
allow-list instead (:class:`_AllowListUnpickler`): the two tensor-rebuild functions, the
storage types, ``collections.OrderedDict`` and the containers and numbers that pickle
writes without naming a global. Everything else (an unknown global, a big-endian or
truncated archive, the legacy pre-1.6 format, a TorchScript archive) is a ``ValueError``
that names the file and what it found; nothing in the file is executed.

:func:`load_state_dict` then finds the weights in what was read: a checkpoint may be the
state dict itself or nest it (``{'model': …, 'epoch': …}``, ``{'state_dict': …}``), and a
network saved through ``torch.nn.DataParallel`` prefixes every key with ``module.``.
"""

import collections
import pickle
from io import BytesIO
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["read_checkpoint", "load_state_dict", "STORAGE_DTYPES"]

#: torch storage type → the little-endian NumPy dtype of its bytes. bfloat16 has no NumPy
#: dtype: its bytes are read as uint16 and widened to float32 (:func:`_bfloat16_to_float32`).
STORAGE_DTYPES = {
    "DoubleStorage": "<f8", "FloatStorage": "<f4", "HalfStorage": "<f2", "BFloat16Storage": "<u2",
    "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "?", "UntypedStorage": "u1",
}

#: Keys under which training scripts nest the state dict (the authors' ``main.py`` uses 'model').
NESTING_KEYS = ("model", "state_dict", "model_state_dict", "net")


class _Storage:
    """A storage type named in the pickle (``torch.FloatStorage``); only its name is kept."""

    def __init__(self, name):
        self.name = name


class _Tensor:
    """A tensor as the pickle describes it, before its storage's bytes are read."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    """Stands in for ``torch._utils._rebuild_tensor_v2``: checks the arguments, rebuilds nothing yet."""
    if not isinstance(storage, tuple) or not all(isinstance(v, int) for v in (storage_offset, *size, *stride)):
        raise pickle.UnpicklingError(f"a tensor with storage {storage!r}, offset {storage_offset!r}, "
                                     f"size {size!r} and stride {stride!r}")
    if len(size) != len(stride) or storage_offset < 0 or min(size, default=0) < 0 or min(stride, default=0) < 0:
        raise pickle.UnpicklingError(f"a tensor of size {tuple(size)}, stride {tuple(stride)}, "
                                     f"offset {storage_offset}")
    if backward_hooks or metadata:  # conjugate or negative bits, hooks: not plain values
        raise pickle.UnpicklingError(f"a tensor with hooks {backward_hooks!r} or metadata {metadata!r}")
    return _Tensor(storage, storage_offset, tuple(size), tuple(stride))


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    """Stands in for ``torch._utils._rebuild_parameter``: a parameter is its tensor."""
    if not isinstance(data, _Tensor) or backward_hooks:
        raise pickle.UnpicklingError(f"a parameter of {data!r} with hooks {backward_hooks!r}")
    return data


class _AllowListUnpickler(pickle.Unpickler):
    """Unpickles only what a state dict needs; any other global is refused, never imported.

    Storages come back as ``(storage type name, key, numel)`` tuples and tensors as
    :class:`_Tensor`; :func:`read_checkpoint` turns them into arrays afterwards.
    """

    GLOBALS = {
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("collections", "OrderedDict"): collections.OrderedDict,
    }

    def find_class(self, module, name):
        if (module, name) in self.GLOBALS:
            return self.GLOBALS[module, name]
        if module in ("torch", "torch.storage") and name in STORAGE_DTYPES:
            return _Storage(name)
        raise pickle.UnpicklingError(f"the global {module}.{name}, which is not on the allow-list")

    def persistent_load(self, pid):
        if (not isinstance(pid, tuple) or len(pid) != 5 or pid[0] != "storage" or not isinstance(pid[1], _Storage)
                or not isinstance(pid[2], str) or not isinstance(pid[4], int) or pid[4] < 0):
            raise pickle.UnpicklingError(f"the persistent id {pid!r}, which is not a storage")
        return (pid[1].name, pid[2], pid[4])


def _bfloat16_to_float32(bits):
    """bfloat16 is the upper half of a float32: shift its 16 bits up, exactly."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _open_archive(path):
    """The zip archive of a checkpoint and the folder its records are in."""
    with open(path, "rb") as f:
        head = f.read(4)
    if not zipfile.is_zipfile(path):
        if head[:1] == b"\x80":
            raise ValueError(f"{path} is a checkpoint in torch's legacy (pre-1.6) format, which refsnn does not "
                             f"read: load it once in torch and save it again with torch.save (torch >= 1.6)")
        raise ValueError(f"{path} is not a PyTorch zip checkpoint (it starts with {head!r}; a truncated archive "
                         f"has lost its directory at the end)")
    archive = zipfile.ZipFile(path)
    pickles = [name for name in archive.namelist() if name.endswith("/data.pkl") and name.count("/") == 1]
    if len(pickles) != 1:
        names = archive.namelist()
        what = "a TorchScript archive" if any(n.endswith("/constants.pkl") for n in names) else "an archive"
        raise ValueError(f"{path} is {what} without exactly one <root>/data.pkl, holding {names[:5]}")
    return archive, pickles[0][:-len("data.pkl")]


def _record(archive, name, path):
    try:
        return archive.read(name)
    except KeyError:
        raise ValueError(f"{path}: the archive has no record {name}") from None


def _check_byteorder(archive, root, path):
    if f"{root}byteorder" not in archive.namelist():
        return
    order = _record(archive, f"{root}byteorder", path)
    if order != b"little":
        raise ValueError(f"{path} was written in byte order {order.decode(errors='replace')!r}; refsnn reads "
                         f"little-endian checkpoints only")


def _storage_array(archive, root, storage, path, cache):
    """The 1-D array of one storage, read once per key (tensors may share it)."""
    type_name, key, numel = storage
    if key not in cache:
        data = _record(archive, f"{root}data/{key}", path)
        dtype = np.dtype(STORAGE_DTYPES[type_name])
        if len(data) != numel * dtype.itemsize:
            raise ValueError(f"{path}: storage {key} ({type_name}) holds {len(data)} bytes, "
                             f"expected {numel} elements of {dtype.itemsize} bytes")
        array = np.frombuffer(data, dtype=dtype)
        cache[key] = (_bfloat16_to_float32(array) if type_name == "BFloat16Storage"
                      else array.astype(dtype.newbyteorder("="), copy=False))
    return cache[key]


def _tensor_array(tensor, storage, path):
    """A copy of the elements storage[offset + Σ_k i_k·stride_k] (module docstring)."""
    if 0 in tensor.size:
        return np.zeros(tensor.size, storage.dtype)
    last = tensor.offset + sum((n - 1) * s for n, s in zip(tensor.size, tensor.stride))
    if last >= storage.size:
        raise ValueError(f"{path}: a tensor of size {tensor.size}, stride {tensor.stride} and offset "
                         f"{tensor.offset} reaches element {last} of a storage of {storage.size}")
    strides = tuple(s * storage.itemsize for s in tensor.stride)
    view = np.lib.stride_tricks.as_strided(storage[tensor.offset:], tensor.size, strides, writeable=False)
    return view.copy()


def _arrays(obj, read):
    """``obj`` with every :class:`_Tensor` replaced by ``read(tensor)``, containers rebuilt."""
    if isinstance(obj, _Tensor):
        return read(obj)
    if isinstance(obj, dict):
        return type(obj)((k, _arrays(v, read)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_arrays(v, read) for v in obj)
    return obj


def read_checkpoint(path):
    """Read a ``torch.save`` zip checkpoint, with every tensor as a NumPy array.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    The saved object (dicts, lists, tuples, numbers, strings) with each tensor as a
    C-contiguous array of its dtype and shape, a copy that owns its memory; float16 stays
    float16, bfloat16 becomes float32 (exactly).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        Naming ``path``, for anything but a little-endian zip checkpoint whose pickle uses
        only the allow-list (module docstring): a legacy or truncated file, an unknown
        global, a storage shorter than its tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such checkpoint file: {path}")
    try:
        archive, root = _open_archive(path)
        with archive:
            _check_byteorder(archive, root, path)
            unpickler = _AllowListUnpickler(BytesIO(_record(archive, f"{root}data.pkl", path)))
            try:
                obj = unpickler.load()
            except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError, IndexError) as exc:
                raise ValueError(f"{path}: refused to unpickle {root}data.pkl: it holds {exc}") from None
            storages = {}
            return _arrays(obj, lambda t: _tensor_array(t, _storage_array(archive, root, t.storage, path, storages),
                                                        path))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise ValueError(f"{path} is a damaged zip archive ({exc})") from None


def _is_state_dict(obj):
    return isinstance(obj, dict) and bool(obj) and all(
        isinstance(k, str) and isinstance(v, np.ndarray) for k, v in obj.items())


def load_state_dict(path):
    """The state dict of a checkpoint: parameter name → array, with ``module.`` prefixes removed.

    The checkpoint may be the state dict itself or a dict that nests it under one of
    :data:`NESTING_KEYS` (the authors' ``main.py`` saves ``{'model': state_dict, 'optimizer':
    …, 'epoch': …}``). Keys that all begin with ``module.`` (a network wrapped in
    ``torch.nn.DataParallel`` or ``DistributedDataParallel``) lose that prefix.

    Raises
    ------
    ValueError
        Naming ``path``, if the checkpoint cannot be read (:func:`read_checkpoint`) or
        holds no state dict; the message lists the keys it found.
    """
    obj = read_checkpoint(path)
    for _ in range(2):  # the state dict itself, or nested once or twice
        if _is_state_dict(obj):
            break
        if isinstance(obj, dict):
            obj = next((obj[k] for k in NESTING_KEYS if k in obj), obj)
    if not _is_state_dict(obj):
        keys = list(obj)[:8] if isinstance(obj, dict) else type(obj).__name__
        raise ValueError(f"{path} holds no state dict (a dict of parameter names to tensors, itself or under one of "
                         f"{', '.join(NESTING_KEYS)}); found {keys}")
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return dict(obj)
