"""Build Jupyter notebooks from the tutorials' and solutions' jupytext percent-format sources.

Usage, from the repository root::

    pip install ".[notebooks]"
    python tutorials/build_notebooks.py             # every notebook, not executed
    python tutorials/build_notebooks.py --execute   # also run them
    python tutorials/build_notebooks.py --markdown  # run them and render the .md pages
    python tutorials/build_notebooks.py --edition student     # homework: no solutions
    python tutorials/build_notebooks.py --edition instructor  # tutorials and solutions

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

Editions, for a course (``--edition``, with ``--execute`` if wanted): the **student**
edition, ``tutorials/student/NN_*.ipynb``, holds the tutorials without their links to the
worked solutions (each checkable exercise keeps its answer-check sentence, so students check
their answers with ``refsnn.homework.check``); the **instructor** edition,
``tutorials/instructor/``, holds the tutorials with those links and the solutions in
``tutorials/instructor/solutions/``. Both folders are build products (not committed); their
links point to the edition's own notebooks and, for everything else (figures, the notation
page), to the repository's files. An edition's notebooks execute in their sources'
folders, as the default build's do, and write their figures to the edition's ``output/``.
The default build (no ``--edition``) writes each notebook next to its source, as before:
the instructor edition's content, in place.
"""

import argparse
import os
import re
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


EDITIONS = ("student", "instructor")
#: A link to a worked solution at the end of an exercise, "([solution](solutions/…))".
SOLUTION_LINK = re.compile(r"[ \t]*\(\[solution\]\(solutions/[^)]*\)\)")
#: The sentence that opens a tutorial's exercises, "Worked solutions: [solutions/…](…)."
SOLUTIONS_SENTENCE = re.compile(r"Worked solutions: \[[^\]]*\]\(solutions/[^)]*\)\.[ \t]*")
#: A relative link target in markdown, "](path#anchor)".
RELATIVE_LINK = re.compile(r"\]\((?![a-z]+:|#|/)([^)\s#]+)(#[^)\s]*)?\)")


def student_text(text):
    """A tutorial's source without its links to the worked solutions; raises ValueError if
    anything else still points into ``solutions/``."""
    lines = []
    for line in text.splitlines(keepends=True):
        stripped = SOLUTIONS_SENTENCE.sub("", SOLUTION_LINK.sub("", line))
        if stripped != line and not stripped.lstrip("#").strip():
            continue  # the line held only the link
        lines.append(stripped)
    student = "".join(lines)
    for number, line in enumerate(student.splitlines(), start=1):
        if "solutions/" in line or "[solution]" in line:
            raise ValueError(f"line {number} still points to a solution: {line.strip()}")
    return student


def edition_path(source, edition):
    """Where ``edition`` writes the notebook of ``source``: the same layout as the sources,
    under ``tutorials/<edition>/``."""
    source = Path(source).resolve()
    return HERE / edition / source.relative_to(HERE).with_suffix(".ipynb")


def relink(text, source, edition, sources_in_edition):
    """Rewrite the relative links of ``source``'s text for its place in ``edition``: a page
    of the edition (``NN_*.md``) to its notebook, anything else to the repository's file."""
    source, target = Path(source).resolve(), edition_path(source, edition)

    def replace(match):
        linked = (source.parent / match[1]).resolve()
        if linked.suffix == ".md" and linked.with_suffix(".py") in sources_in_edition:
            linked = edition_path(linked.with_suffix(".py"), edition)
        return f"]({Path(os.path.relpath(linked, target.parent)).as_posix()}{match[2] or ''})"

    return RELATIVE_LINK.sub(replace, text)


def edition_sources(edition, paths=None):
    """The sources an edition holds: the tutorials, and for the instructor the solutions."""
    chosen = [Path(p).resolve() for p in paths] if paths else sources()
    if edition == "student":
        if paths and any(p.parent == SOLUTIONS for p in chosen):
            sys.exit("the student edition holds no solutions")
        chosen = [p for p in chosen if p.parent != SOLUTIONS]
    return chosen


def build_edition(edition, execute=False, paths=None):
    """Write ``edition``'s notebooks (:data:`EDITIONS`); return their paths."""
    try:
        import jupytext
    except ImportError:
        sys.exit("build_notebooks needs jupytext: pip install jupytext nbconvert ipykernel")
    chosen = edition_sources(edition, paths)
    written = []
    for source in chosen:
        if source.suffix != ".py" or not source.is_file():
            sys.exit(f"not a source file: {source}")
        text = source.read_text(encoding="utf-8")
        text = relink(student_text(text) if edition == "student" else text, source, edition, set(chosen))
        target = edition_path(source, edition)
        target.parent.mkdir(parents=True, exist_ok=True)
        jupytext.write(jupytext.reads(text, fmt="py:percent"), target)
        if execute:
            execute_in(target, source.parent, HERE / edition / "output")
        written.append(target)
    return written


def execute_in(notebook, folder, figures):
    """Execute ``notebook`` in place, its kernel working in ``folder`` (the source's), with
    its figures written to ``figures``."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    previous = os.environ.get("REFSNN_TUTORIAL_FIGURES")
    os.environ["REFSNN_TUTORIAL_FIGURES"] = str(figures)
    try:
        NotebookClient(nb, timeout=None, resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        if previous is None:
            os.environ.pop("REFSNN_TUTORIAL_FIGURES")
        else:
            os.environ["REFSNN_TUTORIAL_FIGURES"] = previous
    nbformat.write(nb, notebook)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="source files to build (default: all tutorials and solutions)")
    parser.add_argument("--execute", action="store_true", help="also execute the notebooks")
    parser.add_argument("--markdown", action="store_true", help="execute and render the .md pages")
    parser.add_argument("--edition", choices=EDITIONS,
                        help="build a course edition into tutorials/<edition>/: student (no solutions) "
                             "or instructor (tutorials and solutions)")
    args = parser.parse_args()
    if args.edition and args.markdown:
        parser.error("--markdown renders the committed pages; it does not combine with --edition")
    if args.edition:
        for path in build_edition(args.edition, args.execute, args.paths):
            print(path)
    else:
        for path in build(args.execute or args.markdown, args.paths):
            print(render_markdown(path) if args.markdown else path)
