"""Tests for refsnn.programs.bench.peers and the ``refsnn bench --peers/--threads`` flags.

Correctness only, at tiny sizes; no timing assertions. The comparisons with torch skip
when torch is not installed (it is an optional extra, not in CI); the skip path itself,
the flags and the import isolation are tested without it.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
from nets import dyadic_cnn

from refsnn.networks.conversion import to_if_snn, to_parallel_snn
from refsnn.programs import bench, cli
from refsnn.programs.bench import network, peers

TINY = {"neuron_T": 8, "neurons": 300, "steps": (4,), "batches": (3,), "train_batches": (4,),
        "repeats": {"neuron": 1, 3: 1, "train": 1}}
ROW_KEYS = {"peer", "what", "T", "batch", "refsnn_seconds", "peer_seconds", "ratio", "agreement"}


def quiet(*_):
    pass


def test_importing_the_bench_does_not_import_torch():
    code = "import sys, refsnn.programs.bench, refsnn.programs.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def without_peers(monkeypatch):
    """Make importing torch, spikingjelly and snntorch fail, as where they are not installed."""
    real = peers.importlib.import_module

    def no_torch(name, *args):
        if name in ("torch", "spikingjelly", "snntorch"):
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(peers.importlib, "import_module", no_torch)


def test_without_torch_the_peers_are_skipped_with_an_install_hint(monkeypatch):
    without_peers(monkeypatch)
    assert peers.peer_versions() is None
    said = []
    result = peers.bench_peers(None, None, log=said.append)
    assert result == {"skipped": peers.INSTALL_HINT} and "pip install torch==2.13.0" in peers.INSTALL_HINT
    assert said == []  # the hint is printed once, in the report
    assert peers.format_peers(result) == [f"peers: skipped ({peers.INSTALL_HINT})"]


def test_bench_without_torch_runs_the_rest_and_prints_the_hint_once(tmp_path, monkeypatch, capsys):
    """``refsnn bench --peers`` without torch: every other part runs, the report says
    once how to install the peers, and the JSON records the skip."""
    from test_bench import TINY_KERNELS, TINY_NETWORK

    from refsnn.programs.bench import kernels

    without_peers(monkeypatch)
    monkeypatch.setattr(kernels, "QUICK", TINY_KERNELS)
    monkeypatch.setattr(network, "QUICK", TINY_NETWORK)
    collect = bench.collect  # without the start-up part (child processes), quietly
    monkeypatch.setattr(bench, "collect", lambda **kwargs: collect(**kwargs, startup=False, log=quiet))
    path = tmp_path / "bench.json"
    assert cli.main(["bench", "--quick", "--peers", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.count("pip install torch==2.13.0") == 1
    assert "sequential IF" in out  # the network table of the rest of the bench
    assert json.loads(path.read_text())["peers"] == {"skipped": peers.INSTALL_HINT}


@pytest.mark.parametrize("argv, flag", [(["bench", "--threads", "0"], "--threads"),
                                        (["bench", "--threads", "x"], "--threads"),
                                        (["bench", "--threads", "999"], "--threads")])
def test_bad_threads_flag_exits_2_naming_it(argv, flag, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert flag in capsys.readouterr().err


def test_peers_and_threads_flags_reach_the_bench(monkeypatch):
    seen = {}
    monkeypatch.setattr(bench, "run", lambda **kwargs: seen.update(kwargs))
    cli.main(["bench", "--quick", "--peers", "--threads", "1"])
    assert seen == {"quick": True, "json_path": None, "threads": 1, "peers": True}


# --------------------------------------------------------------------------- with torch


def test_torch_snn_redoes_the_refsnn_snn_exactly():
    """On an exact (dyadic) network the torch versions of collapsed and faithful
    inference give refsnn's summed logits to the bit, and the SpikingJelly sequential
    network refsnn's IF logits: the comparison times the same computation."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("spikingjelly")
    net, X = dyadic_cnn(3, 4)
    xt = torch.from_numpy(X)
    parallel, sequential = to_parallel_snn(net, 4), to_if_snn(net, 4)
    with torch.inference_mode():
        tpar, tseq = peers.TorchSNN(torch, parallel), peers.TorchSNN(torch, sequential)
        np.testing.assert_array_equal(tpar.collapsed(xt).numpy(), parallel.run(X, "collapsed"))
        np.testing.assert_array_equal(tpar.faithful(xt).numpy(), parallel.run(X).sum(axis=0))
        np.testing.assert_array_equal(tseq.sequential(xt).numpy(), sequential.run(X).sum(axis=0))


def test_torch_ann_for_inference_records_no_graph_and_equals_refsnn():
    """The torch ANN that ann_forward times holds plain tensors (no autograd graph, as
    in inference) and gives refsnn's logits to the bit on an exact network; the
    trainable one, for the training step, has parameters that record a graph."""
    torch = pytest.importorskip("torch")
    net, X = dyadic_cnn(3, 4)
    xt = torch.from_numpy(X)
    forward, params = peers.torch_ann(torch, net, trainable=False)
    out = forward(xt)
    assert params == [] and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), net.forward(X))
    forward, params = peers.torch_ann(torch, net)
    assert len(params) == 8 and all(p.requires_grad for p in params)  # 3 × (weight, bias), 2 thresholds
    out = forward(xt)
    assert out.requires_grad
    np.testing.assert_array_equal(out.detach().numpy().argmax(1), net.forward(X).argmax(1))


def test_torch_rank1_neuron_equals_parallel_neuron():
    torch = pytest.importorskip("torch")
    from refsnn import parallel_neuron

    currents = np.random.default_rng(0).random((6, 50), dtype=np.float32)
    np.testing.assert_array_equal(peers.torch_rank1(torch, torch.from_numpy(currents), 0.7).numpy(),
                                  parallel_neuron(currents, 0.7))


def test_bench_peers_rows_agree_and_leave_the_network_unchanged():
    pytest.importorskip("torch")
    net = network.demo_network(train=False, log=quiet)[0]
    before = {k: v.copy() for k, v in net.params().items()}
    X = np.random.default_rng(1).random((5, 1, 8, 8), dtype=np.float32)
    result = peers.bench_peers(net, X, config=TINY, log=quiet)
    assert result["threads"] == 1 and result["versions"]["torch"]
    whats = {(r["peer"], r["what"]) for r in result["rows"]}
    assert {("torch", "parallel_neuron"), ("torch", "ann_forward"), ("torch", "collapsed_parallel"),
            ("torch", "faithful_parallel"), ("torch", "train_step")} <= whats
    for row in result["rows"]:
        assert set(row) == ROW_KEYS
        assert row["refsnn_seconds"] > 0 and row["peer_seconds"] > 0 and row["ratio"] > 0
        if row["what"] in ("if_neuron", "parallel_neuron", "ann_forward"):
            assert row["agreement"] == 1.0, row
    for k, v in net.params().items():  # the training steps ran on a copy
        np.testing.assert_array_equal(v, before[k])
    lines = peers.format_peers(result)
    assert lines[0].startswith("peers: torch") and len(lines) == len(result["rows"]) + 3


def test_bench_times_the_torch_ann_without_autograd(monkeypatch):
    """The ann_forward row times the inference ANN (plain tensors), the train_step row
    the trainable one."""
    pytest.importorskip("torch")
    net = network.demo_network(train=False, log=quiet)[0]
    X = np.random.default_rng(1).random((5, 1, 8, 8), dtype=np.float32)
    built, real = [], peers.torch_ann
    monkeypatch.setattr(peers, "torch_ann", lambda torch, net, trainable=True: (
        built.append(trainable), real(torch, net, trainable))[1])
    peers.bench_peers(net, X, config=TINY, log=quiet)
    assert built == [False, True]  # the network rows, then the training step


def test_torch_runs_on_the_requested_threads_inside_limit_threads():
    """Launching Numba's OpenMP layer resets torch's OpenMP thread count; the peers set
    torch's threads after it, so torch runs on as many threads as refsnn."""
    torch = pytest.importorskip("torch")
    previous = torch.get_num_threads()
    try:
        with peers._same_threads(torch, 1):
            assert torch.get_num_threads() == 1
            x = torch.ones(1000)
            assert float(x.sum()) == 1000
        with peers._same_threads(torch, 1):
            assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(previous)


def test_snntorch_differs_from_refsnn_only_at_an_exact_tie():
    """snnTorch's Leaky fires on mem > θ, refsnn's IF neuron on mem >= θ: a membrane
    exactly at θ (v0 = 0.5, then 0.5) fires one step later in snnTorch; off the tie the
    trains are the same."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("snntorch")
    from refsnn import if_neuron

    tie = np.array([[0.5], [0.5], [0.0]], dtype=np.float32)
    off = np.array([[0.25], [0.75], [1.0]], dtype=np.float32)
    leaky = peers._snntorch_loop(torch, 1.0)
    assert if_neuron(tie, 1.0)[:, 0].tolist() == [True, False, False]
    assert leaky(torch.from_numpy(tie)).numpy()[:, 0].tolist() == [0, 1, 0]
    np.testing.assert_array_equal(leaky(torch.from_numpy(off)).numpy().astype(bool), if_neuron(off, 1.0))
