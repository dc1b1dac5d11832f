"""Build Jupyter notebooks from the tutorials' and solutions' jupytext percent-format sources.

Usage, from the repository root::

    pip install ".[notebooks]"
    python tutorials/build_notebooks.py             # every notebook, not executed
    python tutorials/build_notebooks.py --execute   # also run them
    python tutorials/build_notebooks.py --markdown  # run them and render the .md pages

Executed notebooks write their figures into ``figures/tutorials/`` (the committed set the
pages show); a tutorial run any other way writes them to ``tutorials/output/``.

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
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOLUTIONS = HERE / "solutions"
#: Where executed notebooks write their figures: the committed set that the rendered
#: pages show. A tutorial run by hand writes to ``tutorials/output/`` instead.
COMMITTED_FIGURES = HERE.parent / "figures" / "tutorials"


def sources():
    """Every source, in reading order: the tutorials, then their solutions."""
    return sorted(HERE.glob("[0-9]*.py")) + sorted(SOLUTIONS.glob("[0-9]*.py"))


def render_markdown(notebook):
    """Render an executed notebook as ``NN_*.md`` next to it, outputs included.

    A cell's printed lines arrive in several stream outputs when it pauses between prints;
    they are joined into one block, so the page shows no blank lines the program did not print.
    """
    notebook = Path(notebook)
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "markdown",
                    "--CoalesceStreamsPreprocessor.enabled=True", notebook.name],
                   cwd=notebook.parent, check=True)
    return notebook.with_suffix(".md")


def build(execute=False, paths=None):
    """Convert each source (by default :func:`sources`) to ``.ipynb``; return the notebook paths."""
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
                           env={**os.environ, "REFSNN_TUTORIAL_FIGURES": str(COMMITTED_FIGURES)})
        written.append(target)
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="source files to build (default: all tutorials and solutions)")
    parser.add_argument("--execute", action="store_true", help="also execute the notebooks")
    parser.add_argument("--markdown", action="store_true", help="execute and render the .md pages")
    args = parser.parse_args()
    for path in build(args.execute or args.markdown, args.paths):
        print(render_markdown(path) if args.markdown else path)
