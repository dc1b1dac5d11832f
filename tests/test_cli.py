"""Tests for the command line: ``refsnn tour`` and ``python -m refsnn``."""

import subprocess
import sys

import pytest

from refsnn.programs.cli import main
from refsnn.programs.tour import tour_lines


def test_tour_prints_the_facts(capsys):
    assert main(["tour"]) == 0
    out = capsys.readouterr().out
    assert "QCFS" in out and "IF unevenness error" in out
    assert "back-loaded" in out and "front-loaded" in out
    assert "Lambda_pc" in out and "1/3" in out


def test_tour_rows_show_parallel_equals_qcfs():
    """Every row of section 1: the parallel count column equals the QCFS column."""
    rows = [line.split() for line in tour_lines() if line.startswith("   [")]
    assert len(rows) == 6
    for row in rows:
        numbers = [w for w in row if w.lstrip("-").isdigit()]
        qcfs_level, if_count, parallel = map(int, numbers[-3:])
        assert parallel == qcfs_level


def test_bad_theta_is_an_error():
    with pytest.raises(SystemExit):
        main(["tour", "--theta", "0"])


def test_python_dash_m():
    out = subprocess.run([sys.executable, "-m", "refsnn", "tour"], capture_output=True, text=True, check=True)
    assert "refsnn tour" in out.stdout


def test_import_compiles_nothing():
    """Importing refsnn compiles no kernel (each compiles lazily on its first call)."""
    code = """
import importlib, pkgutil, refsnn
from numba.core.registry import CPUDispatcher
kernels = []
for info in pkgutil.walk_packages(refsnn.__path__, "refsnn."):
    if info.name.startswith(("refsnn.plotting", "refsnn.programs.figures", "refsnn.__main__")):
        continue
    module = importlib.import_module(info.name)
    kernels += [v for v in vars(module).values() if isinstance(v, CPUDispatcher)]
assert len(kernels) >= 8, kernels
print(sum(len(k.signatures) for k in kernels))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"
