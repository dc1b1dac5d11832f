"""The README: its Python example runs (each commented result is what it prints), it stays short, it holds CI's test command, its links resolve, and the speed-ups it quotes are the committed benchmark's."""

import json
import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_outputs():
    block = re.search(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S).group(1)
    namespace = {}
    checked = 0
    for line in block.splitlines():
        code, _, comment = line.partition("  # ")
        if not comment or "=" in code.split("(")[0]:
            exec(code, namespace)
            continue
        value = eval(code, namespace)
        shown = comment.split(":")[0].strip()
        expected = eval(shown, {"array": np.array, "False": False, "True": True})
        np.testing.assert_array_equal(value, expected)
        checked += 1
    assert checked == 5


def test_readme_stays_short_and_links_the_pages_it_sends_readers_to():
    """At most 15,000 bytes for a newcomer; the measurements live on pages it links."""
    text = README.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= 15_000
    for page in ("tutorials/results.md", "tutorials/speed.md", "tutorials/README.md"):
        assert f"]({page}" in text, page


def test_readme_has_the_test_command_that_ci_runs():
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    command = 'pip install ".[test]" && pytest'
    assert command in ci.splitlines() and f"```bash\n{command}\n```" in README.read_text(encoding="utf-8")


def test_relative_links_of_the_readme_and_the_measurement_pages_resolve():
    """Every relative link names an existing file, and every #anchor one of its headings."""

    def slug(heading):
        return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")

    pages = [README] + [README.parent / "tutorials" / name for name in ("README.md", "results.md", "speed.md")]
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            path, _, anchor = target.partition("#")
            if target.startswith(("http://", "https://")):
                continue
            linked = (page.parent / path) if path else page
            assert linked.exists(), f"{page.name}: {target}"
            if anchor:
                lines = linked.read_text(encoding="utf-8").splitlines()
                assert anchor in {slug(line.lstrip("#")) for line in lines if line.startswith("#")}, f"{page.name}: {target}"


def test_the_speed_ups_quoted_are_the_committed_benchmarks():
    """README's and the results page's collapsed speed-ups at T = 64 are those of
    ``figures/data/bench.json`` (``refsnn bench``), rounded: a new benchmark run that
    moves them must move the prose too."""
    bench = json.loads((README.parent / "figures" / "data" / "bench.json").read_text(encoding="utf-8"))
    speedup = {int(r["batch"]): float(r["speedup"]) for r in bench["network"]
               if r["mode"] == "collapsed_parallel" and int(r["T"]) == 64}
    low, high = (round(speedup[b]) for b in (min(speedup), max(speedup)))
    quoted = re.search(r"(\d+)–(\d+)× faster than sequential IF at \$?T = 64\$?", README.read_text(encoding="utf-8"))
    assert quoted and (int(quoted[1]), int(quoted[2])) == (low, high), (quoted and quoted[0], low, high)
    results = (README.parent / "tutorials" / "results.md").read_text(encoding="utf-8")
    quoted = re.search(r"\((\d+)× at \$?T = 64\$?, batch 1\)", results)
    assert quoted and int(quoted[1]) == round(speedup[1]), (quoted and quoted[0], speedup[1])
