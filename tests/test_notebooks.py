"""The rendered tutorials and solutions (``NN_*.md``) have not drifted from their sources.

Each ``tutorials/NN_*.py`` and ``tutorials/solutions/NN_*.py`` (jupytext percent format)
is rendered, with its outputs, to ``NN_*.md`` next to it by
``python tutorials/build_notebooks.py --markdown``. This test needs no
jupytext: it reads the code cells of the source and the ```python blocks of the page
and requires them to be the same, in the same order.
"""

import re
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[1] / "tutorials"
TUTORIALS = sorted(HERE.glob("[0-9]*.py"))
SOLUTIONS = sorted((HERE / "solutions").glob("[0-9]*.py"))
SOURCES = TUTORIALS + SOLUTIONS
HEADER = re.compile(r"\A# ---\n.*?^# ---\n", re.S | re.M)


def code_cells(source):
    """The code cells of a percent-format file, each stripped of surrounding blank lines."""
    cells = re.split(r"^# %%.*$", HEADER.sub("", source), flags=re.M)
    markers = re.findall(r"^# %%(.*)$", source, flags=re.M)
    return [cell.strip("\n") for marker, cell in zip(markers, cells[1:]) if "[markdown]" not in marker]


def page_blocks(page):
    return [block.strip("\n") for block in re.findall(r"^```python\n(.*?)^```$", page, flags=re.S | re.M)]


@pytest.mark.parametrize("path", SOURCES, ids=[f"{p.parent.name}/{p.stem}" for p in SOURCES])
def test_rendered_page_matches_source(path):
    page = path.with_suffix(".md")
    render = f"python tutorials/build_notebooks.py --markdown {path.relative_to(HERE.parent)}"
    assert page.is_file(), f"run: {render} (missing {page.name})"
    source_cells = [c for c in code_cells(path.read_text(encoding="utf-8")) if c.strip()]
    assert source_cells, path.name
    assert page_blocks(page.read_text(encoding="utf-8")) == source_cells, (
        f"{page.name} is out of date: {render}"
    )
