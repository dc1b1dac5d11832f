"""Tests for refsnn.programs.outputs: output paths checked before the work, JSON written
atomically.

* :func:`check_output_path` accepts a writable place and leaves nothing behind; it
  rejects, naming the flag and the path, a missing folder, a directory given for a file,
  a file given for a folder, and a folder it cannot write in;
* :func:`save_json` writes ``json.dumps(result, indent=1)`` and a newline, keeps an
  existing file's permission bits, and creates no folder.
"""

import json
import os
import re
from pathlib import Path

import pytest

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
