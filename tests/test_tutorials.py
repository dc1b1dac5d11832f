"""Every tutorial runs top to bottom, and every figure it embeds is one it writes.

Tutorials are found by glob (``tutorials/[0-9]*.py``), so new ones are picked up
automatically. Each runs in a temporary working directory with the Agg backend and with
its figures redirected there (``REFSNN_TUTORIAL_FIGURES``), so the repository is not
touched. A tutorial's asserts are its checks: if it runs, its claims hold.
"""

import re
import runpy
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

TUTORIALS = sorted((Path(__file__).resolve().parents[1] / "tutorials").glob("[0-9]*.py"))
EMBEDDED = re.compile(r"!\[[^\]]*\]\(\.\./figures/tutorials/([^)]+)\)")


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory):
    """One cache of trained demo networks for all tutorials, outside the user's cache."""
    return tmp_path_factory.mktemp("refsnn-cache")


def test_tutorials_are_found():
    assert len(TUTORIALS) >= 4


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs_and_writes_its_figures(path, tmp_path, monkeypatch, shared_cache):
    figures = tmp_path / "figures"
    monkeypatch.setenv("REFSNN_CACHE_DIR", str(shared_cache))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("REFSNN_TUTORIAL_FIGURES", str(figures))
    monkeypatch.chdir(tmp_path)
    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        plt.close("all")
    for name in EMBEDDED.findall(path.read_text(encoding="utf-8")):
        assert (figures / name).is_file(), f"{path.name} embeds {name} but does not write it"


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_embedded_figures_are_in_the_repository(path):
    """Each embedded figure exists under figures/tutorials/, so it shows on GitHub."""
    repo_figures = path.parents[1] / "figures" / "tutorials"
    for name in EMBEDDED.findall(path.read_text(encoding="utf-8")):
        assert (repo_figures / name).is_file(), f"run tutorials/{path.name} to write figures/tutorials/{name}"
