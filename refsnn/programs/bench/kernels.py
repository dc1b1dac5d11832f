"""Neuron kernels against the memory limit, and how their cost grows with T.

A neuron layer reads T×N currents and writes T×N spikes, so its speed limit is memory
bandwidth, and the yardstick is ``np.copyto`` on the same machine in the same run.

Bytes are counted as read + written, once per element, ignoring caches:

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
    target is at least 80% of it at T = 64, N = 2²⁰).

Every row's ``ratio_to_copy`` is its GB/s over ``np.copyto``'s at the same T and N,
the median over interleaved rounds of the ratio within a round.
"""

import numpy as np

from ...neurons.integrate_fire import if_neuron
from ...neurons.parallel import first_spike_step_from_total, parallel_neuron
from .timing import interleaved, median, median_ratio

BYTES_CONVENTION = (
    "read + written once per element: neuron kernels 4 B float32 current + 1 B bool spike per element "
    "of T x N; copy (np.copyto into a preallocated array) 4 B read + 4 B written per element; "
    "binary_from_total 4 B total read + 8 B int64 first step written per neuron"
)

FULL = {"steps": (4, 8, 16, 32, 64, 128, 256), "elements": 2**28, "neurons": 2**20, "dense_neurons": 2**14,
        "dense_max_T": 64, "repeats": 5}
QUICK = {"steps": (4, 16, 64), "elements": 2**22, "neurons": 2**16, "dense_neurons": 2**12,
         "dense_max_T": 16, "repeats": 3}


def _gbps(nbytes, seconds):
    return nbytes / seconds / 1e9


def bench_neurons(quick=False, log=print, config=None):
    """Copy bandwidth and every neuron kernel at each T (module docstring).

    Returns
    -------
    dict
        ``copy_gbps`` (np.copyto at T = 64, or the largest T measured), ``copy`` (one row
        per T), ``neuron`` (one row per kernel and T, with ``ratio_to_copy``: the median
        over rounds of the kernel's GB/s over the copy's GB/s in the same round) and
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
        dst = out_pool[:T * N].reshape(T, N)
        spikes = spike_pool[:T * N].reshape(T, N)
        total = pool[:N] * np.float32(T)
        elements = T * N
        contenders = {
            "copy": (8 * elements, lambda: np.copyto(dst, currents)),
            "copy_alloc": (8 * elements, lambda: currents.copy()),
            "if_out": (5 * elements, lambda: if_neuron(currents, 1.0, out=spikes)),
            "hadamard_out": (5 * elements, lambda: parallel_neuron(currents, 1.0, out=spikes)),
            "if": (5 * elements, lambda: if_neuron(currents, 1.0)),
            "hadamard": (5 * elements, lambda: parallel_neuron(currents, 1.0)),
            "binary_from_total": (12 * N, lambda: first_spike_step_from_total(total, 1.0, T)),
        }
        sizes = {name: (T, N) for name in contenders}
        if T <= cfg["dense_max_T"]:
            Nd = min(N, cfg["dense_neurons"])
            dense_currents = np.ascontiguousarray(currents[:, :Nd])
            contenders["dense"] = (5 * T * Nd, lambda: parallel_neuron(dense_currents, 1.0, method="dense"))
            sizes["dense"] = (T, Nd)
        times = interleaved({name: fn for name, (_, fn) in contenders.items()}, cfg["repeats"])
        rate = {name: [_gbps(nbytes, s) for s in times[name]] for name, (nbytes, _) in contenders.items()}
        for name in ("copy", "copy_alloc"):
            copy_rows.append({"kind": name, "T": T, "N": N, "seconds": median(times[name]), "gbps": median(rate[name])})
        for name in contenders:
            if name.startswith("copy"):
                continue
            Tk, Nk = sizes[name]
            neuron_rows.append({
                "kernel": name, "T": Tk, "N": Nk, "seconds": median(times[name]), "gbps": median(rate[name]),
                "ns_per_neuron": median(times[name]) / Nk * 1e9,
                "ratio_to_copy": median_ratio(rate[name], rate["copy"]),
            })
        log(f"  T={T:<4} N={N:<8} copy {median(rate['copy']):5.1f} GB/s, "
            + ", ".join(f"{name} {median(rate[name]):.1f}" for name in contenders if name != "copy"))
    headline = [r for r in copy_rows if r["kind"] == "copy" and r["T"] == 64] or \
        [r for r in copy_rows if r["kind"] == "copy"][-1:]
    return {"copy_gbps": headline[0]["gbps"], "copy": copy_rows, "neuron": neuron_rows,
            "bytes_convention": BYTES_CONVENTION}


def _share(row):
    if row["kernel"] == "binary_from_total":  # reads and writes N values, not T x N
        return "-"
    return f"{row['ratio_to_copy']:.0%}"


def format_neurons(result):
    """Lines of a table: GB/s and share of the copy bandwidth, and ns per neuron."""
    lines = [f"copy (np.copyto) at T=64: {result['copy_gbps']:.1f} GB/s. Bytes: {result['bytes_convention']}.",
             f"{'kernel':18} {'T':>4} {'N':>8} {'ms':>9} {'GB/s':>6} {'vs copy':>8} {'ns/neuron':>10}"]
    for row in result["copy"]:
        lines.append(f"{row['kind']:18} {row['T']:4} {row['N']:8} {row['seconds'] * 1e3:9.2f} {row['gbps']:6.1f} "
                     f"{'':>8} {row['seconds'] / row['N'] * 1e9:10.2f}")
    for row in sorted(result["neuron"], key=lambda r: (r["kernel"], r["T"])):
        lines.append(f"{row['kernel']:18} {row['T']:4} {row['N']:8} {row['seconds'] * 1e3:9.2f} {row['gbps']:6.1f} "
                     f"{_share(row):>8} "
                     f"{row['ns_per_neuron']:10.2f}")
    lines.append("vs copy: the kernel's GB/s over np.copyto's at the same T and N, median over interleaved rounds. "
                 "if_out and hadamard_out write into a preallocated array (out=), as np.copyto does; if, hadamard, "
                 "dense and binary_from_total allocate their output, whose first touch costs page faults: compare "
                 "them with copy_alloc (ndarray.copy()).")
    return lines
