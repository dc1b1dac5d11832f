"""Tests for refsnn.networks.io: exact round trips, clear errors, atomic writes.

Invariants, one test each where possible:

* save → load returns the same object: the same layer types, equal settings and
  bit-identical arrays of the same dtypes (every public attribute except gradients and
  the IF membrane), and identical outputs (``forward``; ``run`` and ``predict``);
* ``thresholds_`` survives; float64 networks stay float64;
* the path is used exactly as given (no ``.npz`` suffix is added), as str or Path, and
  plain NumPy can read the file as the module docstring says;
* a damaged or foreign file raises ValueError naming the path: truncated, a flipped
  byte (which either raises or changes nothing, never yields a different network), not
  an npz, another program's npz, another format_version, arrays missing; a missing file
  raises FileNotFoundError;
* a failed save leaves an existing file intact and no temporary file behind;
* an unsupported object or layer raises TypeError naming its type, and writes nothing.
"""

import io
import json
import os
import re
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from refsnn.networks import io as rio
from refsnn.networks.conversion import record_thresholds, to_if_snn, to_parallel_snn
from refsnn.networks.activations import DAQCFS, QCFS, ClipReLU, ReLU
from refsnn.networks.containers import Sequential
from refsnn.networks.layers import AvgPool2d, Conv2d, Flatten, Linear
from refsnn.networks.spiking import IFNeurons, ParallelNeurons, SpikingNetwork

T = 4
C = 4  # channels of both convolutions


def make_activation(name, rng):
    """One activation layer for C channels; every array differs between channels."""
    if name == "ReLU":
        return ReLU()
    if name == "ClipReLU":
        return ClipReLU(rng.uniform(0.5, 2.0, C))
    if name == "QCFS":
        return QCFS(theta=1.5, levels=T)
    return DAQCFS(rng.uniform(0.5, 2.0, C), T, psi_da=rng.normal(0, 0.1, C), phi_da=rng.normal(0, 0.1, C))


def cnn(activation="QCFS", dtype=np.float32, seed=0):
    """A CNN for 1×8×8 inputs, nonzero biases: conv, act, pool, conv (stride 2), act, linear."""
    rng = np.random.default_rng(seed)
    net = Sequential(
        Conv2d(1, C, 3, padding=1, rng=rng, dtype=dtype), make_activation(activation, rng), AvgPool2d(2),
        Conv2d(C, C, 3, stride=2, padding=1, rng=rng, dtype=dtype), make_activation(activation, rng),
        Flatten(), Linear(C * 2 * 2, 10, rng, dtype=dtype),
    )
    for layer in net:
        if isinstance(layer, (Conv2d, Linear)):
            layer.bias[:] = rng.normal(0, 0.1, layer.bias.shape)
    return net


def inputs(seed=1, batch=6):
    return np.random.default_rng(seed).uniform(0, 2, (batch, 1, 8, 8)).astype(np.float32)


def state(layer):
    """Public attributes that define a layer: not gradients, not the IF membrane ``v``."""
    return {k: v for k, v in vars(layer).items()
            if not k.startswith("_") and not k.endswith("_grad") and k != "v"}


def assert_identical_arrays(a, b, what):
    assert isinstance(b, np.ndarray), what
    assert (a.dtype, a.shape) == (b.dtype, b.shape), what
    assert a.tobytes() == b.tobytes(), what


def assert_same(saved, loaded):
    assert type(loaded) is type(saved)
    assert len(loaded.layers) == len(saved.layers)
    for i, (a, b) in enumerate(zip(saved.layers, loaded.layers)):
        assert type(b) is type(a), i
        sa, sb = state(a), state(b)
        assert sa.keys() == sb.keys(), i
        for k, v in sa.items():
            if isinstance(v, np.ndarray):
                assert_identical_arrays(v, sb[k], f"layer {i} {k}")
            else:
                assert (type(sb[k]), sb[k]) == (type(v), v), f"layer {i} {k}"
    if isinstance(saved, SpikingNetwork):
        assert (loaded.T, loaded.kind) == (saved.T, saved.kind)
    assert hasattr(loaded, "thresholds_") == hasattr(saved, "thresholds_")
    for k, (a, b) in enumerate(zip(getattr(saved, "thresholds_", []), getattr(loaded, "thresholds_", []))):
        assert_identical_arrays(a, b, f"thresholds_[{k}]")


def assert_same_outputs(saved, loaded, X):
    if isinstance(saved, Sequential):
        assert_identical_arrays(saved.forward(X), loaded.forward(X), "forward")
        return
    modes = ["sequential"] if saved.kind == "if" else ["faithful", "collapsed"]
    for mode in modes:
        assert_identical_arrays(saved.run(X, mode), loaded.run(X, mode), f"run {mode}")
        assert_identical_arrays(saved.predict(X, mode), loaded.predict(X, mode), f"predict {mode}")


def round_trip(obj, tmp_path, name="net.npz"):
    path = tmp_path / name
    rio.save(obj, path)
    return rio.load(path)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("activation", ["ReLU", "ClipReLU", "QCFS", "DAQCFS"])
def test_sequential_round_trip(activation, tmp_path):
    net = cnn(activation)
    X = inputs()
    net.forward(X)  # leaves cached inputs behind, which are not saved
    loaded = round_trip(net, tmp_path)
    assert_same(net, loaded)
    assert_same_outputs(net, loaded, X)
    assert loaded[0].weight.dtype == loaded[-1].bias.dtype == np.float32
    if activation != "ReLU":
        assert loaded[1].theta.dtype == np.float64


def test_float64_network_stays_float64(tmp_path):
    net = cnn("QCFS", dtype=np.float64)
    loaded = round_trip(net, tmp_path)
    assert loaded[0].weight.dtype == loaded[0].bias.dtype == loaded[-1].weight.dtype == np.float64
    assert_same(net, loaded)
    assert_same_outputs(net, loaded, inputs())


@pytest.mark.filterwarnings("error")  # seed 1: no channel is silenced
def test_thresholds_are_preserved(tmp_path):
    net = record_thresholds(cnn("ReLU", seed=1), inputs(seed=2, batch=32))
    assert len(net.thresholds_) == 2
    loaded = round_trip(net, tmp_path)
    assert_same(net, loaded)
    assert all(t.dtype == np.float64 for t in loaded.thresholds_)
    assert_same_outputs(net, loaded, inputs())


def parallel_snns():
    daqcfs = cnn("DAQCFS")
    direct = SpikingNetwork([
        Flatten(), Linear(64, 5, np.random.default_rng(3)),
        ParallelNeurons(np.array([0.5, 1.0, 1.5, 2.0, 2.5]), T, psi=np.arange(5) * 0.1,
                        theta_post=np.array([0.6, 1.0, 1.4, 2.1, 2.4]), order="code"),
        Linear(5, 3, np.random.default_rng(4)),
    ], T)
    return {
        "qcfs-paper": to_parallel_snn(cnn("QCFS"), T, order="paper"),
        "qcfs-code": to_parallel_snn(cnn("QCFS"), T, order="code"),
        "daqcfs-paper": to_parallel_snn(daqcfs, T, order="paper"),
        "daqcfs-code": to_parallel_snn(daqcfs, T, order="code"),
        "direct": direct,
    }


@pytest.mark.parametrize("name", list(parallel_snns()))
def test_parallel_snn_round_trip(name, tmp_path):
    snn = parallel_snns()[name]
    neurons = snn.neuron_layers[0]
    if name.startswith("qcfs"):
        assert neurons.theta.shape == (1,)  # scalar θ
    else:  # channel-wise θ with θ_post ≠ θ and ψ ≠ θ/2
        assert neurons.theta.shape[0] > 1
        assert not np.array_equal(neurons.theta_post, neurons.theta)
        assert not np.array_equal(neurons.psi, neurons.theta / 2)
    loaded = round_trip(snn, tmp_path)
    assert_same(snn, loaded)
    assert_same_outputs(snn, loaded, inputs())


@pytest.mark.parametrize("activation", ["ClipReLU", "QCFS", "DAQCFS"])
def test_if_snn_round_trip(activation, tmp_path):
    snn = to_if_snn(cnn(activation), T)
    X = inputs()
    snn.run(X)  # leaves a membrane potential v behind, which is not saved
    loaded = round_trip(snn, tmp_path)
    assert all(layer.v is None for layer in loaded.neuron_layers)
    assert_same(snn, loaded)
    assert_same_outputs(snn, loaded, X)


def test_if_snn_with_bias_and_amplitude(tmp_path):
    snn = SpikingNetwork([Flatten(), Linear(64, 5, np.random.default_rng(5)),
                          IFNeurons(np.full(5, 1.2), psi_da=np.linspace(-0.1, 0.1, 5),
                                    theta_post=np.full(5, 1.3)),
                          Linear(5, 3, np.random.default_rng(6))], T)
    loaded = round_trip(snn, tmp_path)
    assert_same(snn, loaded)
    assert_same_outputs(snn, loaded, inputs())


# --------------------------------------------------------------------------- paths and format


def test_path_is_used_as_given_without_adding_a_suffix(tmp_path):
    net = cnn()
    rio.save(net, str(tmp_path / "model"))
    assert sorted(os.listdir(tmp_path)) == ["model"]
    assert_same(net, rio.load(tmp_path / "model"))
    rio.save(net, tmp_path / "model.npz")
    assert sorted(os.listdir(tmp_path)) == ["model", "model.npz"]
    assert_same(net, rio.load(str(tmp_path / "model.npz")))


def test_overwrites_an_existing_file(tmp_path):
    path = tmp_path / "net.npz"
    rio.save(cnn("ReLU"), path)
    net = cnn("QCFS", seed=7)
    rio.save(net, path)
    assert_same(net, rio.load(path))
    assert os.listdir(tmp_path) == ["net.npz"]


def test_plain_numpy_reads_the_file_as_documented(tmp_path):
    net = cnn("DAQCFS")
    path = tmp_path / "net.npz"
    rio.save(net, path)
    with np.load(path, allow_pickle=False) as f:
        meta = json.loads(str(f["meta"]))
        assert (meta["format"], meta["format_version"], meta["kind"]) == ("refsnn", 2, "Sequential")
        assert [entry["type"] for entry in meta["layers"]] == [type(layer).__name__ for layer in net]
        assert meta["layers"][0]["settings"] == {"in_channels": 1, "out_channels": C, "kernel_size": 3,
                                                 "stride": 1, "padding": 1}
        assert meta["layers"][0]["arrays"]["weight"] == "layer0/weight"
        assert_identical_arrays(net[0].weight, f["layer0/weight"], "weight")
        assert_identical_arrays(net[4].psi_da, f[meta["layers"][4]["arrays"]["psi_da"]], "psi_da")


# --------------------------------------------------------------------------- damaged and foreign files


def saved_bytes(tmp_path, obj=None):
    path = tmp_path / "net.npz"
    rio.save(cnn() if obj is None else obj, path)
    return path, path.read_bytes()


def raises_naming(path, *patterns):
    """pytest.raises(ValueError) whose message names ``path`` (and matches ``patterns``)."""
    return pytest.raises(ValueError, match=re.escape(str(path)) + "".join(f"(?s:.*){p}" for p in patterns))


def test_missing_file(tmp_path):
    path = tmp_path / "absent.npz"
    with pytest.raises(FileNotFoundError, match=re.escape(str(path))):
        rio.load(path)


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_truncated_file(fraction, tmp_path):
    path, data = saved_bytes(tmp_path)
    path.write_bytes(data[:int(len(data) * fraction)])
    with raises_naming(path):
        rio.load(path)


def test_flipped_byte_in_the_weights(tmp_path):
    net = cnn()
    path, data = saved_bytes(tmp_path, net)
    at = data.find(net[3].weight.tobytes()) + 17
    assert at > 17
    path.write_bytes(data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:])
    with raises_naming(path, "checksum"):
        rio.load(path)


@pytest.mark.parametrize("what", ["bias", "theta"])
def test_flipped_byte_in_a_small_array_is_caught_by_its_checksum(tmp_path, what):
    """A flipped bit in a bias or a threshold, a few bytes that nothing but the CRC
    guards: loading must refuse the file, never return a network with a changed value."""
    net = cnn("DAQCFS")
    layer = next(layer for layer in net if hasattr(layer, what))
    path, data = saved_bytes(tmp_path, net)
    at = data.find(getattr(layer, what).tobytes()) + 2
    assert at > 2
    path.write_bytes(data[:at] + bytes([data[at] ^ 0x10]) + data[at + 1:])
    with raises_naming(path, "checksum"):
        rio.load(path)


def test_any_flipped_byte_raises_or_changes_nothing(tmp_path):
    """Flip the bytes of a small file in turn: never a silently different network.

    Every byte is flipped except inside the JSON text, where every 16th is (for speed:
    that text is 60% of the file, and its bytes are all guarded by the same checksum).
    """
    net = Sequential(Linear(2, 2, np.random.default_rng(8)), QCFS(1.0, 2), Flatten())
    path, data = saved_bytes(tmp_path, net)
    with np.load(path) as f:
        text = f["meta"].tobytes()
    start = data.find(text)
    assert start > 0
    X = np.random.default_rng(9).uniform(-1, 2, (4, 2)).astype(np.float32)
    checked = raised = 0
    for at in range(len(data)):
        if start <= at < start + len(text) and at % 16:
            continue
        checked += 1
        path.write_bytes(data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:])
        try:
            loaded = rio.load(path)
        except ValueError as exc:
            assert str(path) in str(exc)
            raised += 1
            continue
        assert_same(net, loaded)
        assert_same_outputs(net, loaded, X)
    assert raised > checked // 2  # most flips are caught (the rest hit timestamps and the like)


def test_plain_text_file(tmp_path):
    path = tmp_path / "net.npz"
    path.write_text("weights: 1 2 3\n")
    with raises_naming(path, "not an npz"):
        rio.load(path)


def test_npy_file(tmp_path):
    path = tmp_path / "net.npy"
    np.save(path, np.arange(3.0))
    with raises_naming(path, "not an npz"):
        rio.load(path)


def test_npz_from_another_program(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, weight=np.ones(3))
    with raises_naming(path, "not written by refsnn"):
        rio.load(path)


def rewrite(path, edit):
    """Apply ``edit(meta, arrays)`` to a saved file and write it back with plain NumPy."""
    with np.load(path, allow_pickle=False) as f:
        arrays = {key: f[key] for key in f.files}
    meta = json.loads(str(arrays.pop("meta")))
    edit(meta, arrays)
    with open(path, "wb") as file:
        np.savez(file, meta=np.array(json.dumps(meta)), **arrays)


@pytest.mark.parametrize("version", [0, 3, 99])
def test_other_format_version(version, tmp_path):
    path, _ = saved_bytes(tmp_path)
    rewrite(path, lambda meta, arrays: meta.update(format_version=version))
    with raises_naming(path, f"format_version {version} found", "version 1 or 2"):
        rio.load(path)


def test_version_1_files_still_load(tmp_path):
    """A flat network written as version 1 (before containers) loads unchanged."""
    path, _ = saved_bytes(tmp_path)
    rewrite(path, lambda meta, arrays: meta.update(format_version=1))
    net = rio.load(path)
    assert isinstance(net, Sequential) and len(net) > 0


def resnet(source):
    """A small ResNet with BatchNorm statistics that are not the defaults."""
    from refsnn.networks.containers import iter_layers, set_training
    from refsnn.networks.models import resnet_mini
    from refsnn.networks.normalization import BatchNorm

    factory = {"ReLU": ReLU, "QCFS": lambda: QCFS(2.0, 4)}[source]
    net = resnet_mini(factory, seed=1, blocks=1)
    rng = np.random.default_rng(2)
    for _, layer in iter_layers(net):
        if isinstance(layer, BatchNorm):
            layer.running_mean[...] = rng.normal(0, 0.1, layer.channels)
            layer.running_var[...] = rng.uniform(0.5, 2, layer.channels)
            layer.weight[...] = rng.uniform(0.5, 1.5, layer.channels)
    return set_training(net, False)


@pytest.mark.parametrize("kind", ["ann", "parallel", "if"])
def test_resnet_round_trip(kind, tmp_path):
    """A ResNet (nested Residual blocks, BatchNorm) and the SNNs converted from it come
    back with identical structure, arrays and outputs."""
    from refsnn.networks.containers import iter_layers

    net = resnet("QCFS")
    obj = {"ann": net, "parallel": to_parallel_snn(net, 4), "if": to_if_snn(net, 4)}[kind]
    path = tmp_path / "resnet.npz"
    rio.save(obj, path)
    loaded = rio.load(path)
    tree = (lambda o: o) if kind == "ann" else (lambda o: o.net)
    saved_leaves, loaded_leaves = list(iter_layers(tree(obj))), list(iter_layers(tree(loaded)))
    assert [(p, type(layer)) for p, layer in saved_leaves] == [(p, type(layer)) for p, layer in loaded_leaves]
    X = np.random.default_rng(3).random((5, 1, 8, 8), dtype=np.float32)
    if kind == "ann":
        assert all(not getattr(layer, "training", False) for _, layer in loaded_leaves)
        np.testing.assert_array_equal(loaded.forward(X), obj.forward(X))
    else:
        np.testing.assert_array_equal(loaded.run(X), obj.run(X))


def test_other_format_name(tmp_path):
    path, _ = saved_bytes(tmp_path)
    rewrite(path, lambda meta, arrays: meta.update(format="keras"))
    with raises_naming(path, "'keras'", "another program"):
        rio.load(path)


def test_metadata_references_missing_arrays(tmp_path):
    path, _ = saved_bytes(tmp_path)
    rewrite(path, lambda meta, arrays: arrays.pop("layer3/weight"))
    with raises_naming(path, "missing", "layer3/weight"):
        rio.load(path)


def test_array_of_the_wrong_shape(tmp_path):
    path, _ = saved_bytes(tmp_path)
    rewrite(path, lambda meta, arrays: arrays.update({"layer6/weight": arrays["layer6/weight"][:, :3]}))
    with raises_naming(path, "layer 6", "shape"):
        rio.load(path)


def test_loading_the_unedited_rewrite_still_works(tmp_path):
    """Guard for the tests above: ``rewrite`` itself does not damage the file."""
    net = cnn()
    path, _ = saved_bytes(tmp_path, net)
    rewrite(path, lambda meta, arrays: None)
    assert_same(net, rio.load(path))


def peak_memory_of(function):
    """The peak of memory traced while ``function()`` runs, in bytes."""
    tracemalloc.start()
    try:
        function()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def raising(function, error=ValueError):
    """``function`` made to return None on ``error``, to be measured by peak_memory_of."""
    def run():
        try:
            function()
        except error:
            pass
    return run


@pytest.mark.parametrize("layer, settings, array", [
    ("6", dict(in_features=10 ** 6, out_features=10 ** 6), "weight"),  # 4 TB of weights
    ("3", dict(in_channels=1000, out_channels=1000), "weight"),  # 36 MB of weights
    ("3", dict(kernel_size=1), "weight"),
])
def test_settings_that_do_not_match_the_stored_arrays_are_refused_before_building(layer, settings, array,
                                                                                   tmp_path):
    """A layer is built only after its settings agree with the shapes of its stored
    arrays: no layer of the announced size is ever allocated."""
    path, _ = saved_bytes(tmp_path)
    rewrite(path, lambda meta, arrays: meta["layers"][int(layer)]["settings"].update(settings))
    with raises_naming(path, f"layer {layer}", array, "shape"):
        rio.load(path)
    assert peak_memory_of(raising(lambda: rio.load(path))) < 4 * 2 ** 20


def test_batchnorm_channels_that_do_not_match_the_stored_arrays(tmp_path):
    path, _ = saved_bytes(tmp_path, resnet("ReLU"))
    rewrite(path, lambda meta, arrays: meta["layers"][1]["settings"].update(channels=10 ** 12))
    with raises_naming(path, "layer 1", "BatchNorm", "shape"):
        rio.load(path)


def nested(depth, entries):
    """The JSON text of metadata layers ``entries``, each inside ``depth`` Sequential
    entries (written as text: json.dumps itself recurses)."""
    def wrap(entry):
        return '{"type": "Sequential", "layers": [' * depth + json.dumps(entry) + "]}" * depth
    return "[" + ", ".join(wrap(entry) for entry in entries) + "]"


def rewrite_nested(path, depth):
    with np.load(path, allow_pickle=False) as f:
        arrays = {key: f[key] for key in f.files}
    meta = json.loads(str(arrays.pop("meta")))
    text = json.dumps(dict(meta, layers=None)).replace('"layers": null', '"layers": ' + nested(depth, meta["layers"]))
    with open(path, "wb") as file:
        np.savez(file, meta=np.array(text), **arrays)


@pytest.mark.parametrize("depth", [450, 1000, 100_000])
def test_deeply_nested_metadata_is_refused(depth, tmp_path):
    """900+ nested containers (or JSON nested deeper than Python's json reads) are a
    ValueError naming the file, not a RecursionError."""
    path, _ = saved_bytes(tmp_path)
    rewrite_nested(path, depth)
    with raises_naming(path, "nested"):
        rio.load(path)


def test_networks_nested_a_few_levels_load(tmp_path):
    """The guard of the test above: 20 levels load, the same network inside."""
    path, _ = saved_bytes(tmp_path)
    rewrite_nested(path, 20)
    loaded = rio.load(path)
    X = inputs()
    np.testing.assert_array_equal(loaded.forward(X), cnn().forward(X))


def test_an_array_header_that_announces_more_data_than_its_entry_holds(tmp_path):
    """A .npy header announcing 1.6 GB of float32 before a few stored bytes: refused from the
    header, before NumPy allocates the array."""
    path, _ = saved_bytes(tmp_path)
    with np.load(path, allow_pickle=False) as f:
        arrays = {key: f[key] for key in f.files}
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (400_000_000,)})
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in arrays.items():
            entry = io.BytesIO()
            np.save(entry, value)
            data = header.getvalue() + value.tobytes() if key == "layer6/bias" else entry.getvalue()
            archive.writestr(key + ".npy", data)
    with raises_naming(path, "layer6/bias", "400000000"):
        rio.load(path)
    assert peak_memory_of(raising(lambda: rio.load(path))) < 4 * 2 ** 20


def test_an_array_the_metadata_does_not_mention(tmp_path):
    path, _ = saved_bytes(tmp_path)
    rewrite(path, lambda meta, arrays: arrays.update({"layer6/extra": np.zeros(3, np.float32)}))
    with raises_naming(path, "does not mention", "layer6/extra"):
        rio.load(path)


def test_an_array_of_another_dtype_than_the_layer(tmp_path):
    """float32 weights with a float64 bias: the layer computes in one dtype."""
    path, _ = saved_bytes(tmp_path)
    rewrite(path, lambda meta, arrays: arrays.update({"layer6/bias": arrays["layer6/bias"].astype(np.float64)}))
    with raises_naming(path, "layer 6", "bias", "float64", "dtype float32"):
        rio.load(path)


@pytest.mark.parametrize("name, value", [("running_var", -1.0), ("running_var", np.nan),
                                         ("running_mean", np.inf)])
def test_batchnorm_statistics_that_no_data_gives_are_refused(name, value, tmp_path):
    """A variance < 0 or NaN, or an infinite mean: refused at load, naming the array,
    instead of NaN outputs later blamed on an overflow."""
    net = resnet("ReLU")
    path, _ = saved_bytes(tmp_path, net)
    key = f"layer1/{name}"
    rewrite(path, lambda meta, arrays: arrays[key].__setitem__(0, value))
    with raises_naming(path, "layer 1", name):
        rio.load(path)


def test_save_onto_a_directory_names_the_directory(tmp_path):
    target = tmp_path / "folder"
    target.mkdir()
    with pytest.raises(IsADirectoryError) as info:
        rio.save(cnn(), target)
    assert info.value.filename == str(target) and ".tmp" not in str(info.value)
    assert os.listdir(tmp_path) == ["folder"] and os.listdir(target) == []


# --------------------------------------------------------------------------- atomic writes


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_failed_save_keeps_the_old_file(error, tmp_path, monkeypatch):
    path, old = saved_bytes(tmp_path)

    def write_half_then_fail(file, arrays):
        file.write(old[:len(old) // 2])
        raise error

    monkeypatch.setattr(rio, "_write_npz", write_half_then_fail)
    with pytest.raises(type(error)):
        rio.save(cnn("ReLU"), path)
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["net.npz"]


def test_failed_save_to_a_new_path_leaves_nothing(tmp_path, monkeypatch):
    def fail(file, arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(rio, "_write_npz", fail)
    with pytest.raises(OSError, match="disk full"):
        rio.save(cnn(), tmp_path / "net.npz")
    assert os.listdir(tmp_path) == []


def test_failed_rename_keeps_the_old_file(tmp_path, monkeypatch):
    path, old = saved_bytes(tmp_path)

    def fail(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(rio.os, "replace", fail)
    with pytest.raises(OSError, match="rename failed"):
        rio.save(cnn("ReLU"), path)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["net.npz"]


# --------------------------------------------------------------------------- unsupported objects


class MyLinear(Linear):
    pass


@pytest.mark.parametrize("obj, name", [
    (object(), "object"),
    (np.zeros(3), "ndarray"),
    (Linear(2, 2, np.random.default_rng(0)), "Linear"),
    (Sequential(Linear(2, 2, np.random.default_rng(0)), MyLinear(2, 2, np.random.default_rng(1))),
     "MyLinear"),
])
def test_unsupported_object_raises_type_error(obj, name, tmp_path):
    with pytest.raises(TypeError, match=name):
        rio.save(obj, tmp_path / "net.npz")
    assert os.listdir(tmp_path) == []


def test_the_network_of_a_spiking_network_is_refused_alone(tmp_path):
    """``snn.net`` alone would load back as an ANN whose neuron layers read the batch
    axis as time, and without T: a TypeError that says to save the SpikingNetwork, and
    nothing written. The SpikingNetwork itself saves and loads."""
    snn = to_parallel_snn(cnn("QCFS"), 4)
    with pytest.raises(TypeError, match=r"layer 1 \(ParallelNeurons.*save the SpikingNetwork"):
        rio.save(snn.net, tmp_path / "net.npz")
    assert os.listdir(tmp_path) == []
    rio.save(snn, tmp_path / "snn.npz")
    assert isinstance(rio.load(tmp_path / "snn.npz"), SpikingNetwork)


def test_str_and_path_are_equivalent(tmp_path):
    net = cnn("ClipReLU")
    rio.save(net, tmp_path / "a.npz")
    rio.save(net, str(tmp_path / "b.npz"))
    assert_same(rio.load(str(tmp_path / "a.npz")), rio.load(Path(tmp_path / "b.npz")))


# --------------------------------------------------------------------------- bad metadata and dtypes


@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.float16])
def test_non_float_weights_are_rejected(dtype, tmp_path):
    """With int64 weights the forward pass would cast the input to int and return zeros."""
    path, _ = saved_bytes(tmp_path)
    rewrite(path, lambda meta, arrays: arrays.update(
        {key: arrays[key].astype(dtype) for key in ("layer6/weight", "layer6/bias")}))
    with raises_naming(path, "layer 6", "weight", str(np.dtype(dtype)), "float32 or float64"):
        rio.load(path)


@pytest.mark.filterwarnings("ignore:.*never receive positive input:RuntimeWarning")  # this small net has one
def test_non_float_thresholds_are_rejected(tmp_path):
    net = record_thresholds(cnn("ReLU"), inputs())
    path, _ = saved_bytes(tmp_path, net)
    rewrite(path, lambda meta, arrays: arrays.update({"thresholds_/0": arrays["thresholds_/0"].astype(np.int64)}))
    with raises_naming(path, "thresholds_", "int64"):
        rio.load(path)


@pytest.mark.parametrize("field, value", [("settings", None), ("settings", [1, 2]), ("arrays", None),
                                          ("type", None)])
def test_malformed_layer_entry(field, value, tmp_path):
    path, _ = saved_bytes(tmp_path)
    rewrite(path, lambda meta, arrays: meta["layers"][0].update({field: value}))
    with raises_naming(path, "layer 0"):
        rio.load(path)


@pytest.mark.parametrize("value", [True, 4.0, "4", None])
def test_setting_of_the_wrong_type(value, tmp_path):
    path, _ = saved_bytes(tmp_path)
    rewrite(path, lambda meta, arrays: meta["layers"][0]["settings"].update(out_channels=value))
    with raises_naming(path, "layer 0", "out_channels"):
        rio.load(path)


@pytest.mark.parametrize("value", [True, 4.0, None])
def test_spiking_network_T_of_the_wrong_type(value, tmp_path):
    path, _ = saved_bytes(tmp_path, to_parallel_snn(cnn(), T))
    rewrite(path, lambda meta, arrays: meta.update(T=value))
    with raises_naming(path, "T"):
        rio.load(path)


@pytest.mark.parametrize("version", [True, 1.0, "1"])
def test_format_version_must_be_the_integer_1(version, tmp_path):
    path, _ = saved_bytes(tmp_path)
    rewrite(path, lambda meta, arrays: meta.update(format_version=version))
    with raises_naming(path, "format_version", "version 1"):
        rio.load(path)


@pytest.mark.parametrize("layers", [None, {"0": 1}, [None], ["Linear"]])
def test_layers_must_be_a_list_of_objects(layers, tmp_path):
    path, _ = saved_bytes(tmp_path)
    rewrite(path, lambda meta, arrays: meta.update(layers=layers))
    with raises_naming(path):
        rio.load(path)


# --------------------------------------------------------------------------- paths, modes, links


def test_save_to_a_missing_folder_names_the_path(tmp_path):
    path = tmp_path / "missing" / "net.npz"
    with pytest.raises(FileNotFoundError) as info:
        rio.save(cnn(), path)
    assert info.value.filename == str(path)
    assert str(path) in str(info.value) and ".tmp" not in str(info.value)
    assert not (tmp_path / "missing").exists()


def test_overwrite_keeps_the_permission_bits(tmp_path):
    path = tmp_path / "net.npz"
    rio.save(cnn(), path)
    os.chmod(path, 0o600)
    rio.save(cnn("ReLU"), path)
    assert os.stat(path).st_mode & 0o7777 == 0o600


def test_new_file_gets_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        rio.save(cnn(), tmp_path / "net.npz")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "net.npz").st_mode & 0o7777 == 0o640


def test_overwriting_a_symlink_replaces_its_target(tmp_path):
    (tmp_path / "store").mkdir()
    target = tmp_path / "store" / "real.npz"
    rio.save(cnn("ReLU"), target)
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    net = cnn("QCFS", seed=3)
    rio.save(net, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert_same(net, rio.load(target))
    assert sorted(os.listdir(tmp_path / "store")) == ["real.npz"]
    assert sorted(os.listdir(tmp_path)) == ["link.npz", "store"]


def test_nesting_exactly_max_nesting_deep_loads_and_one_more_is_refused(tmp_path):
    """The limit is inclusive: leaves MAX_NESTING containers deep load, one level more is
    refused (naming the file)."""
    path, _ = saved_bytes(tmp_path)
    rewrite_nested(path, rio.MAX_NESTING)
    X = inputs()
    np.testing.assert_array_equal(rio.load(path).forward(X), cnn().forward(X))
    rewrite_nested(path, rio.MAX_NESTING + 1)
    with raises_naming(path, "nested more than"):
        rio.load(path)


def test_an_entry_with_bytes_after_its_announced_array_is_refused(tmp_path):
    """A .npy entry holding more than its header announces (a damaged or spliced file):
    NumPy would read the announced array and ignore the rest, so it is refused."""
    path, _ = saved_bytes(tmp_path)
    with np.load(path, allow_pickle=False) as f:
        arrays = {key: f[key] for key in f.files}
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in arrays.items():
            entry = io.BytesIO()
            np.save(entry, value)
            extra = b"\x00" * 8 if key == "layer6/bias" else b""
            archive.writestr(key + ".npy", entry.getvalue() + extra)
    with raises_naming(path, "layer6/bias", "announces"):
        rio.load(path)


def test_a_pytorch_checkpoint_is_named_and_pointed_to_its_reader():
    checkpoint = Path(__file__).resolve().parent / "fixtures" / "tiny_resnet.pth"
    with pytest.raises(ValueError, match=r"is a PyTorch checkpoint.*checkpoints\.load_state_dict.*zoo\.load_authors"):
        rio.load(checkpoint)
