"""Interleaved timing: the only fair way to compare on a shared, noisy machine.

Every round runs each contender once, in the same order, so a burst of load from another
process hits all of them alike; a comparison is the median over rounds of the ratio
measured within a round. A yardstick measured in every round (a memory copy, say) can be
slowed by the same burst, which inflates the ratios of that round; the best round of the
yardstick (:func:`best`) is the steadier reference, and the load average of each round
(:func:`interleaved_with_load`) says which rounds were disturbed.
"""

import os
import time

import numpy as np


def seconds(fn):
    """Wall-clock seconds of one call of ``fn()``."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def load_average():
    """The 1-minute load average of the machine (``os.getloadavg()[0]``), NaN where the
    operating system has none."""
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):  # Windows has no load average
        return float("nan")


def interleaved_with_load(contenders, repeats, warmup=1):
    """:func:`interleaved`, and the 1-minute load average at the start of every round.

    Returns
    -------
    times : dict
        name → list of ``repeats`` times in seconds, round r at index r.
    loads : list of float
        :func:`load_average` at the start of each timed round.
    """
    for _ in range(warmup):
        for fn in contenders.values():
            fn()
    times = {name: [] for name in contenders}
    loads = []
    for _ in range(repeats):
        loads.append(load_average())
        for name, fn in contenders.items():
            times[name].append(seconds(fn))
    return times, loads


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
    return interleaved_with_load(contenders, repeats, warmup)[0]


def median(values):
    return float(np.median(values))


def best(values):
    """The largest of ``values``: the round least disturbed by other load, for a rate."""
    return float(np.max(values))


def median_ratio(numerator, denominator):
    """Median over rounds of numerator[r] / denominator[r]."""
    return float(np.median(np.asarray(numerator) / np.asarray(denominator)))


def slow_rounds(rates, fraction):
    """Indices of the rounds whose rate is below ``fraction`` of the best round's."""
    top = best(rates)
    return [r for r, rate in enumerate(rates) if rate < fraction * top]
