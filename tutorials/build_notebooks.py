"""Build Jupyter notebooks from the tutorials' jupytext percent-format sources.

Usage, from the repository root::

    pip install ".[notebooks]"
    python tutorials/build_notebooks.py             # tutorials/NN_*.ipynb, not executed
    python tutorials/build_notebooks.py --execute   # also run them (in tutorials/)
    python tutorials/build_notebooks.py --markdown  # run them and render NN_*.md

The ``.py`` files are the sources; notebooks are build products (not committed) and can
be regenerated at any time. The rendered ``NN_*.md`` files, with the printed outputs and
the figures, are committed so that GitHub shows each tutorial as a readable page;
``tests/test_notebooks.py`` checks that their code still matches the sources.
"""

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def render_markdown(notebook):
    """Render an executed notebook as ``NN_*.md`` next to it, outputs included."""
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "markdown", str(notebook)],
                   cwd=HERE, check=True)
    return notebook.with_suffix(".md")


def build(execute=False):
    """Convert every ``tutorials/[0-9]*.py`` to ``.ipynb``; return the notebook paths."""
    try:
        import jupytext
    except ImportError:
        sys.exit("build_notebooks needs jupytext: pip install jupytext nbconvert ipykernel")
    written = []
    for source in sorted(HERE.glob("[0-9]*.py")):
        target = source.with_suffix(".ipynb")
        jupytext.write(jupytext.read(source), target)
        if execute:
            subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                            "--inplace", str(target)], cwd=HERE, check=True)
        written.append(target)
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--execute", action="store_true", help="also execute the notebooks")
    parser.add_argument("--markdown", action="store_true", help="execute and render NN_*.md")
    args = parser.parse_args()
    for path in build(args.execute or args.markdown):
        print(render_markdown(path) if args.markdown else path)
