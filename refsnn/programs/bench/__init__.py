"""``refsnn bench``: where the parallel neuron's speed comes from, measured on this CPU.

Four parts, each in its own module:

:mod:`~refsnn.programs.bench.kernels`
    Neuron kernels against ``np.copyto``'s bandwidth (a neuron layer is memory-bound),
    and how the cost per neuron grows with T: O(T²) dense, O(T) hadamard and IF, and
    O(log T) binary search on pre-summed currents.
:mod:`~refsnn.programs.bench.network`
    The demo CNN in its three modes (sequential IF, faithful and collapsed parallel) at
    batch 1 and 256: the speed-ups over sequential IF that the paper claims for T >= 32
    (on a GPU at batch size 1).
:mod:`~refsnn.programs.bench.startup`
    ``import refsnn`` time and Numba's first-call compile time, cold and cached.
:mod:`~refsnn.programs.bench.peers` (``--peers``)
    The same neurons, network and training step in PyTorch, SpikingJelly and snnTorch,
    with the same weights and threads, when they are installed; the network's torch
    version is :mod:`~refsnn.programs.bench.twin`.

:mod:`~refsnn.programs.bench.full_size` (``--full-size``, instead of the four) times the
authors' ResNet-20 and VGG-16 at 3×32×32 beside their torch twins, and sequential IF at
T = 32 against 32 ANN passes.

Everything runs with ``threads`` threads (Numba and BLAS, via
:func:`~refsnn.threads.limit_threads`), 1 by default (:mod:`refsnn.threads`), and the
report and the JSON say the setting in force (``thread_setting``); :mod:`~refsnn.programs.bench.machine`
also describes the machine (CPU, cores, load average, library versions).

Timings are medians over interleaved rounds, and every ratio is taken within a round
(:mod:`~refsnn.programs.bench.timing`), so that load from other processes cancels out.

JSON (``run(json_path=...)``)::

    {"copy_gbps": float,
     "neuron": [{"kernel", "T", "N", "seconds", "gbps", "ns_per_neuron", "ratio_to_copy"}],
     "network": [{"mode", "T", "batch", "seconds", "speedup", "vs_ann"[, "agreement"]}],
     "threads": int, "thread_setting": str, "peers": {"versions", "threads", "rows": [{"peer", "what", "T", "batch",
     "refsnn_seconds", "peer_seconds", "ratio", "agreement"}]} (with --peers),
     "machine": {...}, "compile_seconds": {entry: {"empty_cache", "warm_cache", "second_call"}},
     "import": {"seconds", "runs", "compiled_at_import"}, "copy": [...], "bytes_convention": str,
     "network_model": str, "quick": bool, "seconds": float}
"""

import time

from ...threads import thread_setting
from ..outputs import json_output
from .kernels import bench_neurons, format_neurons
from .machine import blas_line, limit_threads, machine_info
from .network import bench_network, demo_network, format_network
from .peers import bench_peers, format_peers
from .startup import bench_compile, bench_import, format_startup

__all__ = ["collect", "format_report", "run"]


def collect(quick=False, train=None, startup=True, log=print, threads=1, peers=False):
    """Run every benchmark and return the JSON-ready result dict.

    Parameters
    ----------
    quick : bool
        Small sizes and fewer repeats.
    train : bool, optional
        Train the demo CNN if no cached weights exist; default: not when ``quick``.
    startup : bool
        Also measure import and compile times in child processes.
    threads : int
        Threads for Numba and BLAS during the measurements (1 by default).
    peers : bool
        Also time torch, SpikingJelly and snnTorch (:mod:`~refsnn.programs.bench.peers`).
    """
    start = time.perf_counter()
    result = {"quick": bool(quick), "machine": machine_info(), "threads": threads}
    if startup:
        log("start-up: import refsnn and first-call compilation, in fresh processes")
        result["import"] = bench_import(repeats=3)
        result["compile_seconds"] = bench_compile()
    net, description, X = demo_network(train=not quick if train is None else train, log=log)
    with limit_threads(threads):
        result["thread_setting"] = thread_setting()
        log(f"neuron kernels against np.copyto ({result['thread_setting']})")
        result.update(bench_neurons(quick=quick, log=log))
        log("the demo CNN in its three modes and as an ANN")
        result["network_model"] = description
        result["network"] = bench_network(net, X, quick=quick, log=log)
    if peers:
        result["peers"] = bench_peers(net, X, quick=quick, threads=threads, log=log)
    result["seconds"] = time.perf_counter() - start
    return result


def format_report(result):
    """The result as readable text lines."""
    m = result["machine"]
    setting = result.get("thread_setting") or f"{result.get('threads', 1)} thread(s) for Numba and BLAS"
    lines = [(f"machine: {m['cpu']}, {m['usable_cores']} usable cores, load {m['load_average']}, "
              f"numpy {m['numpy']}, numba {m['numba']}; measured with {setting}"), blas_line(m), ""]
    if "import" in result:
        lines += format_startup(result["import"], result["compile_seconds"]) + [""]
    lines += format_neurons(result) + [""]
    lines += [f"network: {result['network_model']}"] + format_network(result["network"])
    if "peers" in result:
        lines += [""] + format_peers(result["peers"])
    return lines


def run(quick=False, json_path=None, threads=1, peers=False):
    """Entry point of ``refsnn bench [--quick] [--json PATH] [--threads N] [--peers]``:
    run, print, write JSON.

    ``json_path`` is checked before the measurements start
    (:func:`~refsnn.programs.outputs.json_output`): its folder must exist and be writable;
    ``-`` writes the JSON to standard output and the rest to standard error.
    """
    with json_output(json_path, "json_path") as write_json:
        result = collect(quick=quick, threads=threads, peers=peers)
        print()
        print("\n".join(format_report(result)))
        print(f"\ntotal {result['seconds']:.1f} s")
        write_json(result)
    return result
