"""Build Jupyter notebooks from the tutorials' jupytext percent-format sources.

Usage, from the repository root::

    pip install jupytext nbconvert ipykernel
    python tutorials/build_notebooks.py            # tutorials/NN_*.ipynb, not executed
    python tutorials/build_notebooks.py --execute  # also run them (in tutorials/)

The ``.py`` files are the sources; the notebooks are build products and can be
regenerated at any time.
"""

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


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
    for path in build(parser.parse_args().execute):
        print(path)
