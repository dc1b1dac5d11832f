"""Every tutorial and every worked solution runs top to bottom, and every figure a
tutorial embeds is one it writes.

Tutorials are found by glob (``tutorials/[0-9]*.py``), and their solutions by
``tutorials/solutions/[0-9]*.py``, so new ones are picked up automatically. Each runs in a
temporary working directory with the Agg backend and with its figures redirected there
(``REFSNN_TUTORIAL_FIGURES``), so the repository is not touched; ``shared_cache`` and
``run_solution`` are in ``tests/conftest.py``. A tutorial's or a
solution's asserts are its checks: if it runs, its claims (and its answers) hold.

The exercises and their solutions are tied together: every tutorial ends with numbered
exercises, each links to its tutorial's solution page, and the solution file has one
``## Exercise k`` section per exercise, each of which asserts its answer or says that the
exercise is open-ended.
"""

import re
import runpy
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

HERE = Path(__file__).resolve().parents[1] / "tutorials"
TUTORIALS = sorted(HERE.glob("[0-9]*.py"))
SOLUTIONS = sorted((HERE / "solutions").glob("[0-9]*.py"))
EMBEDDED = re.compile(r"!\[[^\]]*\]\(\.\./figures/tutorials/([^)]+)\)")
#: Tutorials whose worked solutions are still being written: the exercise check skips
#: them until their ``tutorials/solutions/NN_*.py`` exists (then it applies in full).
SOLUTIONS_PENDING = set()


def run_source(path, tmp_path, monkeypatch, cache):
    """Run a tutorial or a solution as a script; return the folder its figures go to."""
    figures = tmp_path / "figures"
    monkeypatch.setenv("REFSNN_CACHE_DIR", str(cache))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("REFSNN_TUTORIAL_FIGURES", str(figures))
    monkeypatch.chdir(tmp_path)
    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        plt.close("all")
    return figures


def test_tutorials_are_found():
    assert len(TUTORIALS) >= 4


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs_and_writes_its_figures(path, tmp_path, monkeypatch, shared_cache):
    figures = run_source(path, tmp_path, monkeypatch, shared_cache)
    for name in EMBEDDED.findall(path.read_text(encoding="utf-8")):
        assert (figures / name).is_file(), f"{path.name} embeds {name} but does not write it"


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_embedded_figures_are_in_the_repository(path):
    """Each embedded figure exists under figures/tutorials/, so it shows on GitHub."""
    repo_figures = path.parents[1] / "figures" / "tutorials"
    for name in EMBEDDED.findall(path.read_text(encoding="utf-8")):
        assert (repo_figures / name).is_file(), f"run tutorials/{path.name} to write figures/tutorials/{name}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_solution_runs(path, run_solution):
    """A solution's asserts check its answers (``refsnn.homework.check`` among them); it
    writes no figure of its own. The run is shared with ``tests/test_homework.py``."""
    figures, _ = run_solution(path)
    assert not figures.exists() or not any(figures.iterdir()), f"{path.name} writes figures"


def exercises(tutorial):
    """The numbered items of a tutorial's final ``## Exercises`` section, as text."""
    text = tutorial.read_text(encoding="utf-8")
    assert "# ## Exercises\n" in text, f"{tutorial.name} has no '## Exercises' section"
    section = text.rsplit("# ## Exercises\n", 1)[1]
    return re.split(r"^# \d+\. ", section, flags=re.M)[1:]


def solution_sections(solution):
    """The ``## Exercise k`` sections of a solution file, as {k: text}."""
    parts = re.split(r"^# ## Exercise (\d+)\b.*$", solution.read_text(encoding="utf-8"), flags=re.M)
    return {int(k): body for k, body in zip(parts[1::2], parts[2::2])}


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_every_exercise_has_a_linked_solution(path):
    items = exercises(path)
    assert items, f"{path.name} has no exercises"
    prefix = path.stem.split("_")[0]
    matches = [s for s in SOLUTIONS if s.stem.split("_")[0] == prefix]
    if not matches and prefix in SOLUTIONS_PENDING:
        pytest.skip(f"solutions to {path.name} are still being written (SOLUTIONS_PENDING)")
    assert len(matches) == 1, f"{path.name} needs exactly one tutorials/solutions/{prefix}_*.py"
    solution = matches[0]
    link = f"(solutions/{solution.stem}.md"
    for k, item in enumerate(items, start=1):
        assert link in item, f"{path.name}, exercise {k}: no link to solutions/{solution.stem}.md"
    sections = solution_sections(solution)
    assert sorted(sections) == list(range(1, len(items) + 1)), (
        f"{solution.name} has sections {sorted(sections)} for {len(items)} exercises")
    for k, body in sections.items():
        assert re.search(r"^\s*assert\b", body, flags=re.M) or "open-ended" in body, (
            f"{solution.name}, exercise {k}: neither asserts its answer nor says it is open-ended")


def test_every_solution_belongs_to_a_tutorial():
    prefixes = {p.stem.split("_")[0] for p in TUTORIALS}
    for solution in SOLUTIONS:
        assert solution.stem.split("_")[0] in prefixes, f"{solution.name} has no tutorial"
