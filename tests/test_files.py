"""Tests for refsnn._files.atomic_write: regular files are replaced atomically, special
files (devices, FIFOs) are written in place and stay what they are.

* a regular file is replaced through a temporary file, and a failed write leaves the old
  file intact and no temporary file behind;
* ``/dev/null`` stays a character device and a FIFO stays a FIFO (its reader gets the
  bytes): nothing is renamed onto them;
* a full device (``/dev/full``) raises ENOSPC and is left a device.
"""

import errno
import os
import stat
import threading

import pytest

from refsnn._files import atomic_write


@pytest.fixture
def nothing_renamed_onto_dev(monkeypatch):
    """Fail, instead of replacing a device of this machine, if a file is renamed into /dev."""
    replace = os.replace

    def guarded(source, target, *args, **kwargs):
        if os.path.realpath(target).startswith("/dev/"):
            raise AssertionError(f"a temporary file was renamed onto {target}")
        return replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", guarded)


def read_fifo_in_thread(fifo):
    """Start a thread that reads ``fifo`` to its end; returns (thread, list of what it read)."""
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    return reader, received


def test_a_regular_file_is_replaced_and_a_failed_write_keeps_it(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"old")
    atomic_write(path, lambda file: file.write(b"new"))
    assert path.read_bytes() == b"new"

    def full(file):
        file.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        atomic_write(path, full)
    assert path.read_bytes() == b"new" and os.listdir(tmp_path) == ["x.bin"]


def test_dev_null_stays_a_character_device(nothing_renamed_onto_dev):
    before = set(os.listdir("/dev"))
    atomic_write("/dev/null", lambda file: file.write(b"{}\n"))
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert set(os.listdir("/dev")) == before  # no temporary file left beside it


def test_a_fifo_is_written_in_place(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader, received = read_fifo_in_thread(fifo)
    atomic_write(fifo, lambda file: file.write(b"through the pipe\n"))
    reader.join(timeout=10)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode), "the FIFO was replaced by a regular file"
    assert received == [b"through the pipe\n"]
    assert os.listdir(tmp_path) == ["pipe"]


def test_a_full_device_raises_enospc_and_stays_a_device(nothing_renamed_onto_dev):
    with pytest.raises(OSError) as info:
        atomic_write("/dev/full", lambda file: file.write(b"x" * 10))
    assert info.value.errno == errno.ENOSPC and "/dev/full" in str(info.value)
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
