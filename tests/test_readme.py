"""The README's Python example runs, and each commented result is what it prints."""

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
