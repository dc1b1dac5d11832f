"""Interleaved timing: the only fair way to compare on a shared, noisy machine.

Every round runs each contender once, in the same order, so a burst of load from another
process hits all of them alike; a comparison is the median over rounds of the ratio
measured within a round.
"""

import time

import numpy as np


def seconds(fn):
    """Wall-clock seconds of one call of ``fn()``."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(contenders, repeats, warmup=1):
    """Time ``contenders`` (a dict name → zero-argument callable) in interleaved rounds.

    Parameters
    ----------
    contenders : dict
    repeats : int
        Number of timed rounds; each round calls every contender once.
    warmup : int
        Untimed rounds first (Numba compilation, page faults, caches).

    Returns
    -------
    dict
        name → list of ``repeats`` times in seconds, round r at index r.
    """
    for _ in range(warmup):
        for fn in contenders.values():
            fn()
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            times[name].append(seconds(fn))
    return times


def median(values):
    return float(np.median(values))


def median_ratio(numerator, denominator):
    """Median over rounds of numerator[r] / denominator[r]."""
    return float(np.median(np.asarray(numerator) / np.asarray(denominator)))
