"""What the numbers were measured on: cores, CPU, library versions, BLAS, threads.

The threads themselves are set by :mod:`refsnn.threads` (:func:`~refsnn.threads.limit_threads`
is imported here for the benchmarks).
"""

import os
import platform

import numba
import numpy as np
from threadpoolctl import threadpool_info

from ...threads import limit_threads

__all__ = ["machine_info", "blas_line", "limit_threads", "AVX512_KERNELS"]

#: OpenBLAS kernel sets (threadpoolctl's ``architecture``, lower case) that use AVX-512.
#: The others on x86-64 (Haswell, Zen, Sandybridge, ...) use at most 256-bit vectors.
AVX512_KERNELS = frozenset({"skylakex", "cooperlake", "sapphirerapids"})


def _cpuinfo():
    """The first processor's fields of /proc/cpuinfo, {name: value} (empty where there is none)."""
    fields = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if not line.strip():  # the first processor's block ends
                    break
                name, _, value = line.partition(":")
                fields[name.strip()] = value.strip()
    except OSError:
        pass
    return fields


def _blas():
    """BLAS libraries as threadpoolctl sees them, else numpy.show_config's entry."""
    info = [{k: d.get(k) for k in ("internal_api", "version", "num_threads", "threading_layer", "architecture")}
            for d in threadpool_info() if d.get("user_api") == "blas"]
    if info:
        return {"source": "threadpoolctl", "libraries": info}
    try:
        config = np.show_config(mode="dicts")
        return {"source": "numpy.show_config", "libraries": [config["Build Dependencies"]["blas"]]}
    except Exception:  # older NumPy: no dict mode
        return {"source": "unknown", "libraries": []}


def machine_info():
    """A JSON-ready description of this machine and its numerical stack."""
    cpuinfo = _cpuinfo()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count()
    return {
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "cpu": cpuinfo.get("model name") or platform.processor() or platform.machine(),
        "avx512": "avx512f" in cpuinfo.get("flags", "").split(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "numba_threads": numba.get_num_threads(),
        "numba_threading_layer": numba.config.THREADING_LAYER,
        "blas": _blas(),
        "env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                            "NUMBA_NUM_THREADS", "NUMBA_CACHE_DIR") if k in os.environ},
    }


def blas_line(machine):
    """One line on the BLAS library of ``machine`` (:func:`machine_info`): its name,
    version and kernel set, and a warning when ``OPENBLAS_CORETYPE`` holds OpenBLAS to
    kernels without AVX-512 on a CPU that has it. Convolutions and linear layers run in
    that BLAS, so the kernel set decides much of a network's speed (and, since wider
    kernels order their sums differently, the last bits of trained weights)."""
    libraries = machine["blas"]["libraries"]
    if not libraries:
        return "BLAS: unknown"
    names = []
    for lib in libraries:
        name = " ".join(str(lib[k]) for k in ("internal_api", "version") if lib.get(k))
        names.append(name + (f", {lib['architecture']} kernels" if lib.get("architecture") else ""))
    line = "BLAS: " + "; ".join(names)
    forced = machine.get("env", {}).get("OPENBLAS_CORETYPE")
    narrow = any(lib.get("internal_api") == "openblas" and lib.get("architecture")
                 and lib["architecture"].lower() not in AVX512_KERNELS for lib in libraries)
    if forced and narrow and machine.get("avx512"):
        line += (f" (OPENBLAS_CORETYPE={forced} in the environment holds OpenBLAS to kernels without AVX-512 "
                 "on this AVX-512 CPU: unset it to let OpenBLAS choose)")
    return line
