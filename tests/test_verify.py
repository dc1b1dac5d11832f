"""Tests for ``refsnn verify`` (refsnn.programs.verify): the report, its exit status, --json."""

import json
import os
import subprocess
import sys

import pytest
from test_claims import strict_parallel_neuron

import refsnn.neurons.parallel as parallel
import refsnn.neurons.variants as variants
from refsnn.claims import CLAIMS
from refsnn.programs import verify
from refsnn.programs.cli import main

STATUSES = ("holds", "found", "FAILS", "NOT FOUND")


def claim_lines(out):
    return [line for line in out.splitlines() if line.startswith(STATUSES)]


def test_verify_prints_one_line_per_claim_and_exits_0(capsys):
    assert main(["verify", "--examples", "20"]) == 0
    out = capsys.readouterr().out
    lines = claim_lines(out)
    assert len(lines) == len(CLAIMS)
    for claim, line in zip(CLAIMS, lines):
        assert claim.statement in line and f"[{claim.where}; " in line and " example" in line
        assert line.startswith("holds" if claim.expected == "holds" else "found  "), line
        assert ("found: " in line) == (claim.expected == "counterexample")
    assert out.splitlines()[0].startswith("refsnn verify: 14 claims, up to 20 examples")
    assert "derandomized" in out.splitlines()[0]
    assert out.splitlines()[-1].startswith("all 14 claims as expected: 8 hold, 6 counterexamples found")
    assert "T = 5, θ = 1, I = [0.5, 1.7, 1.9, -0.6, 0]: parallel count 3, QCFS level of the mean 4" in out


def test_a_broken_kernel_is_reported_and_exits_1(capsys, monkeypatch):
    monkeypatch.setattr(parallel, "parallel_neuron", strict_parallel_neuron)
    assert main(["verify", "--examples", "20"]) == 1
    out = capsys.readouterr().out
    failed = [line for line in claim_lines(out) if line.startswith("FAILS")]
    assert any("[Theorem 4.1, case T = T̃; " in line and "counterexample: " in line for line in failed)
    assert out.splitlines()[-1].startswith("FAILED: 2 of 14 claims not as expected (theorem-4.1-T-equal, closed-form)")


def test_a_missing_counterexample_is_reported_and_exits_1(capsys, monkeypatch):
    monkeypatch.setattr(variants, "leaky_parallel_neuron",
                        lambda currents, theta, leak, psi=None: parallel.parallel_neuron(currents, theta, psi))
    report = verify.verify(examples=5, claims=[c for c in CLAIMS if c.name == "leaky-unsorted"])
    assert not report["passed"] and report["claims"][0]["result"] == "not found"
    assert claim_lines(capsys.readouterr().out)[0].startswith("NOT FOUND")


def test_json_has_the_documented_keys(tmp_path, capsys):
    path = tmp_path / "verify.json"
    assert main(["verify", "--examples", "5", "--seed", "3", "--json", str(path)]) == 0
    report = json.loads(path.read_text())
    assert {"claims", "passed", "seed", "examples"} <= set(report)
    assert report["passed"] is True and report["seed"] == 3 and report["examples"] == 5
    assert [row["name"] for row in report["claims"]] == [claim.name for claim in CLAIMS]
    for row in report["claims"]:
        assert {"name", "where", "expected", "result", "examples", "counterexample"} <= set(row)
        assert row["expected"] in ("holds", "counterexample")
        assert row["result"] == ("holds" if row["expected"] == "holds" else "found")
        assert isinstance(row["examples"], int) and row["examples"] >= 1
        assert (row["counterexample"] is None) == (row["expected"] == "holds")
    assert "seed 3" in capsys.readouterr().out


def test_python_dash_m_exit_status_and_nothing_left_behind(tmp_path):
    """The exit status reaches the shell, and Hypothesis writes no .hypothesis folder here."""
    env = {key: value for key, value in os.environ.items() if key != "HYPOTHESIS_STORAGE_DIRECTORY"}
    run = subprocess.run([sys.executable, "-m", "refsnn", "verify", "--examples", "1"],
                         capture_output=True, text=True, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(claim_lines(run.stdout)) == len(CLAIMS)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def no_work(monkeypatch):
    """A bad argument must stop before any claim runs."""
    def started(*args, **kwargs):
        raise AssertionError("the claims ran despite a bad argument")

    monkeypatch.setattr(verify, "verify", started)


@pytest.mark.parametrize("argv, flag", [
    (["--examples", "0"], "--examples"),
    (["--examples", "-3"], "--examples"),
    (["--examples", "x"], "--examples"),
    (["--seed", "-1"], "--seed"),
    (["--seed", "1.5"], "--seed"),
    (["--json", "/proc/refsnn-verify.json"], "--json"),
])
def test_bad_arguments_exit_2(argv, flag, capsys, no_work):
    with pytest.raises(SystemExit) as info:
        main(["verify"] + argv)
    assert info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("refsnn verify: error:") and flag in last, last


def test_json_folder_must_exist(capsys, no_work, tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["verify", "--json", str(tmp_path / "missing" / "v.json")])
    assert info.value.code == 2 and "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(examples=0), ValueError, "examples"),
    (dict(seed=-2), ValueError, "seed"),
    (dict(seed=1.0), TypeError, "seed"),
    (dict(json_path="/nonexistent-folder/v.json"), ValueError, "json_path"),
])
def test_run_checks_its_arguments_first(kwargs, error, match, no_work):
    with pytest.raises(error, match=match):
        verify.run(**kwargs)
