"""``refsnn bench``: where the parallel neuron's speed comes from, measured on this CPU.

Three parts, each in its own module:

:mod:`~refsnn.programs.bench.kernels`
    Neuron kernels against ``np.copyto``'s bandwidth (a neuron layer is memory-bound),
    and how the cost per neuron grows with T: O(T²) dense, O(T) hadamard and IF, and
    O(log T) binary search on pre-summed currents.
:mod:`~refsnn.programs.bench.network`
    The demo CNN in its three modes (sequential IF, faithful and collapsed parallel) at
    batch 1 and 256; the speed-ups are what the paper reports as 19-38x for T >= 32
    (measured on a GPU at batch size 1).
:mod:`~refsnn.programs.bench.startup`
    ``import refsnn`` time and Numba's first-call compile time, cold and cached.

Timings are medians over interleaved rounds, and every ratio is taken within a round
(:mod:`~refsnn.programs.bench.timing`), so that load from other processes cancels out.

JSON (``run(json_path=...)``)::

    {"copy_gbps": float,
     "neuron": [{"kernel", "T", "N", "seconds", "gbps", "ns_per_neuron", "ratio_to_copy"}],
     "network": [{"mode", "T", "batch", "seconds", "speedup"[, "agreement"]}],
     "machine": {...}, "compile_seconds": {entry: {"empty_cache", "warm_cache", "second_call"}},
     "import": {"seconds", "runs", "compiled_at_import"}, "copy": [...], "bytes_convention": str,
     "network_model": str, "quick": bool, "seconds": float}
"""

import time

from ...networks.io import check_output_path, save_json
from .kernels import bench_neurons, format_neurons
from .machine import machine_info
from .network import bench_network, demo_network, format_network
from .startup import bench_compile, bench_import, format_startup

__all__ = ["run", "collect", "format_report"]


def collect(quick=False, train=None, startup=True, log=print):
    """Run every benchmark and return the JSON-ready result dict.

    Parameters
    ----------
    quick : bool
        Small sizes and fewer repeats (well under 30 s).
    train : bool, optional
        Train the demo CNN if no cached weights exist; default: not when ``quick``.
    startup : bool
        Also measure import and compile times in child processes.
    """
    start = time.perf_counter()
    result = {"quick": bool(quick), "machine": machine_info()}
    if startup:
        log("start-up: import refsnn and first-call compilation, in fresh processes")
        result["import"] = bench_import(repeats=3)
        result["compile_seconds"] = bench_compile()
    log("neuron kernels against np.copyto")
    result.update(bench_neurons(quick=quick, log=log))
    log("the demo CNN in its three modes")
    net, description, X = demo_network(train=not quick if train is None else train, log=log)
    result["network_model"] = description
    result["network"] = bench_network(net, X, quick=quick, log=log)
    result["seconds"] = time.perf_counter() - start
    return result


def format_report(result):
    """The result as readable text lines."""
    m = result["machine"]
    lines = [f"machine: {m['cpu']}, {m['usable_cores']} usable cores, load {m['load_average']}, "
             f"numpy {m['numpy']}, numba {m['numba']} ({m['numba_threads']} threads)", ""]
    if "import" in result:
        lines += format_startup(result["import"], result["compile_seconds"]) + [""]
    lines += format_neurons(result) + [""]
    lines += [f"network: {result['network_model']}"] + format_network(result["network"])
    return lines


def run(quick=False, json_path=None):
    """Entry point of ``refsnn bench [--quick] [--json PATH]``: run, print, write JSON.

    ``json_path`` is checked before the measurements start (:func:`check_output_path`):
    its folder must exist and be writable.
    """
    if json_path is not None:
        check_output_path(json_path, "json_path")
    result = collect(quick=quick)
    print()
    print("\n".join(format_report(result)))
    print(f"\ntotal {result['seconds']:.1f} s")
    if json_path is not None:
        save_json(result, json_path)
        print(f"wrote {json_path}")
    return result
