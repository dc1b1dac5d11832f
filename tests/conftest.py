"""Shared test settings: the Hypothesis profiles and the Agg backend for every test.

Profiles: ``ci`` is derandomized (same examples every run, so CI cannot flake) and is
selected by ``HYPOTHESIS_PROFILE=ci`` (``.ci/run`` sets it) or by ``CI`` being set.
``default`` explores more, with fresh random examples each run.

``run_solution`` runs a tutorial's worked solution once per session and records the
answers it checks with ``refsnn.homework.check``: ``tests/test_tutorials.py`` (does it run?)
and ``tests/test_homework.py`` (do the checks accept those answers?) share the one run.
"""

import os
import runpy

import matplotlib
import pytest
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


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory):
    """One cache of trained demo networks for all tutorials, outside the user's cache."""
    return tmp_path_factory.mktemp("refsnn-cache")


@pytest.fixture(scope="session")
def run_solution(tmp_path_factory, shared_cache):
    """``run(path)`` runs a solution as a script, once per session, in a temporary folder
    with its figures redirected there; returns (figures folder, {exercise: answer} for every
    ``refsnn.homework.check`` it called). The checks still run: a wrong answer fails."""
    import matplotlib.pyplot as plt

    from refsnn import homework

    runs = {}

    def run(path):
        if path not in runs:
            folder, answers, real_check = tmp_path_factory.mktemp(path.stem), {}, homework.check

            def record(exercise, answer):
                answers[exercise] = answer
                return real_check(exercise, answer)

            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("REFSNN_CACHE_DIR", str(shared_cache))
                patch.setenv("MPLBACKEND", "Agg")
                patch.setenv("REFSNN_TUTORIAL_FIGURES", str(folder / "figures"))
                patch.chdir(folder)
                patch.setattr(homework, "check", record)
                try:
                    runpy.run_path(str(path), run_name="__main__")
                finally:
                    plt.close("all")
            runs[path] = folder / "figures", answers
        return runs[path]

    return run
