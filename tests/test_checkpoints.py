"""Tests for refsnn.networks.checkpoints, without torch: the committed fixtures of
``tests/fixtures/`` (made once by ``tests/fixtures/make_checkpoints.py``) and archives
built here byte by byte.

* every tensor of ``tensors.pth`` reads back to the values written (views, a shared
  storage, float16, bfloat16, int64, 0-d and empty tensors), un-nested and without
  DataParallel's ``module.`` prefix;
* a pickle that calls ``os.system`` is refused and does not run; so are an unknown
  global, a truncated archive, a big-endian archive, the legacy format and a storage
  shorter than its tensor, each with a message naming the file.
"""

import io
import pickle
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from refsnn.networks.checkpoints import load_state_dict, read_checkpoint

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TENSORS = FIXTURES / "tensors.pth"


def expected_tensors():
    """The values of ``make_checkpoints.tensors()``, written in NumPy."""
    w = np.arange(24, dtype=np.float32).reshape(4, 6)
    return {"w": w, "wt": w.T, "ws": w[1:3, ::2], "h": (np.arange(5) / 8).astype(np.float16),
            "b": (np.arange(5) / 4 - 1).astype(np.float32), "i": np.arange(6) * -3, "n": np.array(5),
            "e": np.zeros((0, 3), np.float32), "p": np.ones(2, np.float32)}


def test_fixture_tensors_read_back_exactly():
    state = load_state_dict(TENSORS)
    expected = expected_tensors()
    assert list(state) == list(expected)  # un-nested from {'model': ...}, 'module.' removed, order kept
    for name, value in expected.items():
        assert state[name].dtype == value.dtype, name
        np.testing.assert_array_equal(state[name], value, err_msg=name)
        assert state[name].flags.c_contiguous and state[name].flags.owndata, name


def test_views_of_one_storage_are_independent_copies():
    state = load_state_dict(TENSORS)
    state["w"][0, 0] = -1
    assert state["wt"][0, 0] == 0 and state["ws"][0, 0] == 6


def test_read_checkpoint_keeps_the_nesting():
    obj = read_checkpoint(TENSORS)
    assert obj["epoch"] == 7 and "module.w" in obj["model"]


def archive(tmp_path, pkl, byteorder=b"little", records=(), name="x.pth"):
    """A zip archive laid out as torch.save lays it out, with the given data.pkl."""
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pkl)
        if byteorder is not None:
            z.writestr("archive/byteorder", byteorder)
        for record, data in records:
            z.writestr(f"archive/{record}", data)
    return path


def test_a_pickle_calling_os_system_is_refused_and_does_not_run(tmp_path):
    marker = tmp_path / "ran"
    command = f"touch {marker}".encode()
    # protocol 2 by hand: GLOBAL os.system, a string, TUPLE1, REDUCE, STOP
    pkl = b"\x80\x02cos\nsystem\nX" + len(command).to_bytes(4, "little") + command + b"\x85R."
    path = archive(tmp_path, pkl)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*os.system"):
        read_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("module, name", [("builtins", "eval"), ("torch", "load"), ("numpy", "ndarray"),
                                          ("torch._utils", "_rebuild_sparse_tensor")])
def test_every_global_off_the_allow_list_is_refused(tmp_path, module, name):
    pkl = b"\x80\x02c" + f"{module}\n{name}\n".encode() + b")R."
    with pytest.raises(ValueError, match=f"{module}.{name}"):
        read_checkpoint(archive(tmp_path, pkl))


def test_a_truncated_archive_is_refused(tmp_path):
    data = TENSORS.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 10):
        path = tmp_path / "cut.pth"
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=re.escape(str(path))):
            read_checkpoint(path)


def test_a_corrupted_storage_is_refused(tmp_path):
    """A flipped byte inside a storage fails the zip's CRC: refused, not read as other numbers."""
    data = bytearray(TENSORS.read_bytes())
    with zipfile.ZipFile(TENSORS) as z:
        info = z.getinfo(next(n for n in z.namelist() if n.endswith("/data/0")))
    local = info.header_offset  # the local header: 30 bytes, the name, then its own extra field
    name_length, extra_length = (int.from_bytes(data[local + k:local + k + 2], "little") for k in (26, 28))
    data[local + 30 + name_length + extra_length + 5] ^= 0xFF
    path = tmp_path / "flipped.pth"
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="damaged"):
        read_checkpoint(path)


def copy_with(tmp_path, replace):
    """``tensors.pth`` with some records replaced (``replace``: suffix → new bytes)."""
    path = tmp_path / "copy.pth"
    with zipfile.ZipFile(TENSORS) as src, zipfile.ZipFile(path, "w") as dst:
        for name in src.namelist():
            suffix = name.split("/", 1)[1]
            dst.writestr(name, replace.get(suffix, src.read(name)))
    return path


def test_a_big_endian_archive_is_refused(tmp_path):
    path = copy_with(tmp_path, {"byteorder": b"big"})
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*'big'"):
        read_checkpoint(path)


def test_a_storage_shorter_than_its_tensors_is_refused(tmp_path):
    path = copy_with(tmp_path, {"data/0": b"\x00" * 8})
    with pytest.raises(ValueError, match="storage 0 .* 8 bytes"):
        read_checkpoint(path)


def test_the_legacy_format_is_refused_with_a_way_out():
    with pytest.raises(ValueError, match="legacy .*torch.save"):
        read_checkpoint(FIXTURES / "legacy.pth")


def test_a_plain_pickle_and_a_missing_file(tmp_path):
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ValueError, match="legacy"):
        read_checkpoint(path)
    with pytest.raises(FileNotFoundError, match="nothing.pth"):
        read_checkpoint(tmp_path / "nothing.pth")


def test_a_checkpoint_without_a_state_dict_names_what_it_holds(tmp_path):
    pkl = pickle.dumps({"epoch": 3, "lr": 0.1}, protocol=2)
    with pytest.raises(ValueError, match=r"no state dict.*\['epoch', 'lr'\]"):
        load_state_dict(archive(tmp_path, pkl))


def test_a_tensor_reaching_past_its_storage_is_refused(tmp_path):
    """A tensor of 3 floats at offset 2 in a storage of 4: refused, never read out of bounds."""
    buffer = io.BytesIO()
    # ('storage', FloatStorage, '0', 'cpu', 4) as the persistent id of _rebuild_tensor_v2's storage
    buffer.write(b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\n"
                 b"X\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQK\x02K\x03\x85K\x01\x85\x89}tR.")
    path = archive(tmp_path, buffer.getvalue(), records=[("data/0", np.zeros(4, "<f4").tobytes())])
    with pytest.raises(ValueError, match="reaches element 4 of a storage of 4"):
        read_checkpoint(path)
