"""The rendered tutorials (``tutorials/NN_*.md``) have not drifted from their sources.

Each ``tutorials/NN_*.py`` (jupytext percent format) is rendered, with its outputs, to
``NN_*.md`` by ``python tutorials/build_notebooks.py --markdown``. This test needs no
jupytext: it reads the code cells of the source and the ```python blocks of the page
and requires them to be the same, in the same order.
"""

import re
from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).resolve().parents[1] / "tutorials").glob("[0-9]*.py"))
HEADER = re.compile(r"\A# ---\n.*?^# ---\n", re.S | re.M)


def code_cells(source):
    """The code cells of a percent-format file, each stripped of surrounding blank lines."""
    cells = re.split(r"^# %%.*$", HEADER.sub("", source), flags=re.M)
    markers = re.findall(r"^# %%(.*)$", source, flags=re.M)
    return [cell.strip("\n") for marker, cell in zip(markers, cells[1:]) if "[markdown]" not in marker]


def page_blocks(page):
    return [block.strip("\n") for block in re.findall(r"^```python\n(.*?)^```$", page, flags=re.S | re.M)]


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_rendered_page_matches_source(path):
    page = path.with_suffix(".md")
    assert page.is_file(), f"run: python tutorials/build_notebooks.py --markdown (missing {page.name})"
    source_cells = [c for c in code_cells(path.read_text(encoding="utf-8")) if c.strip()]
    assert source_cells, path.name
    assert page_blocks(page.read_text(encoding="utf-8")) == source_cells, (
        f"{page.name} is out of date: python tutorials/build_notebooks.py --markdown"
    )
