# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Solutions to tutorial 7: speed
#
# Worked solutions to the exercises of [tutorial 7](../07_speed.md). Timings depend on the
# machine and on what else runs on it, so exercises 1 and 2 are open-ended: their
# solutions show one worked approach and assert only what is not a timing (that the fast
# paths compute the same thing). Exercise 3 has a checkable answer, asserted. It reuses
# the demo's cached QCFS CNN and runs in a few seconds.

# %%
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import refsnn
from refsnn.networks.conversion import to_parallel_snn
from refsnn.networks.data import load_digits
from refsnn.networks.spiking import ParallelNeurons
from refsnn.neurons import parallel_kernels
from refsnn.neurons.parallel import closed_form_count, first_spike_step_from_total, parallel_neuron
from refsnn.programs.demo import trained_networks

refsnn.use_threads()  # one thread unless REFSNN_THREADS says more (the BLAS always) (README, "Threads")

rng = np.random.default_rng(0)
data = load_digits()
qcfs_net, _ = trained_networks(data)  # loads the cache (or fills it, for the subprocesses of exercise 2)


def median_seconds(run, repeats=3):
    """Median wall time of ``run()`` after one warm-up call (tutorial 7)."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


# %% [markdown]
# ## Exercise 1
#
# *Open-ended (machine-dependent).* *Add $T = 256$ and $T = 1024$ to §7.3 (with $n = 10{,}000$
# neurons, to keep the arrays small) and time the Hadamard kernel against binary search
# on $\Sigma$ and the closed form. Fit $aT$ to the first and $b \log_2 T$ to the second: where
# should they cross, and where do they cross on your machine?*
#
# One worked approach. The checkable part is asserted: all three give the same counts.
# The crossover is not: it depends on the machine and its load. Note that the Hadamard
# kernel has to stream the $T$ currents of every neuron, while the other two start from a
# sum that is already there; in a network the collapsed mode gets that sum for free from
# the layer before, and computes the count in O(1) (§7.1).

# %%
N, theta = 10_000, 1.0
rows = []
for T in (4, 16, 64, 256, 1024):
    currents = rng.normal(0.3, 1.0, size=(T, N)).astype(np.float32)
    total = currents.sum(axis=0)
    count = parallel_neuron(currents, theta, method="hadamard").sum(axis=0)
    assert (T + 1 - first_spike_step_from_total(total, theta, T) == count).all()
    assert (closed_form_count(total, theta, T) == count).mean() > 0.999  # float ties aside
    rows.append((T, *(1e9 * median_seconds(f) / N for f in (
        lambda: parallel_neuron(currents, theta, method="hadamard"),
        lambda: first_spike_step_from_total(total, theta, T),
        lambda: closed_form_count(total, theta, T)))))
print(f"{'T':>5} {'hadamard':>9} {'binary on Σ':>12} {'closed form':>12}   (ns per neuron, {refsnn.thread_setting()})")
for T, h, b, c in rows:
    print(f"{T:5d} {h:9.2f} {b:12.2f} {c:12.2f}")

Ts = np.array([r[0] for r in rows], dtype=float)
a = np.sum(Ts * [r[1] for r in rows]) / np.sum(Ts ** 2)  # least squares through 0: hadamard ≈ a·T
b = np.sum(np.log2(Ts) * [r[2] for r in rows]) / np.sum(np.log2(Ts) ** 2)  # binary ≈ b·log2 T
cross = next((T for T in 2.0 ** np.arange(1, 21) if a * T > b * np.log2(T)), None)
print(f"fit: hadamard ≈ {a:.3f}·T ns, binary search ≈ {b:.2f}·log2 T ns; a·T > b·log2 T from T ≈ {cross:g}")

# %% [markdown]
# ## Exercise 2
#
# *Open-ended (machine-dependent).* *Time the faithful mode at batch 1 with one BLAS
# thread (`OPENBLAS_NUM_THREADS=1`, or `OMP_NUM_THREADS=1`, set before NumPy is imported)
# and with all cores. How much of the paper's GPU argument (parallelism over $T$) can a CPU
# recover?*
#
# Why that knob: no Numba kernel of refsnn is compiled with `parallel=True` (asserted
# below), so `NUMBA_NUM_THREADS` changes nothing; the only multithreaded work is NumPy's
# matrix products, i.e. the convolutions (im2col and one product) and the linear layers,
# which go to OpenBLAS. The variable must be set before NumPy loads, so each setting runs
# in a fresh Python process.
#
# One worked approach, timed in two subprocesses (no assert on the times). What to
# expect: at batch 1 the faithful mode multiplies matrices with $64T$ rows at most, too
# small for BLAS threads to pay off, so two cores gain little or nothing. A CPU can
# recover at most a factor of its core count, and only for large products; a GPU runs
# the $T$ copies on thousands of lanes.

# %%
kernels = [getattr(parallel_kernels, name) for name in dir(parallel_kernels)
           if hasattr(getattr(parallel_kernels, name), "targetoptions")]
assert kernels and not any(k.targetoptions.get("parallel") for k in kernels)
print(f"{len(kernels)} Numba kernels in refsnn.neurons.parallel_kernels, none parallel")

SCRIPT = """
import time, numpy as np
import refsnn
from refsnn.networks.conversion import to_parallel_snn
from refsnn.networks.data import load_digits
from refsnn.programs.demo import trained_networks
data = load_digits()
snn = to_parallel_snn(trained_networks(data, log=lambda *a: None)[0], 64)
X = data[2][:8]
run = lambda: [snn.predict(X[i:i + 1], mode="faithful") for i in range(len(X))]
run()
start = time.perf_counter(); preds = run(); seconds = time.perf_counter() - start
print(refsnn.thread_setting(), "|", seconds / len(X), *np.concatenate(preds))
"""
results = {}
for threads in ("1", "2"):
    env = {**__import__("os").environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads,
           "PYTHONPATH": str(Path(refsnn.__path__[0]).parent)}  # the child imports this refsnn, not another copy
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    setting, numbers = out.stdout.split(" | ")
    seconds, *preds = numbers.split()
    results[threads] = (float(seconds), preds)
    print(f"OPENBLAS_NUM_THREADS={threads}, {setting}: faithful mode, T = 64, batch 1: "
          f"{1e3 * float(seconds):.2f} ms per image")
assert results["1"][1] == results["2"][1]  # the same predictions, whatever the threads

# %% [markdown]
# ## Exercise 3
#
# *The collapsed mode returns only the logits summed over time, and refsnn's
# `cumulative_predictions` runs the faithful mode. Which of the paper's reported
# quantities need per-step outputs? Show that in the paper's order they can still be
# computed from a collapsed run, and say which quantity truly needs the faithful mode.*
#
# **Answer.** The reported accuracy (logits summed over all $T$ steps) needs no steps:
# the collapsed mode gives the same predictions. The per-step cumulative accuracy curve
# needs the logits of each step $t < T$, but every layer after the last neuron layer is
# time-linear, and a parallel neuron's train is a function of its count (the last $N$
# steps fire, in the paper's order; `ParallelNeurons.train_from_counts`). So the
# last neuron layer's counts from one collapsed run give its trains, and pushing those
# through the remaining layers step by step gives every per-step logit: **the curve can
# be computed from a collapsed run** (asserted below, against `cumulative_predictions`).
# What truly needs the faithful mode is the **timing** of the authors' method, since the
# thing being timed is the faithful computation itself ($T$ copies of every convolution).

# %%
X_test, y_test = data[2][:64], data[3][:64]
T = 8
snn = to_parallel_snn(qcfs_net, T)

summed, records = snn.run(X_test, mode="collapsed", record=True)
assert (summed.argmax(axis=-1) == snn.predict(X_test, mode="faithful")).all()  # reported accuracy: collapsed is enough

layers = list(snn.layers)
k = max(i for i, layer in enumerate(layers) if isinstance(layer, ParallelNeurons))
last = layers[k]
trains = last.train_from_counts(records[-1]["counts"])  # (T, B, C, H, W)
x = trains.reshape((T * len(X_test),) + trains.shape[2:]) * last.theta_post.reshape((1, -1) + (1,) * (trains.ndim - 3))
for layer in layers[k + 1:]:  # time-linear layers only: pooling, flatten, the readout
    x = layer.forward(x)
per_step = x.reshape(T, len(X_test), -1)
from_collapsed = np.cumsum(per_step, axis=0).argmax(axis=-1)
faithful = snn.cumulative_predictions(X_test)
print("cumulative accuracy per step, from a collapsed run:", np.round(np.mean(from_collapsed == y_test, axis=1), 3))
assert (from_collapsed == faithful).all()
