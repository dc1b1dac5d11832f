"""Shared test settings: the Hypothesis profiles and the Agg backend for every test.

Profiles: ``ci`` is derandomized (same examples every run, so CI cannot flake) and is
selected by ``HYPOTHESIS_PROFILE=ci`` (``.ci/run`` sets it) or by ``CI`` being set.
``default`` explores more, with fresh random examples each run.
"""

import os

import matplotlib
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=100,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("default", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))
