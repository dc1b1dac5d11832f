"""Tests for refsnn.programs.outputs: output paths checked before the work, JSON written
atomically.

* :func:`check_output_path` accepts a writable place and leaves nothing behind; it
  rejects, naming the flag and the path, a missing folder, a directory given for a file,
  a file given for a folder, and a folder it cannot write in;
* :func:`save_json` writes ``json.dumps(result, indent=1)`` and a newline, keeps an
  existing file's permission bits, and creates no folder;
* special files: ``/dev/null`` and a FIFO are accepted without a new file in their folder
  and written in place; ``-`` and ``/dev/stdout`` go to standard output, and inside
  :func:`json_output` everything else printed goes to standard error;
* a full disk: the result is kept in the temporary folder (or printed) and
  :class:`OutputError` says where, in one line; :func:`save_figure` leaves no truncated
  image and keeps an existing one;
* :func:`stdout_guard`: printing to a closed pipe stops quietly and is reported.
"""

import errno
import io
import json
import os
import re
import stat
import sys
import tempfile
from pathlib import Path

import pytest
from test_files import nothing_renamed_onto_dev, read_fifo_in_thread  # noqa: F401 (a fixture)

from refsnn.programs import outputs


def test_save_json_writes_indented_json(tmp_path):
    path = tmp_path / "x.json"
    outputs.save_json({"a": [1, 2.5], "b": None}, path)
    assert path.read_text(encoding="utf-8") == json.dumps({"a": [1, 2.5], "b": None}, indent=1) + "\n"
    assert os.listdir(tmp_path) == ["x.json"]


def test_save_json_keeps_the_permission_bits(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{}")
    os.chmod(path, 0o640)
    outputs.save_json({"a": 1}, path)
    assert os.stat(path).st_mode & 0o7777 == 0o640
    assert json.loads(path.read_text()) == {"a": 1}


def test_check_output_path_accepts_a_writable_place(tmp_path):
    assert outputs.check_output_path(tmp_path / "x.json", "--json") == str(tmp_path / "x.json")
    assert os.listdir(tmp_path) == []  # the probe leaves nothing behind
    assert outputs.check_output_path(tmp_path / "new", "out_dir", directory=True) == str(tmp_path / "new")
    assert outputs.check_output_path(tmp_path, "out_dir", directory=True) == str(tmp_path)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("make, problem", [
    (lambda d: d / "missing" / "x.json", "does not exist"),
    (lambda d: d, "is a directory"),
    (lambda d: (d / "file").write_text("") or d / "file" / "x.json", "not a directory"),
    (lambda d: Path("/proc/refsnn-x.json"), "cannot write"),
])
def test_check_output_path_rejects_bad_places(make, problem, tmp_path):
    path = make(tmp_path)
    with pytest.raises(ValueError, match=f"--json.*{re.escape(str(path))}.*{problem}"):
        outputs.check_output_path(path, "--json")
    assert not (tmp_path / "missing").exists()


def test_check_output_path_for_a_directory(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="--out.*not a directory"):
        outputs.check_output_path(tmp_path / "file", "--out", directory=True)
    with pytest.raises(ValueError, match="--out.*does not exist"):
        outputs.check_output_path(tmp_path / "a" / "b", "--out", directory=True)


def test_save_json_does_not_create_folders(tmp_path):
    with pytest.raises(FileNotFoundError):
        outputs.save_json({"a": 1}, tmp_path / "missing" / "x.json")
    assert os.listdir(tmp_path) == []


# Special files and standard output ------------------------------------------------------

def test_check_output_path_accepts_special_files_without_a_new_file_beside_them(monkeypatch, tmp_path):
    """``/dev/null``, a FIFO, ``-`` and ``/dev/stdout`` are written in place or through the
    stream, so their folder (``/dev``, ``/proc/<pid>/fd``) need not accept new files."""
    def probe(folder, where):
        raise AssertionError(f"probed {folder} for {where}")

    monkeypatch.setattr(outputs, "_probe_write", probe)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path in ("/dev/null", fifo, "-", "/dev/stdout"):
        assert outputs.check_output_path(path, "--json") == os.fspath(path)


def test_save_json_to_dev_null_and_a_fifo_writes_in_place(nothing_renamed_onto_dev, tmp_path):
    outputs.save_json({"a": 1}, "/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader, received = read_fifo_in_thread(fifo)
    outputs.save_json({"a": [1, 2]}, fifo)
    reader.join(timeout=10)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and json.loads(received[0]) == {"a": [1, 2]}


@pytest.mark.parametrize("path", ["-", "/dev/stdout"])
def test_save_json_to_standard_output(path, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    outputs.save_json({"a": 1}, path)
    assert json.loads(capsys.readouterr().out) == {"a": 1}
    assert os.listdir(tmp_path) == []  # no file named "-"


def test_json_output_to_standard_output_prints_everything_else_to_standard_error(capsys):
    with outputs.json_output("-", "--json") as write:
        print("the report")
        write({"a": 1})
        print("after")
    out, err = capsys.readouterr()
    assert json.loads(out) == {"a": 1}
    assert err == "the report\nafter\n"
    print("back")
    assert capsys.readouterr().out == "back\n"


def test_json_output_to_a_file_announces_it(capsys, tmp_path):
    path = tmp_path / "x.json"
    with outputs.json_output(path, "--json") as write:
        print("the report")
        write({"a": 1})
    assert capsys.readouterr().out == f"the report\nwrote {path}\n"
    assert json.loads(path.read_text()) == {"a": 1}
    with outputs.json_output(None) as write:
        write({"a": 2})
    assert json.loads(path.read_text()) == {"a": 1}


def test_json_output_checks_the_path_before_the_body():
    with pytest.raises(ValueError, match="json_path.*does not exist"):
        with outputs.json_output("/nonexistent-folder/x.json", "json_path"):
            raise AssertionError("the body ran despite a bad path")


# A full disk ------------------------------------------------------------------------------

def full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_keeps_the_result_in_the_temporary_folder(monkeypatch, tmp_path):
    kept = tmp_path / "tmp"
    kept.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(kept))
    monkeypatch.setattr(outputs, "atomic_write", full_disk)
    with pytest.raises(outputs.OutputError) as info:
        with outputs.json_output(tmp_path / "x.json") as write:
            write({"rows": [1, 2]})
    message = str(info.value)
    assert "x.json" in message and "No space left on device" in message and "\n" not in message
    [saved] = kept.iterdir()
    assert str(saved) in message and json.loads(saved.read_text()) == {"rows": [1, 2]}
    assert not (tmp_path / "x.json").exists()


def test_a_full_disk_everywhere_prints_the_result(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    monkeypatch.setattr(outputs, "atomic_write", full_disk)
    with pytest.raises(outputs.OutputError, match="printed above"):
        with outputs.json_output(tmp_path / "x.json") as write:
            write({"rows": [1, 2]})
    assert json.loads(capsys.readouterr().out) == {"rows": [1, 2]}


def test_a_full_device_is_an_output_error(nothing_renamed_onto_dev, monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(outputs.OutputError, match="/dev/full.*No space left on device.*kept in"):
        with outputs.json_output("/dev/full") as write:
            write({"a": 1})
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def failing_savefig(self, fname, **kwargs):
    """Write the start of a PNG, then fail as a full disk does."""
    if isinstance(fname, (str, os.PathLike)):
        with open(fname, "wb") as file:
            file.write(b"\x89PNG\r\n\x1a\n")
    else:
        fname.write(b"\x89PNG\r\n\x1a\n")
    raise OSError(errno.ENOSPC, "No space left on device")


def test_save_figure_is_atomic(monkeypatch, tmp_path):
    import matplotlib.figure
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    path = tmp_path / "a.png"
    outputs.save_figure(fig, path, dpi=50)
    good = path.read_bytes()
    assert good.startswith(b"\x89PNG") and len(good) > 100
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", failing_savefig)
    with pytest.raises(outputs.OutputError, match="a.png.*No space left on device"):
        outputs.save_figure(fig, path)
    with pytest.raises(outputs.OutputError):
        outputs.save_figure(fig, tmp_path / "b.png")
    plt.close(fig)
    assert path.read_bytes() == good and os.listdir(tmp_path) == ["a.png"]


# A standard output whose reader has gone -------------------------------------------------

class ClosedPipe(io.StringIO):
    """A stream whose reader has gone: every write and flush raises BrokenPipeError."""

    def write(self, text):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def test_stdout_guard_stops_printing_quietly(monkeypatch):
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    with outputs.stdout_guard() as guard:
        assert not guard.reader_gone
        print("first")
        print("second")
        done = True
    assert done and guard.reader_gone


def test_stdout_guard_passes_everything_through_an_open_stream(capsys):
    with outputs.stdout_guard() as guard:
        print("hello")
    assert not guard.reader_gone and capsys.readouterr().out == "hello\n"
