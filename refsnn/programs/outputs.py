"""The programs' output files: check a path before the work starts, write a result as JSON.

``refsnn demo --json``, ``refsnn bench --json``, ``refsnn experiment --json/--out``,
``refsnn verify --json`` and ``refsnn figures --out`` run for seconds to minutes before
they write anything. :func:`check_output_path` checks the place up front, so that a
mistyped folder fails at once instead of after the work; :func:`save_json` then writes
the result atomically (:mod:`refsnn._files`), as :func:`refsnn.networks.io.save` writes
a network.
"""

import json
import os
import secrets

from .._files import atomic_write

__all__ = ["check_output_path", "save_json"]


def save_json(result, path):
    """Write a result dict (``refsnn demo --json``, ``refsnn bench --json``) as JSON.

    The write is atomic, and keeps the mode of an existing file and follows a symbolic
    link, like :func:`refsnn.networks.io.save`. The folder of ``path`` must exist; it is
    not created (check it up front with :func:`check_output_path`).
    """
    text = json.dumps(result, indent=1) + "\n"
    atomic_write(path, lambda file: file.write(text.encode("utf-8")))


def check_output_path(path, name="path", directory=False):
    """Check, before any long work starts, that the result can be written to ``path``.

    A file path must not be a directory, and its folder must exist, be a directory and
    accept new files (tested by creating and removing an empty hidden file there, which
    is what the atomic write will do). With ``directory=True``, ``path`` is a folder of
    output files: it must either be a writable directory, or not exist yet while its
    parent is a writable directory (then the caller creates only ``path`` itself). A
    symbolic link is followed, as the atomic write does. Nothing is left behind.

    Parameters
    ----------
    path : str or os.PathLike
    name : str
        How the caller's user knows the path, used in messages: a parameter name
        (``"json_path"``) or a command-line flag (``"--json"``).
    directory : bool, default False
        ``path`` is a directory for several output files, not a file.

    Returns
    -------
    str
        ``path`` as given, converted with :func:`os.fspath`.

    Raises
    ------
    TypeError
        If ``path`` is not a str or path-like object.
    ValueError
        Naming ``name`` and ``path``, if it cannot be written as described.
    """
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {type(path).__name__}") from None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not path:
        raise ValueError(f"{name} must be a non-empty path")
    where = f"{name} {path!r}"
    target = os.path.realpath(path)
    if directory and os.path.isdir(target):
        _probe_write(target, where)
        return path
    if directory and os.path.lexists(target):
        raise ValueError(f"{where} is not a directory")
    if not directory and os.path.isdir(target):
        raise ValueError(f"{where} is a directory; expected the path of a file")
    folder = os.path.dirname(target)
    if not os.path.exists(folder):
        raise ValueError(f"{where}: the folder {folder!r} does not exist (it is not created)")
    if not os.path.isdir(folder):
        raise ValueError(f"{where}: {folder!r} is not a directory")
    _probe_write(folder, where)
    return path


def _probe_write(folder, where):
    """Create and remove an empty hidden file in ``folder``; ValueError if impossible.

    ``os.access`` is not enough: it says yes to root on read-only and virtual file
    systems such as ``/proc``.
    """
    probe = os.path.join(folder, f".refsnn-probe.{secrets.token_hex(4)}.tmp")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.remove(probe)
    except OSError as exc:
        raise ValueError(f"{where}: cannot write in the folder {folder!r} ({exc.strerror})") from None
