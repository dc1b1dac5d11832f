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
# # 7. Speed: sequential IF against parallel inference
#
# Hao et al., ICML 2025 ([arXiv 2412.13610](https://arxiv.org/abs/2412.13610)): the speed
# claim, and the neuron's cost (the rank-1 parallel conversion matrix and binary search).
# How the authors timed is on the [notation page, "Evaluation and timing in the released
# code"](00_notation.md#evaluation-and-timing-in-the-released-code); the collapsed mode is
# refsnn's ([notation page, "Collapsed inference"](00_notation.md#collapsed-inference)).
#
# Boxes that start with **Paper** restate what the paper says; boxes that start with **Code**
# describe the authors' released code, and **refsnn** a choice of this project. The
# [notation page](00_notation.md) fixes the notation and says which statement comes from
# where. Everything else is commentary. Timings depend on the machine and on what else
# runs on it, so nothing here asserts a timing; the asserts check that the fast paths
# compute the same thing.
#
# > **Paper (the speed claim).** Parallel inference is 19× to 38× faster than sequential
# > IF neurons for $T \ge 32$.
#
# > **Code.** Both are timed at batch size 1 on a GPU: the IF network runs $T$ forward
# > passes, the parallel network one pass over a batch of $T$ copies.
#
# The parallel model still runs every convolution on $T$ copies: the gain comes from GPU
# parallelism over $T$, not from fewer FLOPs.
#
# This tutorial times the demo's QCFS CNN on a CPU in refsnn's three modes, then the
# neuron alone. Its run time is in the [course map](README.md); most of it is the timing
# loops, which repeat every measurement.

# %%
import json
import time

import matplotlib.pyplot as plt
import numpy as np

import refsnn
from refsnn import plotting as rp
from refsnn.networks.conversion import to_if_snn, to_parallel_snn
from refsnn.networks.data import load_digits
from refsnn.programs.demo import trained_networks
from refsnn.programs.figures import repository_root, show_figure, tutorial_figures_dir
from refsnn.networks.layers import Conv2d, Linear
from refsnn.neurons.integrate_fire import if_neuron
from refsnn.neurons.parallel import closed_form_count, first_spike_step_from_total, parallel_neuron
from refsnn.neurons.quantization import qcfs_level
from refsnn.networks.training import predict

refsnn.use_threads()  # one thread unless REFSNN_THREADS says more (the BLAS always) (README, "Threads")

FIGURES = tutorial_figures_dir(globals().get("__file__"))  # tutorials/output/
REPO = repository_root(globals().get("__file__"))  # the repository, for figures/data/
rng = np.random.default_rng(0)


def median_seconds(run, repeats=3):
    """Median wall time of ``run()`` over ``repeats`` calls, after one warm-up call
    (which also triggers Numba's one-time compilation)."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


# %% [markdown]
# ## 7.1 Three ways to run one network
#
# * **sequential** (`to_if_snn`): IF neurons, $T$ full forward passes, one per step, each
#   layer keeping its membrane potential between steps. This is the baseline.
# * **faithful** (`to_parallel_snn`, `mode="faithful"`): what the authors' code does. The
#   input is repeated $T$ times into one batch of $T B$ images; every convolution runs on all
#   of them, and each neuron layer fires all $T$ steps at once.
# * **collapsed** (`mode="collapsed"`): a parallel neuron only needs the *sum* of its
#   input over time, and linear layers commute with that sum:
#   $\sum_t (W x_t + b) = W \sum_t x_t + T b$. So one pass over $B$ images carries the summed
#   outputs $\theta N$ from layer to layer. A sum becomes a count in $O(1)$, with no search at
#   all: step $x$ fires iff $(\Sigma + \psi)/(T - x + 1) \ge \theta$, i.e. iff $\lfloor (\Sigma + \psi)/\theta \rfloor \ge T - x + 1$, so
#   the count is $N = \mathrm{clip}(\lfloor (\Sigma + \psi)/\theta \rfloor, 0, T)$, the QCFS level itself
#   (`refsnn.neurons.parallel.closed_form_count`). Binary search (tutorial 4) finds the
#   first spike step in $O(\log T)$ comparisons, but once the sum is known the floor gives
#   the answer directly. refsnn's collapsed kernel computes that floor and then checks it
#   against the firing predicate of the other methods, one step up and one down, so
#   that float ties come out exactly as in the faithful mode.

# %%
check_rng = np.random.default_rng(1)
for T in (1, 4, 16, 64):
    currents = np.round(check_rng.normal(0.4, 1.0, size=(T, 5000)) * 4) / 4  # quarter grid: exact sums
    count = parallel_neuron(currents, 1.0).sum(axis=0)
    assert (closed_form_count(currents.sum(axis=0), 1.0, T) == count).all()  # O(1) per neuron
    assert (T + 1 - first_spike_step_from_total(currents.sum(axis=0), 1.0, T) == count).all()  # O(log T)
print("closed form clip(floor((Σ + ψ)/θ), 0, T) == binary search on Σ == parallel_neuron's count")

# %% [markdown]
# Multiply-accumulates (MACs) per image make the difference plain:

# %%
data = load_digits()
X_train, y_train, X_test, y_test = data
qcfs_net, _ = trained_networks(data)

macs, shape = 0, (1, 8, 8)
for layer in qcfs_net:
    if isinstance(layer, Conv2d):
        c_out = layer.weight.shape[0]
        macs += c_out * shape[1] * shape[2] * layer.weight[0].size  # padding 1, stride 1: same H, W
        shape = (c_out,) + shape[1:]
    elif isinstance(layer, Linear):
        macs += layer.weight.size
    elif type(layer).__name__ == "AvgPool2d":
        shape = (shape[0], shape[1] // 2, shape[2] // 2)
print(f"one pass of the demo CNN: {macs:,} MACs per image")
for T in (4, 64):
    print(f"T = {T:2d}: sequential {T * macs:>10,} MACs, faithful {T * macs:>10,}, collapsed {macs:>7,}")

# %% [markdown]
# Sequential and faithful do the *same* arithmetic: $T$ passes, or one pass over $T$ copies.
# On a GPU the $T$ copies run side by side, which is where the paper's 19–38× comes from.
# On a CPU with two cores there is little side by side to be had; the faithful mode saves
# only the per-call overhead of $T - 1$ separate passes. The collapsed mode does $T$ times
# less arithmetic.
#
# ## 7.2 Timing the network
#
# Each mode, $T \in \lbrace 4, 8, 16, 32, 64 \rbrace$, median of 3 runs after a warm-up:
#
# * **batch 1**, as in the paper: 4 test images, one call each (time per image);
# * **batch 64**: 64 test images in one call (time per image).
#
# Faithful and collapsed must give the same predictions (the same network, computed in two
# ways); at $T = \tilde T = 4$ both equal the QCFS ANN (Theorem 4.1). The IF network is a
# *different* function: the unevenness error of tutorial 1 changes a few predictions.

# %%
STEPS = (4, 8, 16, 32, 64)
BATCHES = {1: X_test[:4], 64: X_test[:64]}
network = []  # rows {"mode", "T", "batch", "seconds"}: seconds per image
for T in STEPS:
    snns = {"faithful_parallel": (to_parallel_snn(qcfs_net, T), "faithful"),
            "collapsed_parallel": (to_parallel_snn(qcfs_net, T), "collapsed"),
            "sequential_if": (to_if_snn(qcfs_net, T), "sequential")}
    for batch, X in BATCHES.items():
        preds = {}
        for name, (snn, mode) in snns.items():
            if batch == 1:
                def run(snn=snn, mode=mode, X=X):
                    return np.concatenate([snn.predict(X[i:i + 1], mode=mode) for i in range(len(X))])
            else:
                def run(snn=snn, mode=mode, X=X):
                    return snn.predict(X, mode=mode, batch_size=batch)
            preds[name] = run()
            network.append({"mode": name, "T": T, "batch": batch, "seconds": median_seconds(run) / len(X)})
        assert (preds["faithful_parallel"] == preds["collapsed_parallel"]).all()
        if T == 4:
            assert (preds["collapsed_parallel"] == predict(qcfs_net, X)).all()
        if batch == 64:
            agree = np.mean(preds["sequential_if"] == preds["collapsed_parallel"])
            print(f"T = {T:2d}: IF agrees with parallel on {agree:.0%} of the 64 images")
print("faithful == collapsed predictions at every T and batch; == QCFS ANN at T = 4")

seconds = {(r["mode"], r["T"], r["batch"]): r["seconds"] for r in network}
print(f"\ntimed with {refsnn.thread_setting()}")
print(f"{'':8}{'ms per image':>38}{'speed-up over IF':>30}")
print(f"{'batch':>5} {'T':>3} {'sequential':>12} {'faithful':>10} {'collapsed':>10}   {'faithful':>10} {'collapsed':>10}")
for batch in BATCHES:
    for T in STEPS:
        s, f, c = (seconds[m, T, batch] for m in ("sequential_if", "faithful_parallel", "collapsed_parallel"))
        print(f"{batch:5d} {T:3d} {1e3 * s:12.3f} {1e3 * f:10.3f} {1e3 * c:10.4f}   {s / f:9.1f}× {s / c:9.1f}×")

# %% [markdown]
# Read the two columns of speed-ups separately:
#
# * **faithful**: a small factor that does not grow much with $T$. The faithful network
#   does exactly the IF network's arithmetic, so on a CPU it can only save call overhead
#   and memory traffic. At batch 1 that overhead (a Python call per layer and per step) is
#   most of the IF time, so the faithful mode gains something there; at batch 64 the
#   arithmetic dominates, and what is left is that the faithful mode makes fewer, larger
#   calls on groups of samples whose $T$ copies fit in the cache (`FAITHFUL_GROUP_IMAGES`
#   in `refsnn.networks.spiking`), which keeps it a little ahead.
# * **collapsed**: its cost does not depend on $T$ at all (one pass, and a count in $O(1)$ per
#   neuron), so its speed-up over IF grows in proportion to $T$.
#
# The paper's 19–38× (GPU, batch 1, $T \ge 32$) is a statement about the faithful mode on
# hardware with thousands of lanes: the $T$ copies fill them. The collapsed mode is an
# implementation choice of refsnn ([notation page, "Collapsed
# inference"](00_notation.md#collapsed-inference)), not something the paper timed; it is
# what the parallel neuron *permits*, because it only needs $\sum_t I_t$.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4.0), layout="constrained")
styles = {"sequential_if": ("v", rp.COLORS["if"]), "faithful_parallel": ("o", rp.COLORS["parallel"]),
          "collapsed_parallel": ("s", rp.COLORS["parallel_calibrated"])}
for mode, (marker, color) in styles.items():
    for batch, ls in zip(BATCHES, ("-", "--")):
        axes[0].plot(STEPS, [1e3 * seconds[mode, T, batch] for T in STEPS], marker=marker, ls=ls, color=color,
                     label=f"{mode.replace('_', ' ')}, batch {batch}")
axes[0].set_xscale("log", base=2)
axes[0].set_yscale("log")
axes[0].set_xticks(STEPS, [str(T) for T in STEPS])
axes[0].minorticks_off()
axes[0].set_xlabel("time steps T")
axes[0].set_ylabel("milliseconds per image")
axes[0].set_title("Inference time of the demo CNN on a CPU", fontsize=10)
axes[0].legend(fontsize=7, ncol=2, loc="upper left")
for mode in ("faithful_parallel", "collapsed_parallel"):
    marker, color = styles[mode]
    for batch, ls in zip(BATCHES, ("-", "--")):
        axes[1].plot(STEPS, [seconds["sequential_if", T, batch] / seconds[mode, T, batch] for T in STEPS],
                     marker=marker, ls=ls, color=color, label=f"{mode.replace('_', ' ')}, batch {batch}")
axes[1].axhspan(19, 38, color=rp.COLORS["guide"], alpha=0.2, lw=0, label="paper: 19–38× (GPU, batch 1, T ≥ 32)")
axes[1].axhline(1, color=rp.COLORS["guide"], lw=1)
axes[1].set_xscale("log", base=2)
axes[1].set_yscale("log")
axes[1].set_xticks(STEPS, [str(T) for T in STEPS])
axes[1].minorticks_off()
axes[1].yaxis.set_major_formatter(lambda v, _: f"{v:g}×")
axes[1].set_xlabel("time steps T")
axes[1].set_ylabel("speed-up over sequential IF")
axes[1].set_title("Speed-up of the parallel modes (CPU)", fontsize=10)
axes[1].legend(fontsize=7, loc="upper left")
show_figure(fig, FIGURES / "07_network_speed.png")

# %% [markdown]
# ![Time per image against T, and the speed-up over IF](../figures/tutorials/07_network_speed.png)
#
# On a machine shared with other work, single timings jump by a scheduler time slice
# (several milliseconds), which at batch 1 is several times a whole inference of this
# tiny network: read the trends, not single points, and rerun on a quiet machine.
#
# On the log-log plot the sequential and faithful lines rise with slope about 1 (cost
# $\propto T$) once the arithmetic dominates, and the collapsed lines are flat. At batch 1 all
# times are dominated by per-call overhead for this tiny network, so the lines are flatter
# and noisier than FLOPs alone would predict.
#
# ## 7.3 The neuron alone: O(T²), O(T), O(log T)
#
# > **Paper (parallel conversion matrix; sorting property and binary search).** The
# > parallel conversion matrix $\Lambda_\text{pc}$ has rank 1, so the $T \times T$ product becomes a Hadamard
# > product: $O(T^2) \to O(T)$ per neuron. The sorting property lets binary search find the
# > first spike in $O(\log T)$.
#
# Five ways to get the same spikes (or counts) for $n = 100{,}000$ neurons:
#
# * `method="dense"`: the explicit $\Lambda_\text{pc} I$, $O(T^2)$ per neuron;
# * `method="hadamard"`: sum once and scale, $O(T)$;
# * `method="binary"`: sum ($O(T)$), then binary search ($O(\log T)$);
# * `first_spike_step_from_total`: binary search on a sum that is already there, $O(\log T)$;
# * `closed_form_count`: the count $\mathrm{clip}(\lfloor (\Sigma + \psi)/\theta \rfloor, 0, T)$ from that sum, $O(1)$: what the
#   collapsed network does in every layer (§7.1).

# %%
N, theta = 100_000, 1.0
neuron = []  # rows {"kernel", "T", "N", "seconds"}
for T in STEPS:
    currents = rng.normal(0.3, 1.0, size=(T, N)).astype(np.float32)
    total = currents.sum(axis=0)
    count = qcfs_level(currents.mean(axis=0), theta, T)
    for method in ("dense", "hadamard", "binary"):
        assert (parallel_neuron(currents, theta, method=method).sum(axis=0) == count).mean() > 0.999
        sec = median_seconds(lambda: parallel_neuron(currents, theta, method=method))
        neuron.append({"kernel": method, "T": T, "N": N, "seconds": sec})
    first = first_spike_step_from_total(total, theta, T)
    assert ((T + 1 - first) == parallel_neuron(currents, theta, method="binary").sum(axis=0)).all()
    sec = median_seconds(lambda: first_spike_step_from_total(total, theta, T))
    neuron.append({"kernel": "from_total", "T": T, "N": N, "seconds": sec})
    assert (closed_form_count(total, theta, T) == T + 1 - first).mean() > 0.999  # float32 ties aside
    sec = median_seconds(lambda: closed_form_count(total, theta, T))
    neuron.append({"kernel": "closed_form", "T": T, "N": N, "seconds": sec})

ns = {(r["kernel"], r["T"]): 1e9 * r["seconds"] / N for r in neuron}
kernels = ("dense", "hadamard", "binary", "from_total", "closed_form")
print(f"nanoseconds per neuron (N = {N:,}), with {refsnn.thread_setting()}")
print(f"{'T':>3} " + " ".join(f"{k:>11}" for k in kernels))
for T in STEPS:
    print(f"{T:3d} " + " ".join(f"{ns[k, T]:11.2f}" for k in kernels))

fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
labels = {"dense": "dense Λ_pc·I: O(T²)", "hadamard": "hadamard: O(T)", "binary": "sum + binary search: O(T)",
          "from_total": "binary search on Σ: O(log T)", "closed_form": "closed form on Σ: O(1)"}
for i, k in enumerate(kernels):
    ax.plot(STEPS, [ns[k, T] for T in STEPS], marker="os^Dv"[i], color=rp.CYCLE[i], label=labels[k])
Ts = np.array(STEPS, dtype=float)
for shape, name in ((Ts ** 2, "∝ T²"), (Ts, "∝ T")):  # reference slopes through the dense and hadamard T = 64 points
    ref = shape / shape[-1] * ns["dense" if name == "∝ T²" else "hadamard", STEPS[-1]]
    ax.plot(Ts, ref, color="black", ls=":", lw=1.2)
    ax.annotate(f"slope {name}", (Ts[-1], ref[-1]), xytext=(6, 0), textcoords="offset points",
                color="black", fontsize=9, va="center",
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.8))
ax.set_xscale("log", base=2)
ax.set_yscale("log")
ax.set_xticks(STEPS, [str(T) for T in STEPS])
ax.minorticks_off()
ax.set_xlabel("time steps T")
ax.set_ylabel("nanoseconds per neuron")
ax.set_title(f"Firing N = {N:,} parallel neurons", fontsize=10)
ax.legend(fontsize=8, loc="upper left")
show_figure(fig, FIGURES / "07_neuron_cost.png")

# %% [markdown]
# ![Cost per neuron of the dense, Hadamard, binary-search and closed-form firing](../figures/tutorials/07_neuron_cost.png)
#
# The dense product grows like $T^2$, as it must. The Hadamard kernel grows like $T$, but its
# constant is tiny: it streams $T$ floats per neuron, a memory-bound loop. Binary search on a
# ready sum grows only like $\log T$, yet at these $T$ it is *not* faster than the Hadamard
# kernel: each of its few comparisons is a division and an unpredictable branch, which cost
# more than streaming a handful of floats. An $O(\log T)$ bound wins only once $T$ is large
# enough. The closed form on the sum does not grow with $T$ at all. In a network, though,
# the point of the collapsed mode is elsewhere: it never builds
# the $T$ copies of the convolutions, which is where almost all of the time goes (§7.2).
#
# ## 7.4 The memory limit, and writing into your own array
#
# A neuron layer reads $T \times n$ currents (4 bytes each in float32) and writes $T \times n$ spikes
# (1 byte each), so no kernel can beat the machine's memory bandwidth. The yardstick is
# `np.copyto`, which reads and writes 4 bytes per element. Allocating a fresh output on
# every call costs extra: the first write to new memory goes through page faults. Like
# NumPy's ufuncs, `if_neuron` and `parallel_neuron` take `out=`, an array of the right
# shape and dtype (bool) to write the spikes into; the result is the same array.

# %%
T, N = 64, 2**20  # 256 MB of currents: larger than the CPU's caches
currents = rng.random((T, N), dtype=np.float32)
spikes = np.empty((T, N), dtype=bool)
assert if_neuron(currents, 1.0, out=spikes) is spikes
assert (spikes == if_neuron(currents, 1.0)).all()  # the same spikes, written in place
assert (parallel_neuron(currents, 1.0, out=spikes) == parallel_neuron(currents, 1.0)).all()
copy_target = np.empty_like(currents)
runs = {"np.copyto": (8, lambda: np.copyto(copy_target, currents)),
        "if_neuron, out=": (5, lambda: if_neuron(currents, 1.0, out=spikes)),
        "if_neuron, new array": (5, lambda: if_neuron(currents, 1.0)),
        "parallel_neuron, out=": (5, lambda: parallel_neuron(currents, 1.0, out=spikes)),
        "parallel_neuron, new array": (5, lambda: parallel_neuron(currents, 1.0))}
print(f"T = {T}, N = {N:,}: GB/s (bytes read + written), with {refsnn.thread_setting()}")
for name, (nbytes, run) in runs.items():
    print(f"  {name:27} {nbytes * T * N / median_seconds(run, repeats=3) / 1e9:6.1f}")

# %% [markdown]
# With `out=` both kernels come close to the copy. `refsnn bench` measures it more
# carefully, in interleaved rounds; its committed run on this project's machine
# (`figures/data/bench.json`, the same $T = 64$, $n = 2^{20}$) is read below, so the numbers
# here are always that file's.

# %%
bench = json.loads((REPO / "figures" / "data" / "bench.json").read_text())
share = {r["kernel"]: r["ratio_to_copy"] for r in bench["neuron"] if r["T"] == T and r["N"] == N}
print("refsnn bench, share of np.copyto's bandwidth at T = 64, N = 2**20:")
for kernel, name in (("if_out", "if_neuron, out="), ("if", "if_neuron, new array"),
                     ("hadamard_out", "parallel_neuron, out="), ("hadamard", "parallel_neuron, new array")):
    print(f"  {name:27} {share[kernel]:6.0%}")
assert share["if_out"] > share["if"] and share["hadamard_out"] > share["hadamard"]  # out= saves the page faults

# %% [markdown]
# In that run both kernels with `out=` come close to the copy, and a new array on every
# call costs more (asserted above). By how much depends on the machine and on how the
# allocator reuses memory; in a loop of your own, preallocate.
#
# ## Exercises
#
# Worked solutions: [solutions/07_speed.md](solutions/07_speed.md). Exercises 1 and 2
# are open-ended: their answers are timings, which depend on your machine.
#
# 1. *Open-ended.* Add $T = 256$ and $T = 1024$ to §7.3 (with $n = 10{,}000$ neurons, to keep
#    the arrays small). Where does binary search on $\Sigma$ overtake the Hadamard kernel on your
#    machine? Fit $aT$ to the Hadamard times and $b \log_2 T$ to the binary-search times: where
#    should they cross? ([solution](solutions/07_speed.md#exercise-1))
# 2. *Open-ended.* Time the faithful mode at batch 1 with one BLAS thread and with all
#    cores. No Numba kernel of refsnn is parallel; the multithreaded work is NumPy's
#    matrix products (the convolutions are im2col and one product, the linear layers one
#    product), run by OpenBLAS, so the knob is `OPENBLAS_NUM_THREADS=1` (or
#    `OMP_NUM_THREADS=1`), set before NumPy is imported: time each setting in a fresh
#    process. How much of the paper's GPU argument (parallelism over $T$) can a CPU recover?
#    ([solution](solutions/07_speed.md#exercise-2))
# 3. The collapsed mode returns only the logits summed over time, and
#    `cumulative_predictions` runs the faithful mode. Which of the paper's reported
#    quantities ([notation page, "Evaluation and timing in the released
#    code"](00_notation.md#evaluation-and-timing-in-the-released-code)) need per-step
#    outputs? Show that in the paper's order they can still be computed from one
#    collapsed run, and say which quantity truly needs the faithful mode. (Hint: a
#    parallel neuron's train is a function of its count, `ParallelNeurons.train_from_counts`,
#    and every layer after the last neuron layer is time-linear.)
#    ([solution](solutions/07_speed.md#exercise-3))
