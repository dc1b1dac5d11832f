"""The examples in refsnn's docstrings run and print what they show.

Run through ``doctest`` on the imported modules, so it works the same for an installed
and an editable refsnn (pytest's ``--doctest-modules`` would import the source tree a
second time).
"""

import doctest
import importlib
import pkgutil

import pytest

import refsnn

MODULES = [
    info.name
    for info in pkgutil.walk_packages(refsnn.__path__, "refsnn.")
    if info.name != "refsnn.__main__"
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_examples_exist():
    """The examples that a reader copies first are really there (and so really run)."""
    attempted = {name: doctest.testmod(importlib.import_module(name)).attempted for name in
                 ("refsnn.neurons.quantization", "refsnn.neurons.integrate_fire", "refsnn.neurons.parallel", "refsnn.neurons.theory")}
    assert all(n > 0 for n in attempted.values()), attempted
