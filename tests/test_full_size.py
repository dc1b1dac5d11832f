"""Tests for ``refsnn bench --full-size`` (refsnn.programs.bench.full_size): correctness only,
on miniature versions of the zoo's ResNet-20 and VGG-16; no timing assertions.

With torch installed the torch columns are filled and every row's agreement is checked;
without it the refsnn columns stay and the install hint is printed.
"""

import json

import numpy as np
import pytest

from refsnn.networks import zoo
from refsnn.networks.containers import Sequential, iter_layers
from refsnn.networks.layers import Conv2d, Flatten, Linear
from refsnn.networks.normalization import BatchNorm
from refsnn.programs import cli
from refsnn.programs.bench import full_size, peers
from refsnn.threads import max_threads

TINY = {"batches": (1, 3), "rounds": {1: 1, 3: 1}, "T": 4, "if_T": 4, "if_batch": 3, "if_network": "ResNet-20",
        "if_rounds": 1, "gemm": 64}
TINY_NETWORKS = {"ResNet-20": lambda: zoo.resnet20(levels=8, width=2, blocks=(1, 1, 1)),
                 "VGG-16": lambda: zoo.vgg16(levels=8, width=2, hidden=16)}
ROW_KEYS = {"network", "what", "batch", "refsnn_seconds", "refsnn_spread", "gflops", "torch_seconds", "ratio",
            "agreement", "vs_ann"}


def quiet(*_):
    pass


@pytest.fixture(scope="module")
def result():
    return full_size.collect(config=TINY, networks=TINY_NETWORKS, log=quiet)


def test_every_row_of_both_networks_is_there(result):
    rows = result["rows"]
    assert all(set(r) >= ROW_KEYS for r in rows)
    forward = {(r["network"], r["what"], r["batch"]) for r in rows if r["what"] != "sequential_if"}
    assert forward == {(n, w, b) for n in TINY_NETWORKS for w in full_size.WHATS[:4] for b in TINY["batches"]}
    (if_row,) = [r for r in rows if r["what"] == "sequential_if"]
    assert if_row["network"] == "ResNet-20" and if_row["T"] == 4 and if_row["batch"] == 3 and if_row["vs_ann"] > 0
    assert all(r["agrees_with_collapsed"] == 1.0 for r in rows if r["what"] == "faithful_parallel")
    for r in rows:
        lo, hi = r["refsnn_spread"]
        assert 0 < lo <= r["refsnn_seconds"] <= hi
        assert (r["gflops"] is None) == (r["what"] == "train_step") and (r["gflops"] is None or r["gflops"] > 0)
    assert result["gemm_gflops"]["median"] > 0 and len(result["load_average"]) == 2


def test_every_row_agrees_with_torch(result):
    """With torch: both sides compute the same network, so every prediction is equal
    (the ANN rows above all); without torch the torch columns are empty."""
    rows = [r for r in result["rows"] if r["what"] != "sequential_if"]
    if result["torch"] is None:
        assert all(r["torch_seconds"] is None and r["agreement"] is None for r in rows)
        assert result["note"] == peers.INSTALL_HINT
    else:
        assert all(r["agreement"] == 1.0 and r["ratio"] > 0 for r in rows), [(r["what"], r["agreement"]) for r in rows]


def test_the_table_prints_every_row_and_the_yardstick(result):
    lines = full_size.format_full_size(result)
    assert len([line for line in lines if line.startswith(("ResNet-20", "VGG-16"))]) == len(result["rows"])
    assert any(line.startswith("GEMM yardstick: 64x64 float32 product at 1 thread(s)") for line in lines)
    assert any(line.startswith(f"{result['machine']['cpu']}; BLAS: ") for line in lines)
    assert f"load average {result['load_average'][0][0]:.2f}" in lines[0]


def test_without_torch_the_refsnn_columns_stay_and_the_hint_is_printed(monkeypatch):
    monkeypatch.setattr(peers, "peer_versions", lambda: None)
    config = dict(TINY, batches=(2,), rounds={2: 1}, if_batch=2)
    result = full_size.collect(config=config, networks={"ResNet-20": TINY_NETWORKS["ResNet-20"]}, log=quiet)
    assert result["torch"] is None and all(r["refsnn_seconds"] > 0 and r["ratio"] is None for r in result["rows"])
    assert full_size.format_full_size(result)[-1] == f"torch columns skipped ({peers.INSTALL_HINT})"


def test_macs_count_the_convolutions_and_linear_layers():
    rng = np.random.default_rng(0)
    net = Sequential(Conv2d(1, 2, 3, padding=1, rng=rng), Flatten(), Linear(32, 3, rng))
    assert full_size.macs(net, (1, 4, 4)) == 2 * 16 * 9 + 32 * 3


def test_batch_statistics_are_the_batch_s_and_leave_evaluation_mode():
    net = TINY_NETWORKS["VGG-16"]()
    X = np.random.default_rng(0).standard_normal((8, 3, 32, 32)).astype(np.float32)
    first = next(layer for _, layer in iter_layers(net) if isinstance(layer, BatchNorm))
    conv = net[0][0]
    full_size.with_batch_statistics(net, X)
    np.testing.assert_allclose(first.running_mean, conv.forward(X).mean(axis=(0, 2, 3)), rtol=1e-4, atol=1e-5)
    assert all(not layer.training and layer.momentum == 0.1 for _, layer in iter_layers(net)
               if isinstance(layer, BatchNorm))


def test_the_command_prints_the_table_and_writes_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(full_size, "QUICK", TINY)
    monkeypatch.setattr(full_size, "NETWORKS", TINY_NETWORKS)
    path = tmp_path / "full.json"
    assert cli.main(["bench", "--full-size", "--quick", "--json", str(path)]) in (0, None)
    out = capsys.readouterr().out
    assert "sequential_if T=4" in out and "GEMM yardstick" in out
    data = json.loads(path.read_text())
    assert set(data) >= {"machine", "threads", "load_average", "gemm_gflops", "torch", "note", "rows", "seconds"}
    assert all(set(r) >= ROW_KEYS for r in data["rows"]) and data["threads"] == 1


@pytest.mark.parametrize("argv, says", [(["bench", "--full-size", "--peers"], "--full-size"),
                                        (["bench", "--full-size", "--threads", "0"], "--threads")])
def test_bad_flags_exit_2_naming_them(argv, says, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after argparse's usage line
    assert last.startswith("refsnn bench: error:") and says in last


@pytest.mark.skipif(max_threads() < 2, reason="needs 2 cores")
def test_on_two_threads_large_batches_are_also_timed_on_one(monkeypatch):
    """With 2 threads, the rows from ONE_THREAD_FROM images up also time refsnn on 1
    thread in the same rounds and print the speed-up; smaller batches don't."""
    monkeypatch.setattr(full_size, "ONE_THREAD_FROM", 3)
    result = full_size.collect(config=TINY, networks={"ResNet-20": TINY_NETWORKS["ResNet-20"]}, threads=2, log=quiet)
    for row in result["rows"]:
        if row["what"] == "sequential_if":
            continue
        timed_on_one = row["batch"] >= 3
        assert ("vs_one_thread" in row) == timed_on_one, row
        if timed_on_one:
            assert row["vs_one_thread"] > 0 and row["one_thread_seconds"] > 0
    lines = full_size.format_full_size(result)
    assert "x 1 thread" in lines[1] and any("x 1 thread: median over interleaved rounds" in line for line in lines)
