"""Atomic file writes, shared by :func:`refsnn.networks.io.save` and the programs' output
files (:mod:`refsnn.programs.outputs`).

A file is written to a temporary file beside the target, flushed and fsynced, and then
renamed onto the target with :func:`os.replace`, so that a crash or an error midway never
leaves a half-written file: an existing file stays intact and the temporary file is
removed. Four decisions follow, the same for every caller:

* an error names the path the caller gave (never the hidden temporary file), and no
  folder is ever created: the target's folder must exist;
* overwriting an existing file keeps its permission bits (a ``0600`` file stays
  ``0600``); a new file gets the default mode ``0666`` minus the umask;
* a symbolic link is followed: the file it points to is replaced atomically and the
  link stays a link. (A hard link, in contrast, is broken: the name gets a new file.)
* a special file (a character device such as ``/dev/null``, a FIFO, ``/dev/stdout`` on a
  terminal or a pipe) is written in place: opened and written, never renamed onto, since a
  rename would replace the device or the pipe with a regular file.
"""

import os
import secrets
import stat

__all__ = ["atomic_write", "is_special"]


def _fsync_directory(directory):
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def is_special(path):
    """True if ``path`` (followed through symbolic links) exists and is neither a regular
    file nor a directory: a device, a FIFO, a socket."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def atomic_write(path, write):
    """Call ``write(file)`` on a temporary file beside ``path``, fsync, then rename it
    onto ``path``; on any error remove the temporary file and leave ``path`` untouched.

    A symbolic link at ``path`` is followed (its target is replaced), an existing file's
    permission bits are kept, and an error in creating the temporary file names ``path``.
    A special file (:func:`is_special`) is written in place instead, with no temporary
    file and no rename.
    """
    path = os.fspath(path)
    if is_special(path):
        try:
            with open(path, "wb") as file:
                write(file)
        except OSError as exc:  # a full device fails on write or close, naming no path
            if exc.filename is not None or exc.errno is None:
                raise
            raise type(exc)(exc.errno, exc.strerror, path) from None
        return
    target = os.path.realpath(path)  # a symlink stays a symlink: replace what it points to
    directory, name = os.path.split(target)
    tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:  # no file there yet
        mode = None
    # os.open with mode 0o666 honours the umask, so a new file gets the usual
    # permissions (tempfile.mkstemp would make it private, 0o600).
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:  # name the user's path, not the hidden temporary file
        raise type(exc)(exc.errno, exc.strerror, path) from None
    try:
        with os.fdopen(fd, "wb") as file:  # a file object: np.savez appends no suffix
            if mode is not None:
                os.chmod(file.fileno(), mode)
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)
