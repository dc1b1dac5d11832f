"""The programs' output files: check a path before the work starts, write a result as JSON
or a figure, and print to a standard output that may go away.

``refsnn demo --json``, ``refsnn bench --json``, ``refsnn experiment --json/--out``,
``refsnn verify --json`` and ``refsnn figures --out`` run for seconds to minutes before
they write anything. Every decision about those files is made here, the same for each
program:

* :func:`check_output_path` checks the place up front, so that a mistyped folder fails at
  once instead of after the work;
* :func:`json_output` (or :func:`save_json`) writes the result: atomically to a regular
  file (:mod:`refsnn._files`, as :func:`refsnn.networks.io.save` writes a network), in
  place to a device or a FIFO, and to standard output for ``-`` or ``/dev/stdout``, with
  everything else printed to standard error meanwhile, so that standard output carries the
  JSON alone (``refsnn verify --json - | python -m json.tool``);
* if the file cannot be written at the end (a full disk), the JSON is kept in a new file
  in the temporary folder, or printed, and :class:`OutputError` says where;
* :func:`save_figure` writes a figure atomically too: a full disk leaves no truncated PNG;
* :func:`stdout_guard` makes a standard output whose reader has gone (``refsnn tour |
  head -1``) swallow the rest quietly, as Unix tools do, so that the program still ends
  its work and writes its files.
"""

import contextlib
import json
import os
import secrets
import sys
import tempfile

from .._files import atomic_write, is_special

__all__ = ["OutputError", "STDOUT", "check_output_path", "json_output", "save_figure", "save_json",
           "standard_stream", "stdout_guard"]

#: The output path that means standard output (``--json -``).
STDOUT = "-"

#: Paths that name this process's standard streams. They are written through Python's
#: stream, never opened by name: redirected to a file (``> report.txt``), ``/dev/stdout``
#: names that regular file, and replacing it would lose what was printed before.
_STREAMS = {STDOUT: "stdout", "/dev/stdout": "stdout", "/dev/fd/1": "stdout", "/proc/self/fd/1": "stdout",
            "/dev/stderr": "stderr", "/dev/fd/2": "stderr", "/proc/self/fd/2": "stderr"}


class OutputError(OSError):
    """An output file could not be written; the message names it, the reason, and where
    the result was kept instead (if it was)."""


def standard_stream(path):
    """``sys.stdout`` if ``path`` is ``-`` or ``/dev/stdout``, ``sys.stderr`` if it is
    ``/dev/stderr``, None for any other path."""
    name = _STREAMS.get(os.fsdecode(path))
    return None if name is None else getattr(sys, name)


def save_json(result, path):
    """Write a result dict (``refsnn demo --json``, ``refsnn bench --json``) as JSON.

    To a regular file the write is atomic, keeps the mode of an existing file and follows
    a symbolic link, like :func:`refsnn.networks.io.save`; a device or a FIFO is written in
    place; ``-`` and ``/dev/stdout`` write to standard output (:func:`standard_stream`).
    The folder of ``path`` must exist; it is not created (check it up front with
    :func:`check_output_path`).
    """
    _write_text(_json_text(result), path, standard_stream(path))


def _json_text(result):
    return json.dumps(result, indent=1) + "\n"


def _write_text(text, path, stream):
    if stream is not None:
        stream.write(text)
        stream.flush()
    else:
        atomic_write(path, lambda file: file.write(text.encode("utf-8")))


@contextlib.contextmanager
def json_output(path, name="path", announce=True):
    """Check ``path`` up front, run the body, and let it write its result there as JSON.

    Yields ``write(result)``. While the result is to go to standard output (``-``,
    ``/dev/stdout``), whatever the body prints goes to standard error instead. ``write``
    saves the result as :func:`save_json` does and, for a file, prints ``wrote PATH`` (if
    ``announce``). If the file cannot be written (a full disk, a folder removed meanwhile),
    the result is kept in a new file of the temporary folder, or printed if that fails too,
    and :class:`OutputError` names the path, the reason and where the result is. With
    ``path=None`` nothing is checked and ``write`` does nothing.

    Parameters
    ----------
    path : str or os.PathLike or None
    name : str
        How the caller's user knows the path, for :func:`check_output_path`'s messages.
    announce : bool, default True
        Print ``wrote PATH`` after writing a file.
    """
    if path is None:
        yield lambda result: None
        return
    path = check_output_path(path, name)
    stream = standard_stream(path)  # looked up before the body's prints are moved away from it

    def write(result):
        text = _json_text(result)
        try:
            _write_text(text, path, stream)
        except OSError as exc:
            if stream is not None:
                raise
            raise OutputError(f"cannot write {path!r} ({exc.strerror or exc}); {_keep(text)}") from exc
        if announce and stream is None:
            print(f"wrote {path}")

    if stream is sys.stdout:
        with contextlib.redirect_stdout(sys.stderr):
            yield write
    else:
        yield write


def _keep(text):
    """Keep ``text`` where it can be recovered, and say where: a new file in the temporary
    folder, or printed to standard output if that cannot be written either."""
    kept = None
    try:
        fd, kept = tempfile.mkstemp(prefix="refsnn-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        return f"the result is kept in {kept}"
    except OSError:
        if kept is not None:
            with contextlib.suppress(OSError):
                os.remove(kept)
    print(text, end="")
    return "the result is printed above"


def save_figure(fig, path, **options):
    """``fig.savefig(path, **options)``, atomically: a full disk leaves no truncated image.

    The format comes from the suffix of ``path`` (``.png`` by default). An error writing
    raises :class:`OutputError` naming ``path``; an existing file stays as it was.
    """
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    try:
        atomic_write(path, lambda file: fig.savefig(file, format=suffix, **options))
    except OSError as exc:
        raise OutputError(f"cannot write {path!r} ({exc.strerror or exc})") from exc


class _Guard:
    """A standard output that, once its reader has gone, discards what is written to it.

    The first BrokenPipeError points the file descriptor at ``os.devnull`` (so that the
    interpreter's last flush succeeds too, as the Python documentation's note on SIGPIPE
    recommends: https://docs.python.org/3/library/signal.html#note-on-sigpipe), and sets
    ``reader_gone``; everything else is the wrapped stream's.
    """

    def __init__(self, stream):
        self._stream = stream
        self.reader_gone = False

    def write(self, text):
        if not self.reader_gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._discard()
        return len(text)

    def flush(self):
        if not self.reader_gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._discard()

    def _discard(self):
        self.reader_gone = True
        try:
            fd = self._stream.fileno()
        except (AttributeError, OSError, ValueError):  # not a file: nothing to redirect
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def stdout_guard():
    """While it lasts, printing to a standard output whose reader has gone (``refsnn tour
    | head -1``) stops quietly instead of raising BrokenPipeError, so the program still
    finishes and writes its files.

    Yields the guard: ``guard.reader_gone`` tells whether that happened (the command line
    then exits with status 141, 128 + SIGPIPE, as a Unix tool killed by SIGPIPE does).
    """
    guard = _Guard(sys.stdout)
    with contextlib.redirect_stdout(guard):
        try:
            yield guard
        finally:
            guard.flush()


def check_output_path(path, name="path", directory=False):
    """Check, before any long work starts, that the result can be written to ``path``.

    A file path must not be a directory, and its folder must exist, be a directory and
    accept new files (tested by creating and removing an empty hidden file there, which
    is what the atomic write will do). A standard stream (``-``, ``/dev/stdout``) is
    accepted as it is, and a device or a FIFO if it can be opened for writing. With
    ``directory=True``, ``path`` is a folder of output files: it must either be a writable
    directory, or not exist yet while its parent is a writable directory (then the caller
    creates only ``path`` itself). A symbolic link is followed, as the atomic write does.
    Nothing is left behind.

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
    if not directory and standard_stream(path) is not None:
        return path
    if not directory and is_special(path):  # written in place: no new file in its folder
        if not os.access(path, os.W_OK):
            raise ValueError(f"{where} cannot be written")
        return path
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
