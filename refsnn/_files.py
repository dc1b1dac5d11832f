"""Atomic file writes, shared by :func:`refsnn.networks.io.save` and the programs' output
files (:mod:`refsnn.programs.outputs`).

A file is written to a temporary file beside the target, flushed and fsynced, and then
renamed onto the target with :func:`os.replace`, so that a crash or an error midway never
leaves a half-written file: an existing file stays intact and the temporary file is
removed. Three decisions follow, the same for every caller:

* an error names the path the caller gave (never the hidden temporary file), and no
  folder is ever created: the target's folder must exist;
* overwriting an existing file keeps its permission bits (a ``0600`` file stays
  ``0600``); a new file gets the default mode ``0666`` minus the umask;
* a symbolic link is followed: the file it points to is replaced atomically and the
  link stays a link. (A hard link, in contrast, is broken: the name gets a new file.)
"""

import os
import secrets
import stat

__all__ = ["atomic_write"]


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


def atomic_write(path, write):
    """Call ``write(file)`` on a temporary file beside ``path``, fsync, then rename it
    onto ``path``; on any error remove the temporary file and leave ``path`` untouched.

    A symbolic link at ``path`` is followed (its target is replaced), an existing file's
    permission bits are kept, and an error in creating the temporary file names ``path``.
    """
    path = os.fspath(path)
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
