"""How many threads refsnn runs on: one by default, more when asked for.

refsnn's networks spend their time in many small matrix products: a convolution is
im2col and one product per block of images, and the layers of the demo's CNN multiply
matrices of a few hundred rows. NumPy's BLAS (OpenBLAS) splits every product over all
cores by default. For products this small the split gains little on idle cores, and on a
machine whose other cores are busy each product waits for a thread that is not running,
which can make a program many times slower than on one thread. So the policy is:

* 1 thread for NumPy's BLAS and for Numba's parallel kernels, unless asked otherwise;
* the environment variable ``REFSNN_THREADS`` (an integer in 1..cores) raises it, and so
  does ``--threads N`` on the command line, which takes precedence;
* :func:`use_threads` applies the setting to the whole process (the ``refsnn`` command
  line calls it before any work; each tutorial calls it in its first lines);
* :func:`thread_setting` describes the setting in force in one short phrase, printed
  next to every timing.

:func:`use_threads` limits the BLAS libraries already loaded (NumPy's is loaded with
refsnn) through threadpoolctl, and sets ``OPENBLAS_NUM_THREADS`` for the ones loaded
later (SciPy's own OpenBLAS, which Numba loads on its first compilation) and for child
processes. Nothing here compiles: Numba loads its threading layer on the first
:func:`use_threads`.
"""

import contextlib
import numbers
import os

import numba
from threadpoolctl import threadpool_info, threadpool_limits

__all__ = ["ENV_VAR", "DEFAULT_THREADS", "max_threads", "check_threads", "default_threads", "use_threads",
           "limit_threads", "thread_setting"]

#: The environment variable that raises the default.
ENV_VAR = "REFSNN_THREADS"
#: Threads when neither ``--threads`` nor ``REFSNN_THREADS`` says otherwise.
DEFAULT_THREADS = 1

#: The BLAS limit set by :func:`use_threads`, kept for the life of the process.
_in_force = None


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
    """Run NumPy's BLAS and Numba's parallel kernels on ``threads`` threads from now on.

    Parameters
    ----------
    threads : int, optional
        1..cores; default :func:`default_threads` (``REFSNN_THREADS``, else 1).

    Returns
    -------
    int
        The number of threads applied.
    """
    global _in_force
    threads = default_threads() if threads is None else check_threads(threads)
    os.environ["OPENBLAS_NUM_THREADS"] = str(threads)  # for an OpenBLAS loaded later, and for child processes
    _in_force = threadpool_limits(limits=threads, user_api="blas")
    numba.set_num_threads(threads)  # for the calling thread and the parallel regions it starts
    return threads


@contextlib.contextmanager
def limit_threads(threads):
    """Run the body with ``threads`` threads (as :func:`use_threads`), then restore the
    previous setting. ``threads=None`` changes nothing."""
    if threads is None:
        yield
        return
    threads = check_threads(threads)
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads, user_api="blas"):
            yield
    finally:
        numba.set_num_threads(previous)


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
