"""Build Jupyter notebooks from the tutorials' and solutions' jupytext percent-format sources.

Usage, from the repository root::

    pip install ".[notebooks]"
    python tutorials/build_notebooks.py             # every notebook, not executed
    python tutorials/build_notebooks.py --execute   # also run them
    python tutorials/build_notebooks.py --markdown  # run them and render the .md pages

Executed notebooks, like tutorials run any other way, write their figures into
``tutorials/output/`` (not under version control) and show each one inline, in the cell
that computed it. Only ``--markdown`` renders the committed set: the pages leave the
inline images out and show, in the markdown after each figure cell, the committed PNG
``figures/tutorials/NN_*.png``, and the render copies the figures it just drew there. The
figures of measured run times (:data:`TIMING_FIGURES`) differ on every run and machine,
so they are copied only with ``--timings``. Building or executing leaves ``git status``
clean.

The sources are ``tutorials/NN_*.py`` and their worked solutions
``tutorials/solutions/NN_*.py``; by default all of them are built. Name source files to
build only those, e.g. ``python tutorials/build_notebooks.py --markdown
tutorials/solutions/*.py`` renders only the solution pages. Each notebook is written
next to its source, as ``NN_*.ipynb``, and runs in its source's folder.

The ``.py`` files are the sources; notebooks are build products (not committed) and can
be regenerated at any time. The rendered ``NN_*.md`` pages, with the printed outputs and
the figures, are committed so that GitHub shows each tutorial and each solution as a
readable page; ``tests/test_notebooks.py`` checks that their code still matches the
sources.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOLUTIONS = HERE / "solutions"
#: Where executed notebooks write their figures, as a tutorial run by hand does.
OUTPUT = HERE / "output"
#: The committed figures that the rendered pages show; only ``--markdown`` writes them.
COMMITTED_FIGURES = HERE.parent / "figures" / "tutorials"
#: Figures of measured run times: copied to the committed set only with ``--timings``.
TIMING_FIGURES = ("07_network_speed.png", "07_neuron_cost.png")
#: The link to a committed figure in a markdown cell; group 1 is the file name.
EMBEDDED = re.compile(r"!\[[^\]]*\]\(\.\./figures/tutorials/([^)]+)\)")


def sources():
    """Every source, in reading order: the tutorials, then their solutions."""
    return sorted(HERE.glob("[0-9]*.py")) + sorted(SOLUTIONS.glob("[0-9]*.py"))


def without_inline_figures(notebook):
    """The notebook (an ``nbformat`` node, changed in place) without its image outputs.

    A figure cell's inline image (:func:`refsnn.programs.figures.show_figure`) is left
    out of the page, where the markdown cell after it shows the committed PNG instead;
    printed outputs stay.
    """
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [out for out in cell.outputs if "image/png" not in out.get("data", {})]
    return notebook


def render_markdown(notebook):
    """Render an executed notebook as ``NN_*.md`` next to it, printed outputs included."""
    import nbformat
    from nbconvert import MarkdownExporter

    notebook = Path(notebook)
    page, _ = MarkdownExporter().from_notebook_node(without_inline_figures(nbformat.read(notebook, as_version=4)))
    notebook.with_suffix(".md").write_text(page, encoding="utf-8")
    return notebook.with_suffix(".md")


def commit_figures(paths, timings=False, output=OUTPUT, committed=COMMITTED_FIGURES):
    """Copy the figures that the sources ``paths`` link from ``output`` to ``committed``.

    Only the figures a page shows are copied, and the timing figures only if ``timings``.
    Return the paths written.
    """
    written = []
    for source in paths:
        for name in EMBEDDED.findall(Path(source).read_text(encoding="utf-8")):
            if name not in TIMING_FIGURES or timings:
                written.append(Path(shutil.copyfile(Path(output) / name, Path(committed) / name)))
    return written


def execution_env(output=OUTPUT):
    """The environment a notebook is executed in: its figures go to ``output``, and its
    explorer cells build no widget (:func:`refsnn.plotting.explorers.live`)."""
    return {**os.environ, "REFSNN_TUTORIAL_FIGURES": str(output), "REFSNN_EXPLORERS": "0"}


def build(execute=False, paths=None, output=OUTPUT):
    """Convert each source (by default :func:`sources`) to ``.ipynb``; return the notebook paths.

    With ``execute``, run each notebook in its source's folder, its figures going to ``output``.
    """
    try:
        import jupytext
    except ImportError:
        sys.exit("build_notebooks needs jupytext: pip install jupytext nbconvert ipykernel")
    written = []
    for source in ([Path(p).resolve() for p in paths] if paths else sources()):
        if source.suffix != ".py" or not source.is_file():
            sys.exit(f"not a source file: {source}")
        target = source.with_suffix(".ipynb")
        jupytext.write(jupytext.read(source), target)
        if execute:
            subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                            "--inplace", target.name], cwd=target.parent, check=True,
                           env=execution_env(output))
        written.append(target)
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="source files to build (default: all tutorials and solutions)")
    parser.add_argument("--execute", action="store_true", help="also execute the notebooks")
    parser.add_argument("--markdown", action="store_true",
                        help="execute, render the .md pages and copy their figures to figures/tutorials/")
    parser.add_argument("--timings", action="store_true",
                        help="with --markdown, also copy the figures of measured run times")
    args = parser.parse_args()
    if args.timings and not args.markdown:
        parser.error("--timings needs --markdown")
    notebooks = build(args.execute or args.markdown, args.paths)
    for path in notebooks:
        print(render_markdown(path) if args.markdown else path)
    if args.markdown:
        for path in commit_figures([notebook.with_suffix(".py") for notebook in notebooks], args.timings):
            print(path)
