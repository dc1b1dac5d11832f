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

__all__ = ["machine_info", "limit_threads"]


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count()
    return {
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "cpu": _cpu_model(),
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
