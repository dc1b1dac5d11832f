"""References that cannot drift: every repository path named in a docstring, a comment or a
page exists, and every package docstring names each of its modules.

A reader follows these pointers ("see ``tests/test_twins.py``", "``neurons/matrices.py``",
"![…](../figures/tutorials/03_staircase.png)"); a pointer to a file that was renamed or
never written sends them nowhere. Paths are recognised by their first folder (one of the
repository's own: ``refsnn``, ``tests``, ``tutorials``, ``figures``, or a subpackage of
``refsnn``) and their file ending; a path starting with ``./`` or ``../`` is resolved from
the file that names it. Build products (notebooks, ``tutorials/output/``) and the authors'
repository (``models/…``, their ``modules.py``) are not paths of this repository.
"""

import ast
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "refsnn"
SUBPACKAGES = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
TOP = ("refsnn", "tests", "tutorials", "figures")
ENDINGS = ("py", "md", "png", "json", "npz", "csv", "gz", "toml", "txt", "svg", "pdf")
#: A path: an optional ./ or ../ prefix, a first folder of this repository, then folders
#: and a file with one of the endings above; a trailing ":123" line number is dropped.
PATH = re.compile(
    r"(?<![\w/.-])((?:\.\.?/)*(?:%s)/[\w./-]*\.(?:%s))(?![\w])"
    % ("|".join(TOP + tuple(SUBPACKAGES)), "|".join(ENDINGS))
)
#: Build products that exist only after a build or a run.
GENERATED = ("tutorials/output/", ".ipynb")


def tracked_files():
    """The repository's files that a reader reads: sources, tests, pages."""
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:  # not a git checkout (an unpacked sdist): walk the folders
        names = [str(p.relative_to(ROOT)) for top in TOP for p in (ROOT / top).rglob("*") if p.is_file()]
        names.append("README.md")
    else:
        names = out.stdout.split()
    return sorted(ROOT / n for n in names if n.endswith((".py", ".md", ".toml")) and (ROOT / n).exists())


def named_paths(path):
    """(line number, path as written) for every repository path named in the file."""
    text = path.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), 1):
        if "://" in line:  # a URL names another site's paths
            line = re.sub(r"\S+://\S+", "", line)
        for match in PATH.finditer(line):
            yield number, match.group(1).rstrip(".")


def resolves(source, named):
    """Whether ``named`` (written in ``source``) is a file or folder of the repository."""
    if any(mark in named for mark in GENERATED):
        return True
    if named.startswith(("./", "../")):
        candidates = [source.parent / named]
    else:
        candidates = [ROOT / named, PACKAGE / named]
    return any(c.resolve().exists() for c in candidates)


def test_the_path_pattern_finds_what_readers_follow():
    """The pattern itself: a mutation that matches nothing must not pass the test below."""
    line = ("see ``tests/test_twins.py`` and neurons/matrices.py:12, "
            "![x](../figures/tutorials/03_staircase.png); https://github.com/a/refsnn/x.py")
    found = [m.group(1) for m in PATH.finditer(re.sub(r"\S+://\S+", "", line))]
    assert found == ["tests/test_twins.py", "neurons/matrices.py",
                     "../figures/tutorials/03_staircase.png"]


def test_every_named_path_exists():
    missing = []
    for source in tracked_files():
        for number, named in named_paths(source):
            if not resolves(source, named):
                missing.append(f"{source.relative_to(ROOT)}:{number}: {named}")
    assert not missing, "paths that do not exist:\n" + "\n".join(missing)


def test_a_missing_path_is_reported(tmp_path):
    """The check can fail: a page naming a file that is not there is caught."""
    page = tmp_path / "page.md"
    gone = "tests/" + "test_kernels.py"  # written in two parts, so this file names no missing path
    page.write_text(f"see ``{gone}`` and ``refsnn/neurons/parallel.py``\n")
    named = [n for _, n in named_paths(page)]
    assert named == [gone, "refsnn/neurons/parallel.py"]
    assert [resolves(page, n) for n in named] == [False, True]


def package_dirs():
    return sorted(p.parent for p in PACKAGE.rglob("__init__.py"))


@pytest.mark.parametrize("package", package_dirs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_package_docstring_names_every_module(package):
    """A package's docstring is its map: each module (and subpackage) appears in it as
    ``name``, so a reader who opens the package learns what is in it."""
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8"))) or ""
    modules = sorted(
        [p.stem for p in package.glob("*.py") if p.stem not in ("__init__", "__main__")]
        + [p.name for p in package.iterdir() if (p / "__init__.py").exists()]
    )
    omitted = [m for m in modules if not re.search(rf"[`.~]{re.escape(m)}`", doc)]
    assert not omitted, f"{package.relative_to(ROOT)}/__init__.py does not name: {', '.join(omitted)}"


def test_the_module_map_names_every_module_of_the_core():
    """The concept-to-module table lives in one place, the notation page's "Which module
    holds each piece"; the README links to it. Every public module of ``neurons`` and
    ``networks`` has its row, so the table cannot fall behind the package."""
    page = (ROOT / "tutorials" / "00_notation.md").read_text(encoding="utf-8")
    table = page.split("## Which module holds each piece", 1)[1]
    rows = set(re.findall(r"^\| `(refsnn\.[\w.]+)` \|", table, re.M))
    modules = {f"refsnn.{p.parent.name}.{p.stem}" for sub in ("neurons", "networks")
               for p in (PACKAGE / sub).glob("*.py") if not p.stem.startswith("_")}
    assert modules - rows == set(), f"modules without a row: {sorted(modules - rows)}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "00_notation.md#which-module-holds-each-piece" in readme
