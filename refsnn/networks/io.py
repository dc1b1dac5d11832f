"""Save and load trained networks and converted SNNs as one ``.npz`` file.

:func:`save` writes a :class:`refsnn.networks.containers.Sequential` or a
:class:`refsnn.networks.spiking.SpikingNetwork`; :func:`load` rebuilds it. The round trip is exact:
the loaded object holds bit-identical arrays of the same dtypes and computes identical
outputs.

File format (``format_version`` 2; version 1 files still load)
--------------------------------------------------------------
An uncompressed NumPy ``.npz`` archive (a zip of ``.npy`` files) with these entries:

``meta``
    A 0-d unicode array holding a JSON object::

        {"format": "refsnn", "format_version": 2,
         "kind": "Sequential" | "SpikingNetwork",
         "T": 4,                                  # SpikingNetwork only
         "layers": [{"type": "Conv2d",
                     "settings": {"in_channels": 1, "out_channels": 4, "kernel_size": 3,
                                  "stride": 1, "padding": 1},
                     "arrays": {"weight": "layer0/weight", "bias": "layer0/bias"}},
                    ...],
         "thresholds_": ["thresholds_/0", ...]}   # only if the object has thresholds_

    ``settings`` are the layer's integer, number, true/false and string settings
    (constructor arguments, and a BatchNorm's ``training`` flag); ``arrays`` maps each
    array attribute of the layer to its entry in the archive. A container is an entry
    without settings or arrays: ``{"type": "Sequential", "layers": [...]}`` or
    ``{"type": "Residual", "main": {...}, "shortcut": {...} | null, "activation": {...} | null}``.
    Version 1 (refsnn 0.1) had no containers; its files are read as they are.
``layer{path}/{name}``
    Array attribute ``name`` of the layer at ``path`` (e.g. ``layer3/weight``, or
    ``layer4.main.0/weight`` inside a residual block), stored with its dtype: weights
    and biases float32 by default, thresholds and offsets float64.
``thresholds_/{k}``
    The k-th array of the object's ``thresholds_`` list (from
    :func:`refsnn.networks.conversion.record_thresholds`).

What each layer type stores is the table ``LAYERS`` below. Plain NumPy reads the
file without refsnn::

    with np.load(path, allow_pickle=False) as f:
        meta = json.loads(str(f["meta"]))
        w = f[meta["layers"][0]["arrays"]["weight"]]

Not stored: gradients, the inputs that layers cache for their backward pass, and the
membrane potential ``v`` of :class:`~refsnn.networks.spiking.IFNeurons`. All are transient: a loaded
network starts as if freshly built, and :meth:`SpikingNetwork.run` resets ``v`` anyway.
The loaded ``thresholds_`` arrays are copies, no longer the same objects as the
ClipReLU layers' ``theta``.

The path is used exactly as given: no ``.npz`` suffix is appended (unlike
``np.savez``), so ``save(net, "model")`` writes a file named ``model``.

Writing files
-------------
:func:`save` writes atomically (:func:`refsnn._files.atomic_write`): a temporary file
beside the target, then a rename onto it. So an error names the path the caller gave and
no folder is ever created; overwriting keeps the existing file's permission bits; a
symbolic link is followed and stays a link.
"""

import errno
import io
import json
import math
import os
import zipfile
from typing import Callable, NamedTuple

import numpy as np

from .._files import atomic_write
from .activations import DAQCFS, QCFS, ClipReLU, ReLU
from .containers import Residual, Sequential
from .layers import AvgPool2d, Conv2d, Flatten, Linear
from .normalization import BatchNorm
from .spiking import IFNeurons, ParallelNeurons, SpikingNetwork, first_neuron_layer

__all__ = ["save", "load", "FORMAT", "FORMAT_VERSION"]

FORMAT = "refsnn"
FORMAT_VERSION = 2
#: Versions this refsnn reads. Version 1 files are flat lists of layers, which version 2
#: reads the same way; version 2 adds containers (Sequential, Residual) and BatchNorm.
READABLE_VERSIONS = (1, 2)


class Codec(NamedTuple):
    """How one layer type is written and rebuilt.

    ``settings`` and ``arrays`` name the attributes that are stored. ``shapes(s)`` gives
    the shape that the settings ``s`` fix for some arrays, checked against the stored
    arrays before anything is built (so that settings which announce a huge layer
    allocate nothing). ``build(s, a)`` makes a layer from the dicts of settings and
    arrays; :func:`_rebuild` then puts the stored arrays themselves into the layer, so
    they are exactly the saved ones.
    """

    cls: type
    settings: tuple
    arrays: tuple
    build: Callable
    shapes: Callable = lambda s: {}


def _throwaway_rng():
    """Feeds the weight initialisation, whose result is overwritten straight away."""
    return np.random.default_rng(0)


def _build_batchnorm(s, a):
    for name in ("running_mean", "running_var"):  # no data gives these; NaN outputs would follow
        if not np.isfinite(a[name]).all():
            raise ValueError(f"{name} holds NaN or infinity")
    if (a["running_var"] < 0).any():
        raise ValueError(f"running_var is a variance but holds {a['running_var'].min()} < 0")
    layer = BatchNorm(s["channels"], s["eps"], s["momentum"], dtype=a["weight"].dtype)
    layer.training = s["training"]
    return layer


_KIND_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
#: The JSON type of each non-integer setting; every other setting is an integer.
SETTING_TYPES = {"order": str, "eps": float, "momentum": float, "training": bool}
CONTAINERS = ("Sequential", "Residual")

LAYERS = {codec.cls.__name__: codec for codec in [
    Codec(Linear, ("in_features", "out_features"), ("weight", "bias"),
          lambda s, a: Linear(s["in_features"], s["out_features"], _throwaway_rng(),
                              dtype=a["weight"].dtype),
          lambda s: {"weight": (s["out_features"], s["in_features"]), "bias": (s["out_features"],)}),
    Codec(Conv2d, ("in_channels", "out_channels", "kernel_size", "stride", "padding"), ("weight", "bias"),
          lambda s, a: Conv2d(s["in_channels"], s["out_channels"], s["kernel_size"], s["stride"],
                              s["padding"], rng=_throwaway_rng(), dtype=a["weight"].dtype),
          lambda s: {"weight": (s["out_channels"], s["in_channels"], s["kernel_size"], s["kernel_size"]),
                     "bias": (s["out_channels"],)}),
    Codec(AvgPool2d, ("kernel_size",), (), lambda s, a: AvgPool2d(s["kernel_size"])),
    Codec(Flatten, (), (), lambda s, a: Flatten()),
    Codec(BatchNorm, ("channels", "eps", "momentum", "training"),
          ("weight", "bias", "running_mean", "running_var"), _build_batchnorm,
          lambda s: dict.fromkeys(("weight", "bias", "running_mean", "running_var"), (s["channels"],))),
    Codec(ReLU, (), (), lambda s, a: ReLU()),
    Codec(ClipReLU, (), ("theta",), lambda s, a: ClipReLU(a["theta"])),
    Codec(QCFS, ("levels",), ("theta",), lambda s, a: QCFS(a["theta"].item(), s["levels"]),
          lambda s: {"theta": (1,)}),
    Codec(DAQCFS, ("levels",), ("theta", "psi_da", "phi_da"),
          lambda s, a: DAQCFS(a["theta"], s["levels"], a["psi_da"], a["phi_da"])),
    Codec(ParallelNeurons, ("T", "order"), ("theta", "psi", "theta_post"),
          lambda s, a: ParallelNeurons(a["theta"], s["T"], a["psi"], a["theta_post"], s["order"])),
    Codec(IFNeurons, (), ("theta", "psi_da", "theta_post"),
          lambda s, a: IFNeurons(a["theta"], a["psi_da"], a["theta_post"])),
]}

KINDS = {"Sequential": Sequential, "SpikingNetwork": SpikingNetwork}


# --------------------------------------------------------------------------- save


def _json_setting(value):
    """Settings are ints, floats, bools and strings; NumPy scalars become Python ones."""
    return value.item() if isinstance(value, np.generic) else value


def _as_stored_array(what, value):
    arr = np.asarray(value)
    if arr.dtype.hasobject:
        raise TypeError(f"{what} has dtype object, which cannot be stored without pickling")
    return arr


def _describe(obj):
    """The metadata dict and the arrays (key → ndarray) that represent ``obj``."""
    kind = type(obj).__name__
    if type(obj) not in KINDS.values():
        raise TypeError(
            f"cannot save a {type(obj).__module__}.{kind}: refsnn.networks.io saves only "
            "refsnn.networks.containers.Sequential and refsnn.networks.spiking.SpikingNetwork"
        )
    found = None if isinstance(obj, SpikingNetwork) else first_neuron_layer(obj)
    if found is not None:
        raise TypeError(
            f"cannot save a Sequential whose layer {found[0]} ({found[1]!r}) is a neuron layer: it is the "
            "network of a SpikingNetwork (snn.net), which would load back as an ANN that reads the batch "
            "axis as time, without its T; save the SpikingNetwork itself"
        )
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": kind}
    if isinstance(obj, SpikingNetwork):
        meta["T"] = int(obj.T)
    arrays = {}
    layers = [_describe_layer(str(i), layer, arrays) for i, layer in enumerate(obj.layers)]
    meta["layers"] = layers
    if hasattr(obj, "thresholds_"):
        meta["thresholds_"] = []
        for k, theta in enumerate(obj.thresholds_):
            key = f"thresholds_/{k}"
            arrays[key] = _as_stored_array(f"thresholds_[{k}]", theta)
            meta["thresholds_"].append(key)
    return meta, arrays


def _describe_layer(path, layer, arrays):
    """The metadata entry of one layer or container at ``path``; adds its arrays."""
    if isinstance(layer, Sequential):
        return {"type": "Sequential", "layers": [_describe_layer(f"{path}.{i}", child, arrays)
                                                 for i, child in enumerate(layer.layers)]}
    if isinstance(layer, Residual):
        return {"type": "Residual", **{name: None if part is None else _describe_layer(f"{path}.{name}", part, arrays)
                                       for name, part in (("main", layer.main), ("shortcut", layer.shortcut),
                                                          ("activation", layer.activation))}}
    codec = LAYERS.get(type(layer).__name__)
    if codec is None or type(layer) is not codec.cls:
        raise TypeError(
            f"cannot save layer {path} of type {type(layer).__module__}.{type(layer).__name__}; "
            f"supported layers: {', '.join(LAYERS)} and the containers {', '.join(CONTAINERS)}"
        )
    entry = {"type": codec.cls.__name__,
             "settings": {name: _json_setting(getattr(layer, name)) for name in codec.settings},
             "arrays": {}}
    for name in codec.arrays:
        key = f"layer{path}/{name}"
        arrays[key] = _as_stored_array(f"layer {path} ({layer!r}) attribute {name}", getattr(layer, name))
        entry["arrays"][name] = key
    return entry


def _write_npz(file, arrays):
    """Write the archive to an open binary file (the step a test makes fail midway)."""
    np.savez(file, **arrays)


def save(obj, path):
    """Save a network or a converted SNN to one ``.npz`` file, atomically.

    Parameters
    ----------
    obj : refsnn.networks.containers.Sequential or refsnn.networks.spiking.SpikingNetwork
        Its layers must be of the types in ``LAYERS`` (exactly those classes, not
        subclasses). A ``thresholds_`` list of arrays is saved too. A Sequential is an
        ANN: one that holds neuron layers (``snn.net``) is refused, because it would
        load back as an ANN that reads the batch axis as time, without the SNN's T;
        save the SpikingNetwork itself. (:func:`load` still reads such a file as the
        Sequential it holds.)
    path : str or os.PathLike
        The file to write, used as given: no ``.npz`` suffix is added. Its folder must
        exist; it is not created.

    Raises
    ------
    TypeError
        If ``obj`` or one of its layers is of an unsupported type, or ``obj`` is a
        Sequential that holds neuron layers.
    OSError
        If the file cannot be written, e.g. ``FileNotFoundError`` when the folder does
        not exist, ``IsADirectoryError`` when ``path`` is a folder, or
        ``PermissionError``; the exception's ``filename`` is ``path``.

    Notes
    -----
    The file format is described in the module docstring. The archive is first written
    to a temporary file in the same directory, flushed and fsynced, and then renamed onto
    ``path`` with :func:`os.replace`. A crash or error mid-save therefore never leaves a
    half-written file at ``path``: an existing file there stays intact, and the
    temporary file is removed.

    Overwriting keeps the existing file's permission bits; a new file gets the default
    mode (``0666`` minus the umask). If ``path`` is a symbolic link, the file it points
    to is replaced and the link stays a link.
    """
    meta, arrays = _describe(obj)  # may raise TypeError before anything is written
    arrays["meta"] = np.array(json.dumps(meta))
    if os.path.isdir(path):  # the rename would fail naming the hidden temporary file
        raise IsADirectoryError(errno.EISDIR, "Is a directory; expected the path of a file", os.fspath(path))
    atomic_write(path, lambda file: _write_npz(file, arrays))


# --------------------------------------------------------------------------- load


def _read_archive(data):
    """All entries of an npz held in ``data`` (bytes), checked against their CRC-32.

    Any failure is a corrupt or foreign file; the caller turns it into a ValueError.
    The checksum test matters: NumPy reads only as many bytes as an entry's header
    announces, so a damaged header that still parses could otherwise go unnoticed.
    """
    if not data.startswith(b"PK\x03\x04"):
        raise ValueError("it is not an npz (zip) archive")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        bad = archive.testzip()
        if bad is not None:
            raise ValueError(f"entry {bad!r} fails its checksum")
        for info in archive.infolist():
            _check_npy_size(archive, info)
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    for key, value in arrays.items():
        if not isinstance(value, np.ndarray):  # NpzFile returns raw bytes for non-.npy entries
            raise ValueError(f"entry {key!r} is not a .npy array")
    return arrays


_NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def _check_npy_size(archive, info):
    """A ValueError if the .npy header of an entry announces more (or less) data than the
    entry holds: NumPy would allocate the announced array before finding out."""
    if not info.filename.endswith(".npy"):
        return
    with archive.open(info) as file:
        read_header = _NPY_HEADERS.get(np.lib.format.read_magic(file))
        if read_header is None:
            return  # another .npy version: NumPy reads it and says what is wrong
        shape, _, dtype = read_header(file)
        if dtype.hasobject:
            return  # refused by allow_pickle=False
        size = file.tell() + math.prod(shape) * dtype.itemsize
    if size != info.file_size:
        raise ValueError(f"entry {info.filename!r} announces an array of shape {shape} and dtype {dtype} "
                         f"({size} bytes with its header) but holds {info.file_size} bytes")


def _read_meta(arrays, path):
    if "meta" not in arrays:
        raise ValueError(f"{path}: no 'meta' entry; this file was not written by refsnn.networks.io.save")
    try:
        meta = json.loads(str(arrays["meta"][()]))
    except (ValueError, IndexError) as exc:
        raise ValueError(f"{path}: the 'meta' entry is not a JSON string ({exc})") from None
    except RecursionError:
        raise ValueError(f"{path}: the 'meta' entry is nested too deeply to be read") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ValueError(
            f"{path}: format {found!r} is not {FORMAT!r}; this file was written by another program"
        )
    version = meta.get("format_version")
    if type(version) is not int or version not in READABLE_VERSIONS:  # not True, not 1.0
        raise ValueError(
            f"{path}: format_version {version!r} found, but this refsnn reads only version 1 or 2"
        )
    if meta.get("kind") not in KINDS:
        raise ValueError(f"{path}: unknown object kind {meta.get('kind')!r}; expected one of {sorted(KINDS)}")
    if meta["kind"] == "SpikingNetwork" and not _is_int(meta.get("T")):
        raise ValueError(f"{path}: T must be an integer, got {meta.get('T')!r}")
    layers = meta.get("layers")
    if not isinstance(layers, list) or not all(isinstance(entry, dict) for entry in layers):
        raise ValueError(f"{path}: 'layers' must be a list of JSON objects, got {layers!r}")
    for where, entry in _leaf_entries(layers, path):
        for field in ("settings", "arrays"):
            if not isinstance(entry.get(field), dict):
                raise ValueError(
                    f"{where} ({entry.get('type')!r}): {field!r} must be a JSON object, got {entry.get(field)!r}"
                )
    thresholds = meta.get("thresholds_", [])
    if not isinstance(thresholds, list) or not all(isinstance(key, str) for key in thresholds):
        raise ValueError(f"{path}: 'thresholds_' must be a list of array names, got {thresholds!r}")
    return meta


def _leaf_entries(layers, path, prefix=""):
    """(where, entry) for every layer entry of a metadata layer list, containers opened.

    Checks the containers' own structure: a Sequential entry has a list ``layers``, a
    Residual entry the objects (or null) ``main``, ``shortcut`` and ``activation``.
    """
    for i, entry in enumerate(layers):
        where = f"{prefix}.{i}" if prefix else str(i)
        yield from _entry_leaves(entry, where, path)


#: The deepest nesting of containers that :func:`load` reads (a ResNet nests 3 deep);
#: deeper files are refused before Python's recursion limit is reached.
MAX_NESTING = 100


def _entry_leaves(entry, where, path):
    if not isinstance(entry, dict):
        raise ValueError(f"{path}: layer {where} must be a JSON object, got {entry!r}")
    if where.count(".") > MAX_NESTING:  # one dot per level of nesting: "3.main.1"
        raise ValueError(f"{path}: containers nested more than {MAX_NESTING} deep (layer {where[:20]}...)")
    kind = entry.get("type")
    if kind == "Sequential":
        children = entry.get("layers")
        if not isinstance(children, list):
            raise ValueError(f"{path}: layer {where} (Sequential): 'layers' must be a list, got {children!r}")
        yield from _leaf_entries(children, path, where)
    elif kind == "Residual":
        if entry.get("main") is None:
            raise ValueError(f"{path}: layer {where} (Residual) has no 'main' path")
        for name in ("main", "shortcut", "activation"):
            if entry.get(name) is not None:
                yield from _entry_leaves(entry[name], f"{where}.{name}", path)
    else:
        yield f"{path}: layer {where}", entry


def _is_int(value):
    """A JSON integer: an int, but not a bool (``true``) and not a float (``4.0``)."""
    return type(value) is int


#: The dtypes of stored arrays. Others would compute garbage (int64 weights cast the
#: input to int) or lose precision (float16).
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _check_float(arr, what):
    if arr.dtype not in FLOAT_DTYPES:
        raise ValueError(f"{what} has dtype {arr.dtype}; refsnn stores only float32 or float64 arrays")


def _check_keys(meta, arrays, path):
    """Every array the metadata names exists, and every stored array is named."""
    try:
        named = [key for _, entry in _leaf_entries(meta["layers"], path) for key in entry["arrays"].values()]
        named += list(meta.get("thresholds_", []))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: malformed metadata ({type(exc).__name__}: {exc})") from None
    missing = sorted(set(named) - set(arrays))
    if missing:
        raise ValueError(f"{path}: the metadata references arrays that are missing: {missing}")
    unnamed = sorted(set(arrays) - set(named) - {"meta"})
    if unnamed:
        raise ValueError(f"{path}: the archive holds arrays the metadata does not mention: {unnamed}")


def _rebuild(where, entry, arrays, path):
    """The layer or container at ``where`` from its metadata entry, holding exactly the
    stored arrays."""
    if entry.get("type") == "Sequential":
        return Sequential(*[_rebuild(f"{where}.{i}", child, arrays, path) for i, child in enumerate(entry["layers"])])
    if entry.get("type") == "Residual":
        parts = {name: None if entry.get(name) is None else _rebuild(f"{where}.{name}", entry[name], arrays, path)
                 for name in ("main", "shortcut", "activation")}
        return Residual(**parts)
    return _rebuild_leaf(where, entry, arrays, path)


def _rebuild_leaf(i, entry, arrays, path):
    """Layer ``i`` from its metadata entry, holding exactly the stored arrays."""
    codec = LAYERS.get(entry.get("type")) if isinstance(entry.get("type"), str) else None
    where = f"{path}: layer {i} ({entry.get('type')!r})"
    if codec is None:
        raise ValueError(f"{where}: unknown layer type; supported: {', '.join(LAYERS)}")
    if set(entry.get("settings", {})) != set(codec.settings) or set(entry["arrays"]) != set(codec.arrays):
        raise ValueError(
            f"{where}: expected settings {list(codec.settings)} and arrays {list(codec.arrays)}, "
            f"found {list(entry.get('settings', {}))} and {list(entry['arrays'])}"
        )
    for name in codec.settings:
        value = entry["settings"][name]
        kind = SETTING_TYPES.get(name, int)
        if type(value) is not kind:  # exactly: a bool is not an int, 4.0 is not an int
            raise ValueError(f"{where}: setting {name!r} must be {_KIND_NAMES[kind]}, got {value!r}")
    stored = {name: arrays[key] for name, key in entry["arrays"].items()}
    for name, arr in stored.items():
        _check_float(arr, f"{where}: array {name!r}")
    for name, shape in codec.shapes(entry["settings"]).items():  # before building: no huge layer
        if stored[name].shape != shape:
            raise ValueError(f"{where}: array {name!r} has shape {stored[name].shape}, but the settings "
                             f"{entry['settings']} need shape {shape}")
    try:
        layer = codec.build(entry["settings"], stored)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: cannot be rebuilt: {exc}") from None
    for name, arr in stored.items():
        built = getattr(layer, name)
        if arr.shape != built.shape or arr.dtype != built.dtype:
            raise ValueError(
                f"{where}: array {name!r} has shape {arr.shape} and dtype {arr.dtype}, but the layer "
                f"needs shape {built.shape} and dtype {built.dtype}"
            )
        setattr(layer, name, arr)
    return layer


def load(path):
    """Load a network or SNN written by :func:`save`.

    Parameters
    ----------
    path : str or os.PathLike
        The file, used as given (no ``.npz`` suffix is added).

    Returns
    -------
    refsnn.networks.containers.Sequential or refsnn.networks.spiking.SpikingNetwork
        Equal to the saved object: the same layer types and settings, bit-identical
        arrays of the same dtypes, and ``thresholds_`` if it was saved.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        Naming ``path``, if the file is not an npz archive, is truncated or corrupted
        (each entry's CRC-32 is checked), was written by another program, has a
        ``format_version`` other than the integer 1 or 2, its metadata is malformed (e.g.
        ``"settings": null``, a setting or ``T`` that is not an integer) or references
        missing arrays, or an array is not float32 or float64 (int64, bool or float16
        weights are refused). Sizes are checked before anything is built: containers
        nested more than ``MAX_NESTING`` deep, an entry whose .npy header announces more
        data than it holds, or settings that do not match the shapes of the stored
        arrays are refused. So are BatchNorm running statistics that hold NaN or
        infinity, or a variance < 0.

    Notes
    -----
    The archive is read with ``allow_pickle=False``: nothing in it is ever unpickled.
    The file format is described in the module docstring.
    """
    path = os.fspath(path)
    with open(path, "rb") as file:  # FileNotFoundError names the path
        data = file.read()
    try:
        arrays = _read_archive(data)
    except Exception as exc:  # zipfile and NumPy raise many types for damaged input
        if b"/data.pkl" in data[:4096]:  # the first entry of a torch.save zip archive
            raise ValueError(f"{path} is a PyTorch checkpoint (torch.save), not a refsnn file: read it with "
                             "refsnn.networks.checkpoints.load_state_dict, or the authors' networks with "
                             "refsnn.networks.zoo.load_authors") from None
        raise ValueError(f"{path}: not a readable refsnn file: {type(exc).__name__}: {exc}") from None
    meta = _read_meta(arrays, path)
    _check_keys(meta, arrays, path)
    layers = [_rebuild(str(i), entry, arrays, path) for i, entry in enumerate(meta["layers"])]
    try:
        obj = Sequential(*layers) if meta["kind"] == "Sequential" else SpikingNetwork(layers, meta["T"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: cannot rebuild the {meta['kind']}: {type(exc).__name__}: {exc}") from None
    if "thresholds_" in meta:
        obj.thresholds_ = [arrays[key] for key in meta["thresholds_"]]
        for k, theta in enumerate(obj.thresholds_):
            _check_float(theta, f"{path}: thresholds_[{k}]")
    return obj
