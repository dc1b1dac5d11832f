"""Tests for ``refsnn evaluate`` (refsnn.programs.evaluate), without torch.

A full-size ResNet-20 for CIFAR-100 is built by refsnn with random weights, exported in the
authors' naming (:func:`refsnn.networks.zoo.authors_state_dict`) and written as a torch zip
checkpoint by :func:`write_checkpoint` below (the pickle assembled opcode by opcode, as
``torch.save`` lays it out); the CIFAR-100 files are synthetic, in the standard format.

* the command runs, prints the rows and writes them as JSON; the parallel SNN at T = T̃
  agrees with the ANN on every image (Theorem 4.1);
* rows merged over chunks equal the rows of one chunk;
* bad arguments and missing or damaged files end with one line and exit status 2.
"""

import json
import zipfile

import numpy as np
import pytest

from refsnn.networks.checkpoints import load_state_dict
from refsnn.networks.containers import iter_layers, set_training
from refsnn.networks.zoo import authors_state_dict, resnet20
from refsnn.programs.cli import main
from refsnn.programs.evaluate import evaluate
from test_data import make_cifar100

STORAGES = {np.dtype(np.float32): "FloatStorage", np.dtype(np.int64): "LongStorage"}


def _text(s):
    data = s.encode()
    return b"X" + len(data).to_bytes(4, "little") + data


def _ints(values):
    return b"(" + b"".join(b"J" + int(v).to_bytes(4, "little", signed=True) for v in values) + b"t"


def write_checkpoint(path, state):
    """``torch.save({'model': state})`` without torch, for float32 and int64 arrays: data.pkl
    calls ``torch._utils._rebuild_tensor_v2`` on persistent-id storages, one per array."""
    body, records = b"", {}
    for i, (name, array) in enumerate(state.items()):
        array = np.ascontiguousarray(array)
        stride = [s // array.itemsize for s in array.strides]
        storage = (b"(" + _text("storage") + f"ctorch\n{STORAGES[array.dtype]}\n".encode() + _text(str(i))
                   + _text("cpu") + b"J" + array.size.to_bytes(4, "little") + b"tQ")
        body += (_text(name) + b"ctorch._utils\n_rebuild_tensor_v2\n(" + storage + b"J\x00\x00\x00\x00"
                 + _ints(array.shape) + _ints(stride) + b"\x89}tR")
        records[f"archive/data/{i}"] = array.astype(array.dtype.newbyteorder("<")).tobytes()
    pkl = b"\x80\x02}(" + _text("model") + b"}(" + body + b"uu."
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", b"little")
        for name, data in records.items():
            z.writestr(name, data)
    return path


def random_resnet20(levels=4, classes=100, seed=0):
    rng = np.random.default_rng(seed)
    net = resnet20(levels, classes=classes, seed=seed)
    for _, layer in iter_layers(net):
        if hasattr(layer, "running_var"):
            layer.weight[...] = rng.uniform(0.5, 1.5, layer.channels)
            layer.bias[...] = rng.normal(0, 0.2, layer.channels)
            layer.running_mean[...] = rng.normal(0, 0.2, layer.channels)
            layer.running_var[...] = rng.uniform(0.5, 1.5, layer.channels)
        if hasattr(layer, "theta") and layer.theta.size == 1:
            layer.theta[...] = rng.uniform(0.5, 2.0)
    return set_training(net, False)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate")
    make_cifar100(root / "cifar-100-python", n=6)
    net = random_resnet20()
    path = write_checkpoint(root / "resnet20.pth", authors_state_dict(net, "resnet20", 4, classes=100))
    return root, path, net


def test_the_test_writer_writes_what_the_reader_reads(files):
    _, path, net = files
    state = load_state_dict(path)
    expected = authors_state_dict(net, "resnet20", 4, classes=100)
    assert list(state) == list(expected)
    for k in expected:
        np.testing.assert_array_equal(state[k], expected[k])


def test_evaluate_prints_and_writes_the_rows(files, tmp_path, capsys):
    root, path, _ = files
    out = tmp_path / "rows.json"
    assert main(["evaluate", "--checkpoint", str(path), "--arch", "resnet20", "--levels", "4", "--data", "cifar100",
                 "--data-dir", str(root), "--T", "4", "2", "--if-T", "8", "--calibrate", "4", "--limit", "5",
                 "--batch-size", "2", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "parallel_calibrated" in printed and f"wrote {out}" in printed
    rows = json.loads(out.read_text())["rows"]
    assert [(r["method"], r["T"]) for r in rows] == [("ann", None), ("parallel", 4), ("parallel", 2),
                                                    ("parallel_calibrated", 4), ("parallel_calibrated", 2), ("if", 8)]
    parallel = rows[1]
    assert parallel["agreement"] == 1.0 and parallel["images"] == 5 and len(parallel["rate_error"]) == 19
    assert max(parallel["rate_error"]) < 1e-6


def test_rows_merged_over_chunks_equal_one_chunk(files):
    root, path, _ = files
    kw = dict(T=(2,), if_T=(4,), limit=5, log=lambda *a: None, progress=lambda *a: None)
    one = evaluate(path, "resnet20", 4, "cifar100", root, batch_size=5, **kw)["rows"]
    three = evaluate(path, "resnet20", 4, "cifar100", root, batch_size=2, **kw)["rows"]  # 2, 2, 1
    for a, b in zip(one, three):
        for key in ("accuracy", "agreement", "rate_error", "rate_bias"):
            np.testing.assert_allclose(b[key], a[key], rtol=1e-5, atol=1e-7, err_msg=f"{a['method']} {key}")


@pytest.mark.parametrize("change, message", [
    ({"--levels": "0"}, "--levels must be integers >= 1"),
    ({"--T": "-2"}, "--T must be integers >= 1"),
    ({"--checkpoint": "missing.pth"}, "--checkpoint missing.pth is not a file"),
    ({"--data-dir": "nowhere"}, "--data-dir nowhere is not a folder"),
    ({"--arch": "vgg16"}, "does not fit the authors' vgg16"),
    ({"--checkpoint": "DAMAGED"}, "damaged zip archive|not a PyTorch zip checkpoint"),
    ({"--data-dir": "EMPTY"}, "no such CIFAR batch file"),
])
def test_bad_arguments_and_files_end_in_one_line_and_status_2(files, tmp_path, capsys, change, message):
    root, path, _ = files
    args = {"--checkpoint": str(path), "--arch": "resnet20", "--levels": "4", "--data": "cifar100",
            "--data-dir": str(root), "--limit": "2"}
    args.update(change)
    if args["--checkpoint"] == "DAMAGED":
        (tmp_path / "damaged.pth").write_bytes(path.read_bytes()[:1000])
        args["--checkpoint"] = str(tmp_path / "damaged.pth")
    if args["--data-dir"] == "EMPTY":
        args["--data-dir"] = str(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate"] + [v for pair in args.items() for v in pair])
    assert exit_.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and errors[0].startswith("refsnn evaluate: error:")
    assert __import__("re").search(message, errors[0]), errors[0]


@pytest.fixture(scope="module")
def relu_checkpoint(tmp_path_factory):
    from refsnn.networks.zoo import relu_resnet18

    net = set_training(relu_resnet18(classes=100, image_size=32, seed=1), False)
    return write_checkpoint(tmp_path_factory.mktemp("relu") / "resnet18_relu.pth",
                            authors_state_dict(net, "resnet18_relu", classes=100, image_size=32))


@pytest.mark.filterwarnings("ignore:ReLU layer")  # channels that random weights never make positive
def test_evaluate_runs_the_training_free_pipeline_on_a_relu_resnet(files, relu_checkpoint, tmp_path):
    root, _, _ = files
    out = tmp_path / "rows.json"
    assert main(["evaluate", "--checkpoint", str(relu_checkpoint), "--arch", "resnet18_relu", "--data", "cifar100",
                 "--data-dir", str(root), "--T", "4", "--if-T", "4", "--calibrate", "4", "--limit", "3",
                 "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [(r["method"], r["T"]) for r in rows] == [("ann", None), ("parallel", 4), ("parallel_calibrated", 4),
                                                    ("if", 4)]
    assert {r["source"] for r in rows} == {"relu"} and len(rows[1]["rate_error"]) == 16  # the stem's ReLU stays


@pytest.mark.parametrize("change, message", [
    ({"--levels": "4"}, "leave out --levels"),
    ({"--T": None}, "pass --T"),
    ({"--calibrate": None}, "pass --calibrate N"),
    ({"--arch": "resnet20"}, "is a QCFS network: pass --levels"),
])
def test_a_relu_network_takes_no_levels_but_steps_and_images(files, relu_checkpoint, capsys, change, message):
    root, _, _ = files
    args = {"--checkpoint": str(relu_checkpoint), "--arch": "resnet18_relu", "--data": "cifar100",
            "--data-dir": str(root), "--T": "4", "--calibrate": "2", "--limit": "2"}
    args.update(change)
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate"] + [v for pair in args.items() if pair[1] is not None for v in pair])
    assert exit_.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and __import__("re").search(message, errors[0]), errors
