"""How many threads refsnn runs on: one by default, more when asked for.

refsnn's networks spend their time in many small matrix products: a convolution is
im2col and one product per block of images, and the layers of the demo's CNN multiply
matrices of a few hundred rows. NumPy's BLAS (OpenBLAS) splits every product over all
cores by default. For products this small the split gains little on idle cores, and on a
machine whose other cores are busy each product waits for a thread that is not running,
which can make a program many times slower than on one thread. So the policy is:

* 1 thread for Numba's parallel kernels and for refsnn's own block loops, unless asked
  otherwise; NumPy's BLAS always runs on 1 thread (below);
* the environment variable ``REFSNN_THREADS`` (an integer in 1..cores) raises it, and so
  does ``--threads N`` on the command line, which takes precedence;
* :func:`use_threads` applies the setting to the whole process (the ``refsnn`` command
  line calls it before any work; each tutorial calls it in its first lines);
* :func:`thread_setting` describes the setting in force in one short phrase, printed
  next to every timing.

With more threads, refsnn's layers cut their own loops into runs, one per thread
(:func:`split`, :func:`run_split`, :func:`run_ranges`): a convolution's blocks of
images, BatchNorm's channels, QCFS's values. Each run computes what one thread would,
with a one-thread BLAS, so those passes give the same bits on any number of threads.
The products that stay whole (of linear layers, and of small training batches) split
their rows, or their columns when they have few rows, between the threads
(:func:`matmul`), each part on the one-thread BLAS, and round as a product of that part
rounds. Inference goes one level up: each thread runs the whole network on its own run
of the batch's samples (:mod:`refsnn.networks.sample_runs`), equal to one thread to
float rounding. The BLAS keeps one thread even then: OpenBLAS's own threads wait for
work by spinning for a while after every product they share, on the cores that
refsnn's threads need.

:func:`use_threads` limits the BLAS libraries already loaded (NumPy's is loaded with
refsnn) through threadpoolctl, and sets ``OPENBLAS_NUM_THREADS`` for the ones loaded
later (SciPy's own OpenBLAS, which Numba loads on its first compilation) and for child
processes. Nothing here compiles: Numba loads its threading layer on the first
:func:`use_threads`.
"""

import concurrent.futures
import contextlib
import numbers
import os
import threading

import numba
import numpy as np
from threadpoolctl import ThreadpoolController, threadpool_info, threadpool_limits

__all__ = ["ENV_VAR", "DEFAULT_THREADS", "max_threads", "check_threads", "default_threads", "use_threads",
           "limit_threads", "thread_setting", "workers", "split", "run_split", "run_ranges", "matmul", "GRAIN",
           "SUM_GRAIN", "MATMUL_GRAIN"]

#: The environment variable that raises the default.
ENV_VAR = "REFSNN_THREADS"
#: Threads when neither ``--threads`` nor ``REFSNN_THREADS`` says otherwise.
DEFAULT_THREADS = 1

#: Fewest values per thread in :func:`run_ranges`: a smaller pass runs on one thread.
#: Handing a part to another thread and waiting for it costs about 0.1–0.5 ms on this
#: project's virtual machine, as long as a pass over a million float32 values in the
#: cache; an elementwise pass over more values than the caches hold is limited by the
#: memory bandwidth the cores share, so it gains less than the second core.
GRAIN = 2**21
#: :func:`run_ranges`'s grain for passes that sum in float64 chains (BatchNorm while
#: training), whose cost per value is several times a copy's.
SUM_GRAIN = 2**17

#: Fewest multiply-adds per thread in :func:`matmul`: a smaller product runs on one
#: thread (about 0.1 ms of products, the cost of a hand-off).
MATMUL_GRAIN = 2**22

#: The BLAS limit set by :func:`use_threads`, kept for the life of the process.
_in_force = None
#: refsnn's own worker threads (:func:`run_split`): the setting in force.
_workers = DEFAULT_THREADS
#: The pool that runs all parts but the first of a :func:`run_split`, and the BLAS
#: libraries it sets to one thread meanwhile (both made on first use).
_pool, _blas = None, None
_pool_lock = threading.Lock()
#: Set on a thread while it runs a part of a :func:`run_split`.
_inside = threading.local()


def max_threads():
    """The most threads a setting may ask for: Numba's thread count, the usable cores
    unless ``NUMBA_NUM_THREADS`` says fewer."""
    return numba.config.NUMBA_NUM_THREADS


def check_threads(threads, name="threads"):
    """``threads`` as an ``int`` in 1..:func:`max_threads`; TypeError or ValueError naming ``name``."""
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral):
        raise TypeError(f"{name} must be an integer in 1..{max_threads()} (the cores), got {threads!r}")
    if not 1 <= threads <= max_threads():
        raise ValueError(f"{name} must be an integer in 1..{max_threads()} (the cores), got {threads}")
    return int(threads)


def default_threads(environ=None):
    """``REFSNN_THREADS`` from ``environ`` (default ``os.environ``) if it is set, else 1.

    A value that is not an integer in 1..cores raises ValueError naming ``REFSNN_THREADS``.
    """
    text = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
    if not text:
        return DEFAULT_THREADS
    try:
        threads = int(text)
    except ValueError:
        raise ValueError(f"{ENV_VAR} must be an integer in 1..{max_threads()} (the cores), got {text!r}") from None
    return check_threads(threads, ENV_VAR)


def use_threads(threads=None):
    """Run Numba's parallel kernels and refsnn's own splits on ``threads`` threads from
    now on, and NumPy's BLAS on one (module docstring).

    Parameters
    ----------
    threads : int, optional
        1..cores; default :func:`default_threads` (``REFSNN_THREADS``, else 1).

    Returns
    -------
    int
        The number of threads applied.
    """
    global _in_force, _workers, _blas
    threads = default_threads() if threads is None else check_threads(threads)
    os.environ["OPENBLAS_NUM_THREADS"] = "1"  # for an OpenBLAS loaded later, and for child processes
    _in_force = threadpool_limits(limits=1, user_api="blas")  # refsnn splits its own work (module docstring)
    numba.set_num_threads(threads)  # for the calling thread and the parallel regions it starts
    _workers, _blas = threads, None  # look for the BLAS libraries again: more may be loaded now
    return threads


@contextlib.contextmanager
def limit_threads(threads):
    """Run the body with ``threads`` threads (as :func:`use_threads`: the BLAS on one), then
    restore the previous setting. ``threads=None`` changes nothing."""
    if threads is None:
        yield
        return
    global _workers
    threads = check_threads(threads)
    previous, previous_workers = numba.get_num_threads(), _workers
    numba.set_num_threads(threads)
    _workers = threads
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        numba.set_num_threads(previous)
        _workers = previous_workers


def thread_setting():
    """The setting in force as one short phrase, e.g. ``"1 thread (BLAS: openblas 1, Numba 1)"``.

    The leading count is the most threads any of these pools may use; the BLAS libraries
    loaded in the process are listed with their counts (once each when they agree, as
    NumPy's and SciPy's OpenBLAS do).
    """
    blas = [(info["internal_api"], info["num_threads"]) for info in threadpool_info() if info["user_api"] == "blas"]
    numba_threads = numba.get_num_threads()
    most = max([n for _, n in blas] + [numba_threads])
    libraries = ", ".join(dict.fromkeys(f"{name} {n}" for name, n in blas)) or "none found"
    return f"{most} thread{'s' if most > 1 else ''} (BLAS: {libraries}, Numba {numba_threads})"


def workers():
    """How many threads :func:`run_split` runs on: the setting in force (1 by default)."""
    return _workers


def split(items, parts=None):
    """``items`` (a sequence) cut into at most ``parts`` (default :func:`workers`)
    contiguous runs of about equal length, none empty, in order."""
    parts = min(workers() if parts is None else parts, len(items))
    if parts <= 1:
        return [items]
    bounds = [round(k * len(items) / parts) for k in range(parts + 1)]
    return [items[lo:hi] for lo, hi in zip(bounds, bounds[1:])]


def run_split(work, parts):
    """``work(part)`` for every part of ``parts`` (from :func:`split`), at the same time,
    each on its own thread, the first on the calling thread; returns when all are done,
    re-raising the first error.

    This is how refsnn uses more than one core for the block loops of its layers: the
    parts are independent (each writes its own slice of the output, with its own
    scratch), and each part runs the same block products as one thread would, so the
    result is the same bit for bit. Meanwhile the BLAS runs on one thread per caller, so
    that the parts' products don't compete for the BLAS's own threads. The work must
    release the GIL for most of its time (NumPy's products and ``nogil`` Numba kernels
    do) to run in parallel.
    """
    if len(parts) <= 1 or getattr(_inside, "split", False):  # a part's own split runs in line
        for part in parts:
            work(part)
        return
    pool, blas = _pool_and_blas()
    previous = [library.num_threads for library in blas]
    for library in blas:
        library.set_num_threads(1)
    _inside.split = True
    try:
        futures = [pool.submit(_as_part, work, part) for part in parts[1:]]
        try:
            work(parts[0])
        finally:
            concurrent.futures.wait(futures)
        for future in futures:
            future.result()
    finally:
        _inside.split = False
        for library, n in zip(blas, previous):
            library.set_num_threads(n)


def _as_part(work, part):
    _inside.split = True
    return work(part)


def run_ranges(work, n, values_per_item=1, grain=None):
    """``work(lo, hi)`` over contiguous ranges that cover 0..n, one range per thread (at
    most :func:`workers`, each with at least ``grain`` values, default :data:`GRAIN`, when
    an item holds ``values_per_item`` values), through :func:`run_split`; ``work(0, n)``
    on one thread.

    For passes whose items are independent (the elements of an elementwise map, the
    channels of a BatchNorm): each range gives the bits it gives in one pass. A pass that
    does more arithmetic per value than a copy pays for a thread from fewer values: give
    it a smaller ``grain``.
    """
    grain = GRAIN if grain is None else grain
    parts = max(1, min(workers(), n, (n * values_per_item) // grain))
    run_split(lambda items: work(items.start, items.stop), split(range(n), parts))


def matmul(a, b, out=None):
    """The product a @ b of 2-D a (M, K) and b (K, N), into ``out`` (M, N) if given.

    With more than one thread in force and at least :data:`MATMUL_GRAIN` multiply-adds
    per thread, the rows of a (or, when a has fewer rows than b has columns, the columns
    of b) are cut into one run per thread (:func:`run_split`), each multiplied on the
    one-thread BLAS; otherwise one ``np.matmul``. A part rounds as the BLAS rounds a
    product of its size, which may differ in the last bit from the whole product (as
    when the BLAS splits a product between its own threads).
    """
    M, K = a.shape
    N = b.shape[1]
    if out is None:
        out = np.empty((M, N), dtype=np.result_type(a, b))
    by_rows = M >= N
    parts = max(1, min(workers(), (M * N * K) // MATMUL_GRAIN, M if by_rows else N))
    if parts == 1:
        return np.matmul(a, b, out=out)
    if by_rows:
        run_split(lambda rows: np.matmul(a[rows.start:rows.stop], b, out=out[rows.start:rows.stop]),
                  split(range(M), parts))
    else:  # a column block of out is strided: its product goes through a contiguous part of its own
        def columns(cols):
            out[:, cols.start:cols.stop] = a @ b[:, cols.start:cols.stop]

        run_split(columns, split(range(N), parts))
    return out


def _pool_and_blas():
    """The worker pool (max_threads() − 1 threads) and the BLAS libraries loaded now."""
    global _pool, _blas
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(max(1, max_threads() - 1),
                                                          thread_name_prefix="refsnn-worker")
        if _blas is None:
            _blas = ThreadpoolController().select(user_api="blas").lib_controllers
        return _pool, _blas
