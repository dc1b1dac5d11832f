"""The README: its Python example runs (each commented result is what it prints), it stays short, it holds CI's test command, and its links resolve."""

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
