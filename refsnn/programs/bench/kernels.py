"""Neuron kernels against the memory limit, and how their cost grows with T.

A neuron layer reads T×N currents and writes T×N spikes, so its speed limit is memory
bandwidth, and the yardstick is ``np.copyto`` on the same machine in the same run.

Bytes are counted as read + written, once per element, ignoring caches, from the
dtypes of the arrays the bench passes:

- neuron kernels: 4 B current (float32) + 1 B spike (bool) per element of T×N;
- copy: 4 B read + 4 B written per element of T×N (``np.copyto`` into a preallocated
  float32 array; ``copy_alloc`` is ``ndarray.copy()``, which also allocates);
- ``binary_from_total``: 4 B of Σ read + 8 B of first spike step (int64) written per
  neuron, whatever T is: its cost is O(log T) comparisons per neuron.

Kernels (``kernel`` in the JSON):

``if``, ``hadamard``, ``dense``, ``binary_from_total``
    The public functions ``if_neuron``, ``parallel_neuron(method="hadamard")``,
    ``parallel_neuron(method="dense")`` and ``first_spike_step_from_total``: input
    checks and a freshly allocated output included (``copy_alloc`` is the copy that
    also allocates).
``if_out``, ``hadamard_out``
    The same public functions writing into a preallocated output with ``out=``, as
    ``np.copyto`` does: these are the ones to hold against the copy bandwidth (the
    target: at least ``TARGET`` of the best copy at T = 64, N = 2²⁰).

The yardstick is the *best* copy of the run at the same T and N: the fastest of the
interleaved rounds, the one least disturbed by other processes. A row's
``ratio_to_best_copy`` is its median GB/s over that best copy; ``ratio_to_copy`` is the
median over rounds of its GB/s over the copy of the same round, which a round whose
copy was slowed by other load inflates. Every row carries the 1-minute load average
over its rounds (lowest and highest), and a copy row lists its slow rounds: those whose
copy ran below ``SLOW_COPY`` of the best.
"""

import numpy as np

from ...neurons.integrate_fire import if_neuron
from ...neurons.parallel import first_spike_step_from_total, parallel_neuron
from .timing import best, interleaved_with_load, median, median_ratio, slow_rounds

BYTES_CONVENTION = (
    "read + written once per element: neuron kernels 4 B float32 current + 1 B bool spike per element "
    "of T x N; copy (np.copyto into a preallocated array) 4 B read + 4 B written per element; "
    "binary_from_total 4 B total read + 8 B int64 first step written per neuron"
)

FULL = {"steps": (4, 8, 16, 32, 64, 128, 256), "elements": 2**28, "neurons": 2**20, "dense_neurons": 2**14,
        "dense_max_T": 64, "repeats": 7}
QUICK = {"steps": (4, 16, 64), "elements": 2**22, "neurons": 2**16, "dense_neurons": 2**12,
         "dense_max_T": 16, "repeats": 3}

#: The kernels held against the copy, at the T where the target is set.
TARGET, TARGET_KERNELS, TARGET_T = 0.8, ("if_out", "hadamard_out"), 64
#: A round whose copy ran below this share of the run's best copy (same T) was slowed.
SLOW_COPY = 0.85


def _gbps(nbytes, seconds):
    return nbytes / seconds / 1e9


def _contenders(T, N, currents, dst, spikes, total, cfg):
    """name → (bytes moved, (T, N) measured, zero-argument call) at one T."""
    elements = T * N
    per_element = currents.itemsize + spikes.itemsize  # read the current, write the spike
    copy_bytes = (currents.itemsize + dst.itemsize) * elements
    contenders = {
        "copy": (copy_bytes, lambda: np.copyto(dst, currents)),
        "copy_alloc": (copy_bytes, lambda: currents.copy()),
        "if_out": (per_element * elements, lambda: if_neuron(currents, 1.0, out=spikes)),
        "hadamard_out": (per_element * elements, lambda: parallel_neuron(currents, 1.0, out=spikes)),
        "if": (per_element * elements, lambda: if_neuron(currents, 1.0)),
        "hadamard": (per_element * elements, lambda: parallel_neuron(currents, 1.0)),
        "binary_from_total": (N * (total.itemsize + np.dtype(np.int64).itemsize),
                              lambda: first_spike_step_from_total(total, 1.0, T)),
    }
    sizes = {name: (T, N) for name in contenders}
    if T <= cfg["dense_max_T"]:
        Nd = min(N, cfg["dense_neurons"])
        dense_currents = np.ascontiguousarray(currents[:, :Nd])
        contenders["dense"] = (per_element * T * Nd, lambda: parallel_neuron(dense_currents, 1.0, method="dense"))
        sizes["dense"] = (T, Nd)
    return {name: (nbytes, sizes[name], fn) for name, (nbytes, fn) in contenders.items()}


def rows_at(nbytes, sizes, times, loads):
    """The copy rows and kernel rows of one T from its interleaved rounds.

    Parameters
    ----------
    nbytes, sizes : dict
        name → bytes moved per call, and name → (T, N).
    times : dict
        name → seconds of each round (:func:`~refsnn.programs.bench.timing.interleaved_with_load`);
        it holds ``"copy"``, ``"copy_alloc"`` and the kernels.
    loads : list of float
        The 1-minute load average at the start of each round.

    Returns
    -------
    copy_rows, neuron_rows : list of dict
    """
    rate = {name: [_gbps(nbytes[name], s) for s in times[name]] for name in times}
    best_copy = best(rate["copy"])
    load = [float(np.min(loads)), float(np.max(loads))]
    copy_rows, neuron_rows = [], []
    for name in ("copy", "copy_alloc"):
        T, N = sizes[name]
        copy_rows.append({"kind": name, "T": T, "N": N, "seconds": median(times[name]), "gbps": median(rate[name]),
                          "best_gbps": best(rate[name]), "rounds_gbps": rate[name], "rounds_load": list(loads),
                          "load": load, "slow_rounds": slow_rounds(rate[name], SLOW_COPY)})
    for name in times:
        if name.startswith("copy"):
            continue
        T, N = sizes[name]
        neuron_rows.append({
            "kernel": name, "T": T, "N": N, "seconds": median(times[name]), "gbps": median(rate[name]),
            "best_gbps": best(rate[name]), "ns_per_neuron": median(times[name]) / N * 1e9,
            "ratio_to_best_copy": median(rate[name]) / best_copy,
            "ratio_to_copy": median_ratio(rate[name], rate["copy"]), "load": load,
        })
    return copy_rows, neuron_rows


def bench_neurons(quick=False, log=print, config=None):
    """Copy bandwidth and every neuron kernel at each T (module docstring).

    Returns
    -------
    dict
        ``copy_gbps`` and ``copy_best_gbps`` (np.copyto's median and best round at
        T = 64, or the largest T measured), ``copy`` (two rows per T: ``copy`` and
        ``copy_alloc``), ``neuron`` (one row per kernel and T, with
        ``ratio_to_best_copy`` and ``ratio_to_copy``), ``rounds`` and
        ``bytes_convention``.
    """
    cfg = config or (QUICK if quick else FULL)
    rng = np.random.default_rng(0)
    pool = rng.random(cfg["elements"], dtype=np.float32)  # currents in [0, 1), θ = 1
    out_pool = np.empty(cfg["elements"], dtype=np.float32)
    spike_pool = np.empty(cfg["elements"], dtype=np.bool_)
    copy_rows, neuron_rows = [], []
    for T in cfg["steps"]:
        N = min(cfg["neurons"], cfg["elements"] // T)
        currents = pool[:T * N].reshape(T, N)
        contenders = _contenders(T, N, currents, out_pool[:T * N].reshape(T, N), spike_pool[:T * N].reshape(T, N),
                                 pool[:N] * np.float32(T), cfg)
        times, loads = interleaved_with_load({name: fn for name, (_, _, fn) in contenders.items()}, cfg["repeats"])
        copies, kernels = rows_at({name: c[0] for name, c in contenders.items()},
                                  {name: c[1] for name, c in contenders.items()}, times, loads)
        copy_rows += copies
        neuron_rows += kernels
        log(f"  T={T:<4} N={N:<8} copy {copies[0]['gbps']:5.1f} GB/s (best {copies[0]['best_gbps']:.1f}), "
            + ", ".join(f"{r['kernel']} {r['gbps']:.1f}" for r in kernels) + f"; load {_load(copies[0])}")
    copies = [r for r in copy_rows if r["kind"] == "copy"]
    headline = [r for r in copies if r["T"] == TARGET_T] or copies[-1:]
    return {"copy_gbps": headline[0]["gbps"], "copy_best_gbps": headline[0]["best_gbps"], "copy": copy_rows,
            "neuron": neuron_rows, "rounds": cfg["repeats"], "bytes_convention": BYTES_CONVENTION}


def _load(row):
    low, high = row["load"]
    return f"{low:.2f}" if round(low, 2) == round(high, 2) else f"{low:.2f}-{high:.2f}"


def _share(row, key):
    if row["kernel"] == "binary_from_total":  # reads and writes N values, not T x N
        return "-"
    return f"{row[key]:.0%}"


def slow_copy_notes(result):
    """One line per T at which some round's copy ran below ``SLOW_COPY`` of the best."""
    notes = []
    for row in result["copy"]:
        if row["kind"] != "copy" or not row["slow_rounds"]:
            continue
        rounds = ", ".join(f"round {r + 1}: {row['rounds_gbps'][r]:.1f} GB/s at load {row['rounds_load'][r]:.2f}"
                           for r in row["slow_rounds"])
        notes.append(f"note: the copy was slow at T={row['T']} ({rounds}; best {row['best_gbps']:.1f} GB/s, "
                     f"slow: below {SLOW_COPY:.0%} of it): other processes were using the memory or the core, so the "
                     "ratio to the copy of those rounds is inflated; the ratio to the best copy is not.")
    return notes


def target_line(result):
    """Whether ``TARGET_KERNELS`` reach ``TARGET`` of the best copy at ``TARGET_T``."""
    rows = {r["kernel"]: r for r in result["neuron"] if r["T"] == TARGET_T and r["kernel"] in TARGET_KERNELS}
    if not rows:
        return f"target: {' and '.join(TARGET_KERNELS)} at T={TARGET_T} were not measured"
    parts = [f"{name} {row['ratio_to_best_copy']:.0%} ({'met' if row['ratio_to_best_copy'] >= TARGET else 'missed'})"
             for name, row in sorted(rows.items())]
    return f"target: at least {TARGET:.0%} of the best copy at T={TARGET_T}: " + ", ".join(parts)


def format_neurons(result):
    """Lines of a table: GB/s, share of the best copy and of each round's copy, load
    average, ns per neuron; notes on slow copies; the target."""
    copy = [r for r in result["copy"] if r["kind"] == "copy" and r["T"] == TARGET_T] or \
        [r for r in result["copy"] if r["kind"] == "copy"][-1:]
    lines = [f"copy (np.copyto) at T={copy[0]['T']}: best {result['copy_best_gbps']:.1f} GB/s, median "
             f"{result['copy_gbps']:.1f} over {result['rounds']} rounds, load {_load(copy[0])}. "
             f"Bytes: {result['bytes_convention']}.",
             f"{'kernel':18} {'T':>4} {'N':>8} {'ms':>9} {'GB/s':>6} {'best':>6} {'vs best copy':>12} "
             f"{'vs round copy':>13} {'load':>11} {'ns/neuron':>10}"]
    for row in result["copy"]:
        lines.append(f"{row['kind']:18} {row['T']:4} {row['N']:8} {row['seconds'] * 1e3:9.2f} {row['gbps']:6.1f} "
                     f"{row['best_gbps']:6.1f} {'':>12} {'':>13} {_load(row):>11} "
                     f"{row['seconds'] / row['N'] * 1e9:10.2f}")
    for row in sorted(result["neuron"], key=lambda r: (r["kernel"], r["T"])):
        lines.append(f"{row['kernel']:18} {row['T']:4} {row['N']:8} {row['seconds'] * 1e3:9.2f} {row['gbps']:6.1f} "
                     f"{row['best_gbps']:6.1f} {_share(row, 'ratio_to_best_copy'):>12} "
                     f"{_share(row, 'ratio_to_copy'):>13} {_load(row):>11} {row['ns_per_neuron']:10.2f}")
    lines.append("GB/s: median over interleaved rounds; best: the fastest round. vs best copy: the median GB/s over "
                 "the fastest np.copyto round at the same T and N; vs round copy: the median over rounds of the "
                 "GB/s over the copy of the same round. load: the 1-minute load average over the rounds. "
                 "if_out and hadamard_out write into a preallocated array (out=), as np.copyto does; if, hadamard, "
                 "dense and binary_from_total allocate their output, whose first touch costs page faults: compare "
                 "them with copy_alloc (ndarray.copy()).")
    return lines + slow_copy_notes(result) + [target_line(result)]
