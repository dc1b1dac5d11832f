"""Numba kernels of the parallel conversion neuron (:mod:`refsnn.neurons.parallel`).

Every kernel here has a readable NumPy twin in :mod:`refsnn.neurons.parallel` with the
public function's signature, and ``tests/test_twins.py`` proves each pair equal bit for
bit. The kernels share one file because they share ``_firing_count`` and the blocked
loops, and Numba's on-disk cache only notices edits to the file that defines a kernel:
a kernel in another file would keep running a stale copy of an edited helper.

The kernels are memory-bound: a layer reads T×N currents and writes T×N spikes. They cut
the neurons into blocks of ``BLOCK``, so that a block's running sums stay in the L2
cache, and run time-major over contiguous neurons inside a block. The spike rows are
written with streaming (non-temporal) stores (:func:`_stream_row`): an ordinary store
first reads the cache line it writes into, a sixth byte of traffic per element that the
spikes do not need (a large ``np.copyto`` avoids it the same way, in the C library's
``memcpy``). Divisions use ``error_model="numpy"`` (no Python zero-division check, so the
loops vectorise); no denominator is ever zero. Each kernel returns the total Σ (or an equivalent state, such
as infinity if some Σ is not finite): a NaN or infinite current makes it non-finite,
which is how the public functions check their input without a separate pass
(``refsnn._checks.check_finite_after``).
"""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

#: Neurons per block: 256 KB of float32 running sums and 256 KB of counts, in the L2
#: cache. Long blocks mean long row segments, so each of the many memory streams a block
#: starts (four rows of currents per sweep, then T rows of spikes) runs long against its
#: start-up (the hardware prefetchers' ramp-up), as in :data:`integrate_fire.BLOCK
#: <refsnn.neurons.integrate_fire.BLOCK>`.
BLOCK = 65536
#: ``_count_block`` is exact for T < 2²² (float32); larger T falls back to binary search.
HADAMARD_MAX_T = 2**22


@njit(cache=True)
def _total_block(currents, start, stop, total):  # pragma: no cover - compiled
    """total[:] = Σ_t currents[t, start:stop], summed in the order of :func:`total_current`."""
    T = currents.shape[0]
    total[:] = 0
    t = 0
    while t + 4 <= T:  # four rows per sweep: the running sum is loaded and stored once
        i0, i1, i2, i3 = (currents[t, start:stop], currents[t + 1, start:stop],
                          currents[t + 2, start:stop], currents[t + 3, start:stop])
        for j in range(stop - start):
            total[j] = (((total[j] + i0[j]) + i1[j]) + i2[j]) + i3[j]
        t += 4
    for t in range(t, T):
        i0 = currents[t, start:stop]
        for j in range(stop - start):
            total[j] += i0[j]


@njit(cache=True)
def _total_kernel(currents):  # pragma: no cover - compiled
    N = currents.shape[1]
    total = np.empty(N, dtype=currents.dtype)
    for start in range(0, N, BLOCK):
        stop = min(start + BLOCK, N)
        _total_block(currents, start, stop, total[start:stop])
    return total


@njit(inline="always", error_model="numpy")
def _firing_count(s, h, Tf, one):  # pragma: no cover - compiled
    """#{x : s/(T − x + 1) >= θ} for s = Σ + ψ and h = θ, a float of their dtype.

    Division is correctly rounded, hence monotone, so the steps that fire are exactly
    those with denominator d = 1..D for some D: the count is D, the largest d in 1..T with
    fl(s/d) >= θ. With q = s/θ, D lies in {⌊q⌋, ⌊q⌋+1} and the estimate k = ⌊fl(q)⌋
    within one of D (for T < 2²²: the rounding errors of q and of s/d are below 1/2), so
    one step up and one step down with the twin's own predicate give D exactly: three
    divisions per neuron instead of T, and the twin's result bit for bit, ties included.
    """
    zero = one - one
    k = np.floor(min(max(s / h, zero), Tf))  # clipped first: no float-to-int overflow
    if k < Tf and s / (k + one) >= h:  # D = k + 1?
        k = k + one
    if k > zero and not s / max(k, one) >= h:  # D = k − 1?
        k = k - one
    return k


@njit(cache=True, error_model="numpy")
def _count_block(total, psi, theta, denominators, count):  # pragma: no cover - compiled
    """count[j] = _firing_count(Σ_j + ψ_j, θ_j): the spike count of every neuron."""
    Tf, one = denominators[0], denominators[-1]  # T and 1 in the currents' dtype
    for j in range(total.size):
        count[j] = _firing_count(total[j] + psi[j], theta[j], Tf, one)


@intrinsic
def _stream32(typingctx, dst, i, src, k):  # pragma: no cover - compiled
    """dst[i:i + 32] = src[k:k + 32] for byte arrays, as one 32-byte non-temporal store.

    ``dst[i]`` must be 32-byte aligned. A non-temporal store goes to memory without
    reading the line into the cache first (LLVM's ``!nontemporal``; ``vmovntdq`` on x86).
    """
    def codegen(context, builder, signature, args):
        dst_type, _, src_type, _ = signature.args
        vector = ir.VectorType(ir.IntType(8), 32).as_pointer()
        to = cgutils.get_item_pointer(context, builder, dst_type, context.make_array(dst_type)(context, builder, args[0]),
                                      [args[1]], wraparound=False)
        frm = cgutils.get_item_pointer(context, builder, src_type,
                                       context.make_array(src_type)(context, builder, args[2]), [args[3]],
                                       wraparound=False)
        store = builder.store(builder.load(builder.bitcast(frm, vector), align=1), builder.bitcast(to, vector), align=32)
        store.set_metadata("nontemporal", builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)]))
        return context.get_dummy_value()
    return types.void(dst, i, src, k), codegen


@intrinsic
def _store_fence(typingctx):  # pragma: no cover - compiled
    """A full memory fence: the streaming stores before it are visible to every thread after it."""
    def codegen(context, builder, signature, args):
        builder.fence("seq_cst")
        return context.get_dummy_value()
    return types.void(), codegen


@njit(cache=True)
def _stream_row(dst, src):  # pragma: no cover - compiled
    """dst[:] = src for byte arrays of one size: streaming stores where ``dst`` is 32-byte
    aligned, ordinary ones for the unaligned head and the tail. A kernel that streams ends
    with :func:`_store_fence`."""
    n = dst.size
    head = min((-dst.ctypes.data) % 32, n)
    for j in range(head):
        dst[j] = src[j]
    j = head
    while j + 32 <= n:
        _stream32(dst, j, src, j)
        j += 32
    for j in range(j, n):
        dst[j] = src[j]


@njit(cache=True)
def _fill_block(count, spikes, start, stop, paper, row):  # pragma: no cover - compiled
    """Write the trains of a block from its counts (floats, or bytes for T < 256): in paper
    order step x fires iff count >= T − x + 1, in code order iff count >= x. Each row is
    built in ``row`` (a scratch of at least stop − start bytes, in the L2 cache) and
    streamed out (:func:`_stream_row`)."""
    T = spikes.shape[0]
    rows = spikes.view(np.uint8)
    n = stop - start
    for x in range(T):  # x counts from 0 here: step x + 1
        d = count.dtype.type(T - x if paper else x + 1)  # T − (x + 1) + 1, or x + 1
        for j in range(n):
            row[j] = count[j] >= d
        _stream_row(rows[x, start:stop], row[:n])


@njit(cache=True)
def _fill_kernel(count, spikes, paper):  # pragma: no cover - compiled
    N = spikes.shape[1]
    row = np.empty(min(BLOCK, N), dtype=np.uint8)
    for start in range(0, N, BLOCK):
        stop = min(start + BLOCK, N)
        _fill_block(count[start:stop], spikes, start, stop, paper, row)
    _store_fence()


@njit(cache=True, error_model="numpy")
def _dense_kernel(currents, Lpc, denominators, theta, psi, spikes, paper):  # pragma: no cover
    T, N = currents.shape
    H = np.empty(N, dtype=currents.dtype)
    for x in range(T):
        H[:] = 0
        for t in range(T):
            w = Lpc[x, t]
            for n in range(N):
                H[n] += w * currents[t, n]
        row = spikes[x] if paper else spikes[T - 1 - x]
        for n in range(N):
            row[n] = H[n] + psi[n] / denominators[x] >= theta[n]
    return _total_kernel(currents)  # only for the finiteness check


@njit(cache=True, error_model="numpy")
def _hadamard_kernel(currents, denominators, theta, psi, spikes, paper):  # pragma: no cover
    """Rank-1 firing, block by block: sum the block's T rows, count, write its T spike rows.

    ``theta`` and ``psi`` hold one value per neuron, or the same value ``BLOCK`` times
    for every block (:func:`refsnn._checks.block_param`). For T < 256 the counts are
    compared as bytes (exact: counts are 0..T), 32 neurons per instruction rather than
    8 as floats. Returns 0.0, or infinity if a total Σ is NaN or infinite (as it is after
    a NaN or infinite current): the state the public function checks.
    """
    T, N = currents.shape
    per_neuron = theta.size == N and psi.size == N
    total = np.empty(min(BLOCK, N), dtype=currents.dtype)
    count = np.empty(min(BLOCK, N), dtype=currents.dtype)
    small = T < 256
    count_bytes = np.empty(min(BLOCK, N) if small else 0, dtype=np.uint8)
    row = np.empty(min(BLOCK, N), dtype=np.uint8)
    bad = False
    for start in range(0, N, BLOCK):
        stop = min(start + BLOCK, N)
        t, c = total[:stop - start], count[:stop - start]
        _total_block(currents, start, stop, t)
        first = start if per_neuron else 0  # a block of copies is read from its start
        _count_block(t, psi[first:first + stop - start], theta[first:first + stop - start], denominators, c)
        for j in range(stop - start):  # x − x is NaN exactly when x is NaN or infinite
            bad |= (t[j] - t[j]) != 0
        if small:
            b = count_bytes[:stop - start]
            for j in range(stop - start):
                b[j] = np.uint8(c[j])
            _fill_block(b, spikes, start, stop, paper, row)
        else:
            _fill_block(c, spikes, start, stop, paper, row)
    _store_fence()
    return np.inf if bad else 0.0


@njit(cache=True, error_model="numpy")
def collapsed_kernel(total, theta, psi, theta_post, Tf, counts, out):  # pragma: no cover
    """Counts and summed outputs of a parallel layer from summed float32 currents.

    ``total`` has shape (B, C, S) (S = 1 after a Linear layer); ``theta``, ``psi`` and
    ``theta_post`` are the layer's float64 parameters of shape (C,) or (1,), rounded to
    float32 here as ``astype(np.float32)`` would. counts = #{x : (Σ + ψ)/(T − x + 1) >= θ}
    by the predicate of every parallel kernel (:func:`_firing_count`), and
    out = θ_post·counts in float32: what ``ParallelNeurons.counts_from_total`` followed
    by ``(counts * theta_post).astype(np.float32)`` gives; ``counts`` may be empty (shape
    (0, 0, 0)) when only ``out`` is wanted. Used by the collapsed mode of
    :class:`refsnn.networks.spiking.SpikingNetwork`; it lives here, beside ``_firing_count``, because
    Numba's cache only notices edits to the file that defines a kernel. Returns 0.0, or
    infinity if some Σ is NaN or infinite (then ``counts`` and ``out`` are not meaningful):
    the caller's finiteness check, without a separate pass.
    """
    B, C, S = total.shape
    one = np.float32(1)
    write_counts = counts.size > 0  # an empty ``counts``: the caller needs only ``out``
    bad = False
    for c in range(C):  # a parameter of shape (1,) applies to every channel
        h = np.float32(theta[min(c, theta.size - 1)])
        shift = np.float32(psi[min(c, psi.size - 1)])
        a = np.float32(theta_post[min(c, theta_post.size - 1)])
        for b in range(B):
            for i in range(S):
                x = total[b, c, i]
                bad |= (x - x) != 0  # x − x is NaN exactly when x is NaN or infinite
                k = _firing_count(x + shift, h, Tf, one)
                if write_counts:
                    counts[b, c, i] = np.int64(k)
                out[b, c, i] = k * a
    return np.inf if bad else 0.0


@njit(cache=True, error_model="numpy")
def _first_step_from_total(total, T, theta, psi, first, comparisons):  # pragma: no cover
    for n in range(total.size):
        s = total[n] + psi[n]
        lo, hi, k = 1, T + 1, 0
        while lo < hi:
            mid = (lo + hi) // 2
            k += 1
            if s / total.dtype.type(T - mid + 1) >= theta[n]:  # H_mid >= θ; no array of T steps
                hi = mid
            else:
                lo = mid + 1
        first[n] = lo
        comparisons[n] = k


@njit(cache=True)
def _first_step_kernel(currents, theta, psi, first, comparisons):  # pragma: no cover
    total = _total_kernel(currents)
    _first_step_from_total(total, currents.shape[0], theta, psi, first, comparisons)
    return total
