"""Start-up costs, each measured in a fresh Python process.

``import refsnn`` must compile nothing: the child counts the compiled signatures of every
Numba dispatcher in the package right after the import.

Compilation: a child with ``NUMBA_CACHE_DIR`` set to a new empty directory calls each
public entry point twice on tiny input; the first call minus the second is its
compilation time with an empty cache. A second child with the directory the first one
filled repeats this: loading from the cache. Entry points run in the order below, and a helper
kernel shared by several (e.g. the blockwise sum) is charged to the first that needs it.
"""

import json
import os
import subprocess
import sys
import tempfile

from .timing import median

_IMPORT_CHILD = r"""
import json, sys, time
start = time.perf_counter()
import refsnn
seconds = time.perf_counter() - start
from numba.core.registry import CPUDispatcher
compiled = {}
for name, module in list(sys.modules.items()):
    if name.startswith("refsnn"):
        for attr, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.signatures:
                compiled[f"{name}.{attr}"] = len(value.signatures)
print(json.dumps({"seconds": seconds, "compiled": compiled}))
"""

_COMPILE_CHILD = r"""
import json, time
import numpy as np
import refsnn
from refsnn.networks.conversion import to_parallel_snn
from refsnn.networks.activations import QCFS
from refsnn.networks.containers import Sequential
from refsnn.networks.layers import AvgPool2d, Conv2d, Flatten, Linear
from refsnn.neurons.parallel import first_spike_step_from_total

c = np.full((4, 3), 0.5, dtype=np.float32)
net = Sequential(Linear(3, 2, np.random.default_rng(0)), QCFS(1.0, 4))
snn = to_parallel_snn(net, 4)
cnn = Sequential(Conv2d(1, 2, 3, padding=1, rng=np.random.default_rng(0)), QCFS(1.0, 4), AvgPool2d(2), Flatten())
images = np.full((2, 1, 4, 4), 0.5, dtype=np.float32)

def cnn_step():
    out = cnn.forward(images)
    cnn.backward(np.ones_like(out))
entries = {
    "if_neuron": lambda: refsnn.if_neuron(c, 1.0),
    "parallel_neuron_hadamard": lambda: refsnn.parallel_neuron(c, 1.0),
    "parallel_neuron_dense": lambda: refsnn.parallel_neuron(c, 1.0, method="dense"),
    "parallel_neuron_binary": lambda: refsnn.parallel_neuron(c, 1.0, method="binary"),
    "first_spike_step_from_total": lambda: first_spike_step_from_total(c[0], 1.0, 4),
    "collapsed_network": lambda: snn.run(c[:1, :3], mode="collapsed"),
    "cnn_layers_forward_backward": cnn_step,
}
out = {}
for name, fn in entries.items():
    start = time.perf_counter(); fn(); first = time.perf_counter() - start
    start = time.perf_counter(); fn(); second = time.perf_counter() - start
    out[name] = {"first_call": first, "second_call": second, "compile": first - second}
print(json.dumps(out))
"""


def _child(code, env=None):
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_import(repeats=3):
    """Median seconds of ``import refsnn`` in fresh processes, and what it compiled."""
    runs = [_child(_IMPORT_CHILD) for _ in range(repeats)]
    compiled = {}
    for run in runs:
        compiled.update(run["compiled"])
    return {"seconds": median([r["seconds"] for r in runs]), "runs": [r["seconds"] for r in runs],
            "compiled_at_import": compiled}


def bench_compile():
    """First-call compile seconds per entry point, with an empty and a warm Numba cache."""
    with tempfile.TemporaryDirectory(prefix="refsnn-numba-cache-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        cold = _child(_COMPILE_CHILD, env)
        warm = _child(_COMPILE_CHILD, env)
    return {name: {"empty_cache": cold[name]["compile"], "warm_cache": warm[name]["compile"],
                   "second_call": warm[name]["second_call"]} for name in cold}


def format_startup(startup, compile_seconds):
    compiled = startup["compiled_at_import"]
    lines = [f"import refsnn: {startup['seconds']:.2f} s (median of {len(startup['runs'])} fresh processes), "
             f"{'compiles nothing' if not compiled else 'COMPILED ' + ', '.join(compiled)}",
             f"{'first call of':30} {'empty cache s':>14} {'warm cache s':>13} {'then per call ms':>17}"]
    for name, row in compile_seconds.items():
        lines.append(f"{name:30} {row['empty_cache']:14.2f} {row['warm_cache']:13.3f} {row['second_call'] * 1e3:17.3f}")
    lines.append("compile = first call - second call in a fresh process; shared helper kernels count for the first "
                 "entry point that uses them (the first entry also pays Numba's own start-up)")
    return lines
