"""``refsnn bench --full-size``: the authors' ResNet-20 and VGG-16 at 3×32×32, refsnn beside torch.

The networks are :func:`refsnn.networks.zoo.resnet20` and :func:`~refsnn.networks.zoo.vgg16`
at level T̃ = 8 with random (seeded) weights and BatchNorm in evaluation mode, as
``refsnn evaluate`` runs a checkpoint, its running statistics those of 64 of the images
(:func:`with_batch_statistics`); the images are seeded normal noise. For every batch
size, each row times one computation on both sides in interleaved rounds
(:mod:`~refsnn.programs.bench.timing`):

``ann_forward``
    ``refsnn.networks.training.predict``: the QCFS ANN, one pass.
``collapsed_parallel``, ``faithful_parallel``
    The parallel SNN at T = 4 (:func:`~refsnn.networks.conversion.to_parallel_snn`):
    one pass over the time sums, and one pass over the T·B batch. They are equal in
    exact arithmetic; in float32 a layer sums the steps before or after its products,
    so the faithful row also gives ``agrees_with_collapsed``, the share of equal
    predictions of the two.
``train_step``
    Forward, cross-entropy, backward and one Adam step of the QCFS ANN, BatchNorm in
    training mode (on a copy: the measured networks keep their weights).
``sequential_if`` (ResNet-20, one batch)
    ``refsnn evaluate``'s IF row at T = 32: the IF SNN's ``predict_and_rates``, against
    32 ANN passes of the same batch (``vs_ann``: at most 1 is the goal).

With ``--threads N`` (N > 1) both sides run on N threads, and the rows from
:data:`ONE_THREAD_FROM` images up also time refsnn on 1 thread in the same rounds:
``vs_one_thread`` is the speed-up of N threads over 1.

The peer is the torch twin (:mod:`~refsnn.programs.bench.twin`), with the same weights
and threads, in inference mode for the forward rows. ``ratio`` is the median over rounds
of torch seconds / refsnn seconds (above 1, refsnn is faster); ``agreement`` is the share
of identical predicted classes (the training step: of its forward pass, before the
update). ``gflops`` is the rate of refsnn's multiply-adds (2 FLOP each) in the
convolutions and linear layers, counted as the direct sum does them (the layers that run
Winograd's F(2×2, 3×3), :mod:`refsnn.networks.winograd`, do fewer: for them it is an
effective rate), shown beside the rate of one large ``np.matmul`` at the same threads
(the machine's GEMM rate). Without torch the refsnn columns stay and a note
says how to install it.
"""

import contextlib
import copy
import os
import time

import numpy as np

from ... import threads
from ...networks import zoo
from ...networks.containers import iter_layers, run, set_training
from ...networks.conversion import to_if_snn, to_parallel_snn
from ...networks.layers import Conv2d, Linear
from ...networks.normalization import BatchNorm
from ...networks.training import Adam, cross_entropy, predict
from ..outputs import json_output
from . import peers
from .machine import blas_line, limit_threads, machine_info
from .timing import interleaved, median, median_ratio

__all__ = ["FULL", "QUICK", "NETWORKS", "collect", "format_full_size", "macs", "gemm_gflops", "run_full_size",
           "with_batch_statistics"]

#: The networks, each a zero-argument builder.
NETWORKS = {"ResNet-20": lambda: zoo.resnet20(levels=8), "VGG-16": lambda: zoo.vgg16(levels=8)}
#: Batch sizes, timed rounds per batch size, T of the parallel SNN, T and batch of the
#: sequential IF row, and the side of the GEMM yardstick.
FULL = {"batches": (1, 64, 256), "rounds": {1: 7, 64: 3, 256: 1}, "T": 4, "if_T": 32, "if_batch": 64,
        "if_network": "ResNet-20", "if_rounds": 3, "gemm": 2048}
QUICK = {"batches": (1, 16), "rounds": {1: 3, 16: 1}, "T": 4, "if_T": 32, "if_batch": 16,
         "if_network": "ResNet-20", "if_rounds": 1, "gemm": 1024}
WHATS = ("ann_forward", "collapsed_parallel", "faithful_parallel", "train_step", "sequential_if")
#: With more than one thread, batches from this size up also time refsnn on 1 thread,
#: interleaved with the other contenders: ``vs_one_thread`` is the speed-up.
ONE_THREAD_FROM = 64


def macs(net, sample_shape):
    """Multiply-adds of one sample's pass through the convolutions and linear layers of ``net``."""
    total = 0

    def count(layer, x):
        nonlocal total
        out = layer.forward(x)
        if isinstance(layer, Conv2d):
            total += out.size * layer.weight[0].size  # each output: C_in·k·k products
        elif isinstance(layer, Linear):
            total += out.size * layer.weight.shape[1]
        return out

    run(net, np.zeros((1,) + tuple(sample_shape), np.float32), count)
    return total


def with_batch_statistics(net, X):
    """``net`` with every BatchNorm's running statistics those of the batch ``X``, in
    evaluation mode: a random network whose activations neither vanish nor saturate
    (with the initial μ = 0, σ² = 1 a random VGG-16's QCFS outputs are all 0)."""
    batchnorms = [layer for _, layer in iter_layers(net) if isinstance(layer, BatchNorm)]
    momenta = [bn.momentum for bn in batchnorms]
    set_training(net, True)
    for bn in batchnorms:
        bn.momentum = 1.0  # the running averages become the batch's statistics
    try:
        net.forward(X)
    finally:
        for bn, m in zip(batchnorms, momenta):
            bn.momentum = m
    return set_training(net, False)


def gemm_gflops(n, rounds=3):
    """GFLOP/s of the product of two n×n float32 matrices (2n³ FLOP) as refsnn's layers
    multiply (:func:`refsnn.threads.matmul`: one ``np.matmul`` on one thread, its rows
    split between the threads on more): median and best."""
    a, b = (np.random.default_rng(k).standard_normal((n, n)).astype(np.float32) for k in (0, 1))
    times = interleaved({"gemm": lambda: threads.matmul(a, b)}, rounds)["gemm"]
    return {"n": n, "median": 2 * n ** 3 / median(times) / 1e9, "best": 2 * n ** 3 / min(times) / 1e9}


def _spread(times):
    return [float(min(times)), float(max(times))]


def _train_step(net, xb, y):
    """The copy of ``net`` that a refsnn training step trains (BatchNorm in training mode),
    and ``step()``: one step, returning the logits of its forward pass."""
    ours = set_training(copy.deepcopy(net), True)
    optimizer = Adam(ours.params(), ours.grads(), lr=1e-4)

    def step():
        logits = ours.forward(xb)
        _, grad = cross_entropy(logits, y)
        ours.backward(grad)
        optimizer.step()
        return logits
    return ours, step


def _torch_train_step(torch, ours, xt, yt):
    """``step()`` of the torch twin of ``ours``, from its current weights: one Adam step."""
    forward, params = peers.torch_ann(torch, ours)
    optimizer = torch.optim.Adam(params, lr=1e-4)

    def step():
        optimizer.zero_grad()
        logits = forward(xt)
        torch.nn.functional.cross_entropy(logits, yt).backward()
        optimizer.step()
        return logits
    return step


def _row(name, what, batch, times, flops=None, agreement=None, vs_ann=None):
    row = {"network": name, "what": what, "batch": batch, "refsnn_seconds": median(times["refsnn"]),
           "refsnn_spread": _spread(times["refsnn"]), "gflops": None, "torch_seconds": None, "ratio": None,
           "agreement": agreement, "vs_ann": vs_ann}
    if flops is not None:
        row["gflops"] = flops / row["refsnn_seconds"] / 1e9
    if "torch" in times:
        row["torch_seconds"], row["ratio"] = median(times["torch"]), median_ratio(times["torch"], times["refsnn"])
    if "one_thread" in times:  # the speed-up of the threads in force over 1 thread
        row["one_thread_seconds"] = median(times["one_thread"])
        row["vs_one_thread"] = median_ratio(times["one_thread"], times["refsnn"])
    return row


def _on_one_thread(fn):
    """``fn`` run with 1 thread for refsnn (the contender of :data:`ONE_THREAD_FROM`)."""
    def run():
        with limit_threads(1):
            return fn()
    return run


def _agreement(ours, theirs):
    return float((np.asarray(ours) == np.asarray(theirs)).mean())


def _bench_batch(torch, name, net, snn, X, B, cfg, log, threads=1):
    """The four rows of one network at batch B; with ``threads`` > 1 and B at least
    :data:`ONE_THREAD_FROM`, each row also times refsnn on 1 thread in the same rounds."""
    xb, T, rounds = X[:B], cfg["T"], cfg["rounds"][B]
    flops = 2 * macs(net, X.shape[1:]) * B
    ann_pred = predict(net, xb)
    faithful, collapsed = snn.predict(xb, mode="faithful"), snn.predict(xb, mode="collapsed")
    y = np.arange(B) % 10
    ours, refsnn_step = _train_step(net, xb, y)
    forwards = {"ann_forward": (lambda: predict(net, xb), ann_pred, flops),
                "collapsed_parallel": (lambda: snn.predict(xb, mode="collapsed"), collapsed, flops),
                "faithful_parallel": (lambda: snn.predict(xb, mode="faithful"), faithful, T * flops)}
    theirs = {}
    if torch is not None:
        xt = torch.from_numpy(xb)
        ann, _ = peers.torch_ann(torch, net, trainable=False)
        twin = peers.TorchSNN(torch, snn)
        theirs = {"ann_forward": lambda: ann(xt).argmax(1), "collapsed_parallel": lambda: twin.collapsed(xt).argmax(1),
                  "faithful_parallel": lambda: twin.faithful(xt).argmax(1)}
        torch_step = _torch_train_step(torch, ours, xt, torch.from_numpy(y))
    rows = []
    ann_times = None
    with (torch.inference_mode() if torch is not None else contextlib.nullcontext()):
        for what, (mine, predictions, work) in forwards.items():
            contenders = {"refsnn": mine}
            if threads > 1 and B >= ONE_THREAD_FROM:
                contenders["one_thread"] = _on_one_thread(mine)
            agreement = None
            if what in theirs:
                contenders["torch"] = theirs[what]
                agreement = _agreement(predictions, theirs[what]().numpy())
            times = interleaved(contenders, rounds, warmup=1 if B == cfg["batches"][0] else 0)
            ann_times = times["refsnn"] if what == "ann_forward" else ann_times
            rows.append(_row(name, what, B, times, work, agreement, median_ratio(times["refsnn"], ann_times)))
    rows[-1]["agrees_with_collapsed"] = _agreement(faithful, collapsed)  # equal up to float rounding of the sums
    contenders = {"refsnn": refsnn_step}
    if threads > 1 and B >= ONE_THREAD_FROM:
        contenders["one_thread"] = _on_one_thread(refsnn_step)
    agreement, first = None, refsnn_step()  # also the warm-up round
    if torch is not None:  # the first forward pass of each, from the same weights
        contenders["torch"] = torch_step
        agreement = _agreement(first.argmax(1), torch_step().detach().numpy().argmax(1))
    times = interleaved(contenders, rounds, warmup=0)
    rows.append(_row(name, "train_step", B, times, None, agreement))
    log("  " + ", ".join(f"{r['what']} {r['refsnn_seconds'] * 1e3:.1f} ms"
                         + ("" if r["ratio"] is None else f" (torch/refsnn {r['ratio']:.2f})") for r in rows))
    return rows


def _bench_sequential_if(name, net, X, cfg, log):
    """``refsnn evaluate``'s IF row (``predict_and_rates`` of the IF SNN at T = if_T)
    against if_T ANN passes of the same batch, in interleaved rounds."""
    T, xb = cfg["if_T"], X[:cfg["if_batch"]]
    snn = to_if_snn(net, T)
    snn.predict_and_rates(xb[:1])  # compiled or loaded from Numba's cache: not timed
    times = interleaved({"refsnn": lambda: snn.predict_and_rates(xb), "ann": lambda: predict(net, xb)},
                        cfg["if_rounds"], warmup=0)
    row = _row(name, "sequential_if", len(xb), {"refsnn": times["refsnn"]},
               2 * macs(net, X.shape[1:]) * len(xb) * T, None,
               median_ratio(times["refsnn"], [T * t for t in times["ann"]]))
    row["T"] = T
    log(f"  sequential IF T={T} batch {len(xb)}: {row['refsnn_seconds']:.2f} s = {row['vs_ann']:.2f} x {T} ANN passes")
    return row


def collect(quick=False, threads=1, log=print, config=None, networks=None):
    """Run the full-size table (module docstring) with ``threads`` threads on both sides.

    Returns
    -------
    dict
        ``{"machine", "threads", "load_average": [before, after], "gemm_gflops": {"n",
        "median", "best"}, "torch": version or None, "note": install hint or None, "rows":
        [{"network", "what", "batch", "refsnn_seconds", "refsnn_spread": [min, max],
        "gflops", "torch_seconds", "ratio", "agreement", "vs_ann"}, the faithful rows also
        "agrees_with_collapsed", the IF row "T"], "quick", "seconds"}``.
    """
    cfg = config or (QUICK if quick else FULL)
    networks = networks or NETWORKS
    start = time.perf_counter()
    versions = peers.peer_versions()
    torch = None
    if versions is not None:
        import torch
    result = {"quick": bool(quick), "machine": machine_info(), "threads": threads,
              "torch": versions["torch"] if versions else None, "note": None if versions else peers.INSTALL_HINT,
              "load_average": [list(os.getloadavg())], "rows": []}
    rng = np.random.default_rng(0)
    X = rng.standard_normal((max(cfg["batches"] + (cfg["if_batch"], 64)), 3, 32, 32)).astype(np.float32)
    previous = torch.get_num_threads() if torch is not None else None
    try:
        with (peers._same_threads(torch, threads) if torch is not None else limit_threads(threads)):
            result["gemm_gflops"] = gemm_gflops(cfg["gemm"])
            for name, build in networks.items():
                net = with_batch_statistics(build(), X[:64])
                snn = to_parallel_snn(net, cfg["T"])
                log(f"{name} ({threads} thread{'s' if threads > 1 else ''})")
                for B in cfg["batches"]:
                    result["rows"] += _bench_batch(torch, name, net, snn, X, B, cfg, log, threads)
                if name == cfg["if_network"]:
                    result["rows"].append(_bench_sequential_if(name, net, X, cfg, log))
    finally:
        if torch is not None:
            torch.set_num_threads(previous)
    result["load_average"].append(list(os.getloadavg()))
    result["seconds"] = time.perf_counter() - start
    return result


def _ms(seconds):
    return f"{seconds * 1e3:10.1f}"


def format_full_size(result):
    """Lines of the table: refsnn's median ms [range], its GFLOP/s, torch's ms, the ratio,
    the cost in ANN passes and the agreement, then the GEMM yardstick and the notes."""
    load = " -> ".join("/".join(f"{v:.2f}" for v in la) for la in result["load_average"])
    threaded = any("vs_one_thread" in r for r in result["rows"])
    gemm = result["gemm_gflops"]
    lines = [f"full size, 3x32x32, random weights (T~ = 8), {result['threads']} thread(s) for refsnn (Numba, BLAS)"
             + (f" and torch {result['torch']}" if result["torch"] else "") + f"; load average {load}",
             f"{'network':10} {'what':19} {'batch':>5} {'refsnn ms':>10} {'range ms':>17} {'GFLOP/s':>8} "
             f"{'torch ms':>10} {'torch/refsnn':>12} {'vs ANN':>7} {'agree':>7}"
             + (f" {'x 1 thread':>10}" if threaded else "")]
    for r in result["rows"]:
        lo, hi = r["refsnn_spread"]
        what = r["what"] + (f" T={r['T']}" if "T" in r else "")
        lines.append(
            f"{r['network']:10} {what:19} {r['batch']:5} {_ms(r['refsnn_seconds'])} {lo * 1e3:8.1f}-{hi * 1e3:<8.1f} "
            f"{'-' if r['gflops'] is None else format(r['gflops'], '.1f'):>8} "
            f"{'-' if r['torch_seconds'] is None else _ms(r['torch_seconds']):>10} "
            f"{'-' if r['ratio'] is None else format(r['ratio'], '.2f'):>12} "
            f"{'-' if r['vs_ann'] is None else format(r['vs_ann'], '.2f'):>7} "
            f"{'-' if r['agreement'] is None else format(r['agreement'], '.1%'):>7}"
            + (f" {format(r['vs_one_thread'], '.2f') if 'vs_one_thread' in r else '-':>10}" if threaded else ""))
    lines.append(f"GEMM yardstick: {gemm['n']}x{gemm['n']} float32 product at {result['threads']} thread(s): "
                 f"{gemm['median']:.1f} GFLOP/s median, {gemm['best']:.1f} best")
    lines.append(f"{result['machine']['cpu']}; " + blas_line(result["machine"]))
    lines.append("torch/refsnn: median over interleaved rounds of torch time / refsnn time (above 1: refsnn is "
                 "faster); vs ANN: refsnn time / its ANN forward time (sequential_if: / T ANN passes); agree: "
                 "identical predicted classes, refsnn against torch; GFLOP/s: 2 x multiply-adds of the "
                 "convolutions (as the direct sum counts them) and linear layers per second"
                 + ("; x 1 thread: median over interleaved rounds of refsnn's time on 1 thread / its time on "
                    f"{result['threads']}" if threaded else ""))
    misses = [f"{r['network']} {r['what']} batch {r['batch']} ({r['agreement']:.1%})" for r in result["rows"]
              if r["agreement"] is not None and r["agreement"] < 1]
    misses += [f"{r['network']} faithful against collapsed batch {r['batch']} ({r['agrees_with_collapsed']:.1%})"
               for r in result["rows"] if r.get("agrees_with_collapsed", 1) < 1]
    if misses:
        lines.append("not identical: " + ", ".join(misses) + ". Both sums are right but round differently "
                     "(torch orders a convolution's products otherwise; collapsed mode sums the steps before a "
                     "layer's products, "
                     "faithful after): a value that rounds across a floor or threshold changes the next layer's "
                     "input by a whole step, and a deep network carries it to the logits")
    if result["note"]:
        lines.append(f"torch columns skipped ({result['note']})")
    return lines


def run_full_size(quick=False, json_path=None, threads=1):
    """Entry point of ``refsnn bench --full-size [--quick] [--json PATH] [--threads N]``."""
    with json_output(json_path, "json_path") as write_json:
        result = collect(quick=quick, threads=threads)
        print()
        print("\n".join(format_full_size(result)))
        print(f"\ntotal {result['seconds']:.1f} s")
        write_json(result)
    return result
