"""Figures in notebooks: shown inline in the cell that computes them, left out of the
rendered pages (which show the committed PNGs), and written only under
``tutorials/output/`` unless the committed set is rendered on purpose.

One mechanism, :func:`refsnn.programs.figures.show_figure`: every figure cell of the
tutorials ends with it, it saves the PNG and, inside a Jupyter kernel, displays it; the
render ``tutorials/build_notebooks.py --markdown`` drops those image outputs and copies
the figures the pages link into ``figures/tutorials/`` (the timing figures only with
``--timings``). Tutorials find their repository from their file or the working directory
(:func:`refsnn.programs.figures.repository_root`), so a cell run from the repository root
writes nothing there.
"""

import importlib.util
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from refsnn.plotting import explorers  # noqa: E402
from refsnn.programs import figures  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
HERE = REPO / "tutorials"
TUTORIALS = sorted(HERE.glob("[0-9]*.py"))
SOURCES = TUTORIALS + sorted((HERE / "solutions").glob("[0-9]*.py"))
SHOWN = re.compile(r'^show_figure\(fig, FIGURES / "([^"]+)"\)$', re.M)


@pytest.fixture(scope="module")
def build():
    """``tutorials/build_notebooks.py`` as a module (it is a script, not in the package)."""
    spec = importlib.util.spec_from_file_location("build_notebooks", HERE / "build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_every_figure_cell_shows_its_figure(path, build):
    """Each figure a page links is shown by show_figure, in the same order, and no figure
    is saved any other way (a savefig would be invisible in a notebook)."""
    text = path.read_text(encoding="utf-8")
    assert "savefig" not in text and "plt.close" not in text, f"{path.name}: use show_figure(fig, FIGURES / name)"
    assert SHOWN.findall(text) == build.EMBEDDED.findall(text), path.name


def test_show_figure_saves_closes_and_displays_only_in_a_kernel(tmp_path, monkeypatch):
    """A plain run writes the PNG and displays nothing; in a kernel the same PNG's bytes
    are displayed once, as an image."""
    IPython_display = pytest.importorskip("IPython.display")
    shown = []
    monkeypatch.setattr(IPython_display, "display", lambda obj: shown.append(obj))
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    assert not explorers.in_notebook()  # pytest is not a Jupyter kernel
    figures.show_figure(fig, tmp_path / "plain.png")
    assert (tmp_path / "plain.png").is_file() and shown == [] and not plt.fignum_exists(fig.number)

    monkeypatch.setattr(explorers, "in_notebook", lambda: True)
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    figures.show_figure(fig, tmp_path / "inline.png")
    assert len(shown) == 1 and isinstance(shown[0], IPython_display.Image)
    assert shown[0].data == (tmp_path / "inline.png").read_bytes()
    assert not plt.fignum_exists(fig.number)


def test_in_notebook_recognises_a_kernel_shell(monkeypatch):
    """Only a Jupyter kernel's shell (ZMQInteractiveShell) counts, not a terminal IPython."""
    class ZMQInteractiveShell:
        pass

    class TerminalInteractiveShell:
        pass

    for shell, expected in ((ZMQInteractiveShell(), True), (TerminalInteractiveShell(), False), (None, False)):
        fake = type(sys)("IPython")
        fake.get_ipython = lambda shell=shell: shell
        monkeypatch.setitem(sys.modules, "IPython", fake)
        assert explorers.in_notebook() is expected, type(shell).__name__


def test_executing_a_notebook_shows_inline_and_the_page_keeps_the_committed_link(tmp_path, monkeypatch, build):
    """Build and execute one small notebook through build(): its figure cell carries one
    image/png output and its explorer cell no widget, the PNG lands in the given output
    folder (not figures/tutorials/), and the rendered page has the printed output and the
    committed link, no image."""
    for module in ("jupytext", "nbconvert", "ipykernel"):
        pytest.importorskip(module)
    nbformat = pytest.importorskip("nbformat")
    source = tmp_path / "tutorials" / "01_tiny.py"
    source.parent.mkdir()
    source.write_text(
        "# %%\nimport matplotlib.pyplot as plt\n"
        "from refsnn.programs.figures import show_figure, tutorial_figures_dir\n\n"
        "FIGURES = tutorial_figures_dir()\n\n"
        "# %%\nfig, ax = plt.subplots()\nax.plot([0, 1])\nprint('drawn')\n"
        'show_figure(fig, FIGURES / "01_membrane.png")\n\n'
        "# %% [markdown]\n# ![a line](../figures/tutorials/01_membrane.png)\n\n"
        "# %%\nfrom refsnn.plotting.explorers import leaky_explorer, live\n\nlive(leaky_explorer)\n",
        encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the kernel imports this checkout's refsnn
    committed_before = {p.name: p.read_bytes() for p in (REPO / "figures" / "tutorials").iterdir()}
    [notebook] = build.build(execute=True, paths=[source], output=tmp_path / "output")
    cells = [cell for cell in nbformat.read(notebook, as_version=4).cells if cell.cell_type == "code"]
    assert sum("image/png" in out.get("data", {}) for out in cells[1].outputs) == 1
    assert cells[2].outputs == []  # an executed build builds no explorer widget
    assert (tmp_path / "output" / "01_membrane.png").is_file()
    assert {p.name: p.read_bytes() for p in (REPO / "figures" / "tutorials").iterdir()} == committed_before

    page = build.render_markdown(notebook).read_text(encoding="utf-8")
    assert "drawn" in page and "![a line](../figures/tutorials/01_membrane.png)" in page
    assert page.count("![") == 1 and not (tmp_path / "tutorials" / "01_tiny_files").exists()
    assert "live(leaky_explorer)" in page and "interactive(" not in page  # the code, not the widget


def test_the_render_drops_image_outputs_only(build):
    nbformat = pytest.importorskip("nbformat")
    cell = nbformat.v4.new_code_cell("show_figure(fig, path)")
    cell.outputs = [nbformat.v4.new_output("stream", text="printed\n"),
                    nbformat.v4.new_output("display_data", data={"image/png": "iVBO", "text/plain": "<Image>"}),
                    nbformat.v4.new_output("execute_result", data={"text/plain": "42"}, execution_count=1)]
    notebook = build.without_inline_figures(nbformat.v4.new_notebook(cells=[cell]))
    assert [out.output_type for out in notebook.cells[0].outputs] == ["stream", "execute_result"]


def test_only_the_render_writes_the_committed_set(build):
    """Executing writes into tutorials/output/ (gitignored); figures/tutorials/ is written
    only by commit_figures, the step --markdown adds."""
    assert build.OUTPUT == HERE / "output"
    assert "tutorials/output/" in (REPO / ".gitignore").read_text(encoding="utf-8").split()
    assert build.build.__defaults__[-1] == build.OUTPUT
    assert build.execution_env()["REFSNN_TUTORIAL_FIGURES"] == str(HERE / "output")
    assert build.execution_env()["REFSNN_EXPLORERS"] == "0"
    assert build.COMMITTED_FIGURES == REPO / "figures" / "tutorials"


def test_timing_figures_are_committed_only_with_timings(tmp_path, build):
    speed = HERE / "07_speed.py"
    linked = build.EMBEDDED.findall(speed.read_text(encoding="utf-8"))
    assert set(build.TIMING_FIGURES) <= set(linked)
    output, committed = tmp_path / "output", tmp_path / "committed"
    output.mkdir()
    committed.mkdir()
    for name in linked:
        (output / name).write_bytes(name.encode())
    assert build.commit_figures([speed], output=output, committed=committed) == []
    assert not any(committed.iterdir())
    written = build.commit_figures([speed], timings=True, output=output, committed=committed)
    assert sorted(p.name for p in written) == sorted(linked)
    assert (committed / linked[0]).read_bytes() == linked[0].encode()


@pytest.mark.parametrize("path", SOURCES, ids=[f"{p.parent.name}/{p.stem}" for p in SOURCES])
@pytest.mark.parametrize("cwd", ["root", "tutorials", "solutions"])
def test_paths_resolve_from_any_working_directory(path, cwd, monkeypatch):
    """A tutorial's or solution's FIGURES and REPO lines, run without __file__ (a notebook,
    IPython, exec from the repository root), name tutorials/output/ and the repository."""
    text = path.read_text(encoding="utf-8")
    assert text.count("__file__") == text.count('globals().get("__file__")'), (
        f"{path.name}: find paths with repository_root/tutorial_figures_dir, not from __file__ by hand")
    lines = [line for line in text.splitlines()
             if line.startswith(("from refsnn.programs.figures import", "FIGURES = ", "REPO = "))]
    monkeypatch.delenv("REFSNN_TUTORIAL_FIGURES", raising=False)
    monkeypatch.chdir({"root": REPO, "tutorials": HERE, "solutions": HERE / "solutions"}[cwd])
    namespace = {}
    exec("\n".join(lines), namespace)
    assert namespace.get("FIGURES", HERE / "output") == HERE / "output"
    assert namespace.get("REPO", REPO) == REPO
    assert not (REPO / "output").exists()
