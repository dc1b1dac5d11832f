"""Hypothesis strategies that keep floating-point arithmetic exact, and exact oracles.

They are defined in :mod:`refsnn._strategies`, where ``refsnn verify``
(:mod:`refsnn.claims`) uses them too; the tests import them from this module.
"""

from refsnn._strategies import (  # noqa: F401 (re-exported for the tests)
    GRID,
    dtypes,
    dyadic_currents,
    dyadic_currents_with_mean,
    exact_count,
    exact_level,
    neurons,
    steps,
    thresholds,
)
