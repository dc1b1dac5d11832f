"""``refsnn bench --peers``: refsnn beside PyTorch, SpikingJelly and snnTorch on the CPU.

The same inputs, weights and number of threads on both sides, timed in interleaved
rounds (:mod:`~refsnn.programs.bench.timing`); every row also says how often the two
sides agree, so that a speed ratio is never between two different computations.

Neurons (T = 64, float32 currents in [0, 1), θ = 1)
    ``if_neuron`` against SpikingJelly's multi-step ``IFNode`` (soft reset,
    ``v_reset=None``) and against snnTorch's ``Leaky`` (β = 1, subtractive reset,
    ``reset_delay=False``) stepped in a Python loop, both started from v₀ = θ/2 as
    refsnn's IF neuron is; ``parallel_neuron`` (rank-1) against the same rank-1 form in
    plain torch, s_x = [(Σ + ψ)/(T − x + 1) >= θ]. Agreement: the share of neurons whose
    spike trains are identical. snnTorch fires on mem > θ where refsnn and SpikingJelly
    fire on mem >= θ, so a membrane exactly at θ fires one step later there; the uniform
    float currents here rarely produce such a tie.
Network (the demo CNN, the weights copied into torch)
    ``ann_forward`` (the QCFS ANN, its weights plain tensors so that torch records no
    autograd graph, as in inference), ``collapsed_parallel`` (one pass over the time sums:
    each affine layer adds its bias T times, each neuron layer fires
    clip(⌊(Σ + ψ)/θ⌋, 0, T) spikes of amplitude θ_post), ``faithful_parallel`` (the T·B
    batch through every layer, the rank-1 neuron on each layer's T steps) in plain
    torch, and ``sequential_if`` against SpikingJelly (multi-step IF nodes between the
    torch layers). Agreement: the share of equal predicted classes.
Training
    ``train_step``: forward, cross-entropy, backward and one Adam step of the QCFS ANN
    (straight-through floor, learnable threshold), on batches of 32 and 256.

``ratio`` is the median over rounds of peer seconds / refsnn seconds: above 1, refsnn is
faster. torch and the peers are optional (the ``peers`` extra); without torch the
comparison is skipped with a note saying how to install it.
"""

import contextlib
import copy
import importlib
import importlib.metadata
import logging

import numpy as np

from ...networks.conversion import to_if_snn, to_parallel_snn
from ...networks.training import Adam, cross_entropy
from ...networks.training import predict as ann_predict
from ...neurons.integrate_fire import if_neuron
from ...neurons.parallel import parallel_neuron
from .machine import limit_threads
from .network import _batch
from .timing import interleaved, median, median_ratio
from .twin import TorchSNN, torch_ann, torch_rank1

__all__ = ["INSTALL_HINT", "bench_peers", "format_peers", "peer_versions"]

INSTALL_HINT = ('torch not found: pip install torch==2.13.0 spikingjelly snntorch (torch 2.13.0 has a CPU wheel), '
                'or pip install "refsnn[peers]" --extra-index-url https://download.pytorch.org/whl/cpu')

FULL = {"neuron_T": 64, "neurons": 2**18, "steps": (4, 16, 64), "batches": (1, 256), "train_batches": (32, 256),
        "repeats": {"neuron": 5, 1: 9, 256: 3, "train": 5}}
QUICK = {"neuron_T": 64, "neurons": 2**14, "steps": (4, 64), "batches": (1, 16), "train_batches": (32,),
         "repeats": {"neuron": 3, 1: 3, 16: 3, "train": 3}}
#: The ANN forward pass and collapsed inference take milliseconds even at batch 256:
#: they get this many times a batch's rounds, for a steadier median.
CHEAP_ROUNDS = 5


def peer_versions():
    """Versions of torch, spikingjelly and snntorch (None where not installed), or None
    if torch itself is missing.

    Importing SpikingJelly makes torch log "Triton not available" twice, a GPU matter:
    that logger is set to errors only.
    """
    logging.getLogger("torch._library.triton").setLevel(logging.ERROR)
    versions = {}
    for name in ("torch", "spikingjelly", "snntorch"):
        try:
            importlib.import_module(name)
        except ImportError:
            versions[name] = None
        else:
            try:
                versions[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                versions[name] = "unknown"
    return versions if versions["torch"] else None


def _row(peer, what, T, batch, times, agreement):
    return {"peer": peer, "what": what, "T": T, "batch": batch, "refsnn_seconds": median(times["refsnn"]),
            "peer_seconds": median(times["peer"]), "ratio": median_ratio(times["peer"], times["refsnn"]),
            "agreement": agreement}


# --------------------------------------------------------------------------- neurons


def _if_node(torch, theta):
    """A SpikingJelly multi-step IF node started from v₀ = θ/2."""
    from spikingjelly.activation_based import functional, neuron

    node = neuron.IFNode(v_threshold=theta, v_reset=None, step_mode="m")

    def run(x):
        functional.reset_net(node)
        node.v = torch.full(x.shape[1:], theta / 2)
        return node(x)
    return run


def _snntorch_loop(torch, theta):
    import snntorch

    cell = snntorch.Leaky(beta=1.0, threshold=theta, reset_mechanism="subtract", reset_delay=False)

    def run(x):
        mem, out = torch.full(x.shape[1:], theta / 2), []
        for t in range(x.shape[0]):
            spk, mem = cell(x[t], mem)
            out.append(spk)
        return torch.stack(out)
    return run


def _bench_neurons(torch, versions, cfg, log):
    T, N = cfg["neuron_T"], cfg["neurons"]
    currents = np.random.default_rng(0).random((T, N), dtype=np.float32)
    x = torch.from_numpy(currents)
    spikes = if_neuron(currents, 1.0)
    peers = {"spikingjelly": ("if_neuron", _if_node(torch, 1.0) if versions["spikingjelly"] else None),
             "snntorch": ("if_neuron", _snntorch_loop(torch, 1.0) if versions["snntorch"] else None),
             "torch": ("parallel_neuron", lambda c: torch_rank1(torch, c, 1.0))}
    rows = []
    for peer, (what, fn) in peers.items():
        if fn is None:
            log(f"  {peer} not installed: skipped")
            continue
        ours = spikes if what == "if_neuron" else parallel_neuron(currents, 1.0)
        theirs = fn(x).numpy().astype(bool)
        agreement = float((theirs == ours).all(axis=0).mean())
        mine = (lambda: if_neuron(currents, 1.0)) if what == "if_neuron" else (lambda: parallel_neuron(currents, 1.0))
        times = interleaved({"refsnn": mine, "peer": lambda fn=fn: fn(x)}, cfg["repeats"]["neuron"])
        rows.append(_row(peer, what, T, N, times, agreement))
        log(f"  {what} T={T} N={N}: {peer} / refsnn = {rows[-1]['ratio']:.2f} (agreement {agreement:.1%})")
    return rows


# --------------------------------------------------------------------------- the network


def _bench_network(torch, versions, net, X, cfg, log):
    rows = []
    ann, _ = torch_ann(torch, net, trainable=False)
    for B in cfg["batches"]:
        xb = _batch(X, B)
        xt = torch.from_numpy(xb)
        agreement = float((ann(xt).argmax(1).numpy() == ann_predict(net, xb)).mean())
        times = interleaved({"refsnn": lambda: ann_predict(net, xb), "peer": lambda: ann(xt).argmax(1)},
                            cfg["repeats"][B] * CHEAP_ROUNDS)
        rows.append(_row("torch", "ann_forward", None, B, times, agreement))
    for T in cfg["steps"]:
        parallel, sequential = to_parallel_snn(net, T), to_if_snn(net, T)
        tpar, tseq = TorchSNN(torch, parallel), TorchSNN(torch, sequential)
        for B in cfg["batches"]:
            xb = _batch(X, B)
            xt = torch.from_numpy(xb)
            pairs = {
                ("torch", "collapsed_parallel"): (lambda: parallel.predict(xb, mode="collapsed"),
                                                  lambda: tpar.collapsed(xt).argmax(1)),
                ("torch", "faithful_parallel"): (lambda: parallel.predict(xb, mode="faithful"),
                                                 lambda: tpar.faithful(xt).argmax(1)),
            }
            if versions["spikingjelly"]:
                pairs[("spikingjelly", "sequential_if")] = (lambda: sequential.predict(xb),
                                                            lambda: tseq.sequential(xt).argmax(1))
            for (peer, what), (mine, theirs) in pairs.items():
                agreement = float((np.asarray(mine()) == theirs().numpy()).mean())
                rounds = cfg["repeats"][B] * (CHEAP_ROUNDS if what == "collapsed_parallel" else 1)
                times = interleaved({"refsnn": mine, "peer": theirs}, rounds)
                rows.append(_row(peer, what, T, B, times, agreement))
            log(f"  T={T:<3} batch {B:<4} " + ", ".join(
                f"{r['what']} {r['peer']}/refsnn {r['ratio']:.2f}" for r in rows[-len(pairs):]))
    return rows


def _bench_training(torch, net, X, cfg, log):
    rows = []
    for B in cfg["train_batches"]:
        xb, y = _batch(X, B), np.arange(B) % 10
        ours = copy.deepcopy(net)  # the steps change the weights: never the caller's network
        optimizer = Adam(ours.params(), ours.grads(), lr=1e-4)
        forward, params = torch_ann(torch, ours)
        theirs = torch.optim.Adam(params, lr=1e-4)
        xt, yt = torch.from_numpy(xb), torch.from_numpy(y)

        def refsnn_step():
            _, grad = cross_entropy(ours.forward(xb), y)
            ours.backward(grad)
            optimizer.step()

        def torch_step():
            theirs.zero_grad()
            torch.nn.functional.cross_entropy(forward(xt), yt).backward()
            theirs.step()

        times = interleaved({"refsnn": refsnn_step, "peer": torch_step}, cfg["repeats"]["train"])
        rows.append(_row("torch", "train_step", None, B, times, None))
        log(f"  train step batch {B}: torch / refsnn = {rows[-1]['ratio']:.2f}")
    return rows


def bench_peers(net, X, quick=False, threads=1, log=print, config=None):
    """Time refsnn beside its peers (module docstring) with ``threads`` threads each.

    Parameters
    ----------
    net : Sequential
        The QCFS ANN (the demo CNN).
    X : ndarray, shape (N, C, H, W)
        Images to draw batches from.
    quick : bool
    threads : int
        Threads for refsnn (Numba and BLAS) and for torch, restored afterwards.
    config : dict, optional
        Sizes and repeats (default :data:`FULL`, or :data:`QUICK`).

    Returns
    -------
    dict
        ``{"versions", "threads", "rows"}``, each row ``{"peer", "what", "T", "batch",
        "refsnn_seconds", "peer_seconds", "ratio", "agreement"}``; or ``{"skipped": why}``
        without torch.
    """
    versions = peer_versions()
    if versions is None:
        return {"skipped": INSTALL_HINT}  # one line, in the report (format_peers)
    import torch

    cfg = config or (QUICK if quick else FULL)
    previous = torch.get_num_threads()
    try:
        with _same_threads(torch, threads), torch.inference_mode():
            log(f"peers ({threads} thread{'s' if threads > 1 else ''}): neurons")
            rows = _bench_neurons(torch, versions, cfg, log)
            log("peers: the demo CNN")
            rows += _bench_network(torch, versions, net, X, cfg, log)
        with _same_threads(torch, threads):
            log("peers: one training step")
            rows += _bench_training(torch, net, X, cfg, log)
    finally:
        torch.set_num_threads(previous)
    return {"versions": versions, "threads": threads, "rows": rows}


@contextlib.contextmanager
def _same_threads(torch, threads):
    """``threads`` threads for Numba and BLAS (:func:`limit_threads`) and for torch.

    torch's thread count is set inside :func:`limit_threads`, and checked, not before
    it: Numba's OpenMP threading layer shares torch's OpenMP runtime, and launching it
    (the first ``numba.get_num_threads``) or leaving :func:`limit_threads` can change
    torch's count away from what ``torch.set_num_threads`` set (for example to 2 on a
    2-core machine), and torch would then run on more threads than refsnn.
    """
    with limit_threads(threads):
        torch.set_num_threads(threads)
        if torch.get_num_threads() != threads:
            raise RuntimeError(f"torch runs on {torch.get_num_threads()} threads, not {threads}")
        yield


def format_peers(result):
    """Lines of a table: ms per call on each side and the ratio (peer / refsnn)."""
    if "skipped" in result:
        return [f"peers: skipped ({result['skipped']})"]
    v = result["versions"]
    lines = [(f"peers: torch {v['torch']}, spikingjelly {v['spikingjelly']}, snntorch {v['snntorch']}; "
              f"{result['threads']} thread(s) on both sides"),
             (f"{'what':20} {'peer':13} {'T':>3} {'batch/N':>8} {'refsnn ms':>10} {'peer ms':>10} "
              f"{'peer/refsnn':>12} {'agree':>7}")]
    for r in result["rows"]:
        agree = "-" if r["agreement"] is None else f"{r['agreement']:.1%}"
        lines.append(f"{r['what']:20} {r['peer']:13} {r['T'] if r['T'] else '-':>3} {r['batch']:8} "
                     f"{r['refsnn_seconds'] * 1e3:10.3f} {r['peer_seconds'] * 1e3:10.3f} {r['ratio']:12.2f} {agree:>7}")
    lines.append("peer/refsnn: median over interleaved rounds of peer time / refsnn time (above 1: refsnn is faster); "
                 "agree: equal predictions (network) or identical spike trains (neurons); snnTorch fires on "
                 "mem > theta (refsnn, SpikingJelly: >=), which differs only at exact ties")
    return lines
