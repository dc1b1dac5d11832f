"""Tests for refsnn.claims: the machinery that runs the claims (the claims themselves are
run in ``tests/test_theorems.py``)."""

import subprocess
import sys

import numpy as np
import pytest

import refsnn.claims
import refsnn.neurons.parallel as parallel
import refsnn.neurons.variants as variants
from refsnn.claims import CLAIMS, EXPECTED, NEURONS, RESULTS, SEARCH_EXAMPLES, Outcome, claim_named


def strict_parallel_neuron(currents, theta, psi=None, method="hadamard", order="paper"):
    """A broken parallel neuron: fires on H_x > θ instead of H_x >= θ (misses every tie)."""
    currents = np.asarray(currents, dtype=float)
    T = currents.shape[0]
    psi = np.asarray(theta) / 2 if psi is None else psi
    H = (currents.sum(axis=0) + psi) / (T - np.arange(T)).reshape((T,) + (1,) * (currents.ndim - 1))
    spikes = H > theta
    return spikes if order == "paper" else spikes[::-1].copy()


def test_the_claims_are_well_formed():
    names = [claim.name for claim in CLAIMS]
    assert len(set(names)) == len(names) >= 12
    for claim in CLAIMS:
        assert claim.expected in EXPECTED
        assert "\n" not in claim.statement and claim.statement
        paper = ("Theorem 4.1, case", "the sorting property")
        assert claim.where.startswith(paper + ("refsnn: tutorials/00_notation.md, ",)), claim.where
        assert "§" not in claim.where and "Section" not in claim.where
        assert claim.neuron is None or callable(getattr(*NEURONS[claim.neuron]))
    wheres = {claim.where for claim in CLAIMS}
    assert {"Theorem 4.1, case T = T̃", "Theorem 4.1, case T ≠ T̃", "the sorting property"} <= wheres
    assert sum(claim.expected == "counterexample" for claim in CLAIMS) == 6


def test_sections_named_in_where_exist_on_the_notation_page():
    from pathlib import Path

    page = (Path(__file__).parents[1] / "tutorials" / "00_notation.md").read_text(encoding="utf-8")
    headings = {line.lstrip("#").strip() for line in page.splitlines() if line.startswith("#")}
    for claim in CLAIMS:
        if claim.where.startswith("refsnn: "):
            assert claim.where.split(", ", 1)[1] in headings, claim.where


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda claim: claim.name)
def test_every_claim_comes_out_as_expected_with_one_example(claim):
    """Even with examples=1 (a counterexample search still tries SEARCH_EXAMPLES)."""
    outcome = claim.run(examples=1)
    assert isinstance(outcome, Outcome) and outcome.result in RESULTS
    assert outcome.as_expected, (claim.name, outcome)
    if claim.expected == "counterexample":
        assert outcome.result == "found" and 1 <= outcome.examples <= SEARCH_EXAMPLES
        assert outcome.counterexample
    else:
        assert outcome.counterexample is None and outcome.examples >= 1


def test_default_runs_are_derandomized_and_seeds_reproducible():
    claim = claim_named("if-unevenness")
    assert claim.run(20) == claim.run(20)
    assert claim.run(20, seed=7) == claim.run(20, seed=7)


def test_holds_counts_every_example_and_the_explicit_ones():
    """examples=N generated inputs, plus the explicit tie cases (3 for Theorem 4.1)."""
    assert claim_named("theorem-4.1-T-equal").run(10).examples == 13
    assert claim_named("sorting").run(10).examples == 10
    assert claim_named("theorem-4.1-T-differ").run(1).examples == 64 * 63  # exhaustive


def test_a_broken_neuron_fails_with_a_shrunk_counterexample(monkeypatch):
    monkeypatch.setattr(parallel, "parallel_neuron", strict_parallel_neuron)
    outcome = claim_named("theorem-4.1-T-equal").run(50)
    assert outcome.result == "fails" and not outcome.as_expected
    assert "parallel count" in outcome.counterexample and "QCFS level of the mean" in outcome.counterexample
    outcome = claim_named("closed-form").run(50)
    assert outcome.result == "fails"
    assert outcome.counterexample.startswith("method = hadamard, T = 3, θ = 1, I = [1, 0.875, 0.625]")


def test_a_generated_failure_is_shrunk(monkeypatch):
    """A QCFS level capped at 7 passes the explicit examples of Theorem 4.1 (all at T = 4),
    so Hypothesis has to generate a failing input, and it shrinks it to a single non-zero
    current at some T >= 8. The mutant fails on most inputs with T >= 8, so the search
    cannot miss it; a mutant wrong only at exact ties (np.round) is caught or not
    depending on the examples drawn, which changed with the tests run before this one."""
    import refsnn.neurons.quantization as quantization

    real = quantization.qcfs_level

    def capped_at_7(z, theta, levels, psi=None):
        return np.minimum(real(z, theta, levels, psi), 7)

    monkeypatch.setattr(quantization, "qcfs_level", capped_at_7)
    outcome = claim_named("theorem-4.1-T-equal").run(200)
    assert outcome.result == "fails" and outcome.examples > 3, outcome
    T = int(outcome.counterexample.split("T = ")[1].split(",")[0])
    currents = outcome.counterexample.split("I = [")[1].split("]")[0].split(", ")
    assert T >= 8 and sum(c != "0" for c in currents) == 1, outcome.counterexample  # shrunk to one non-zero step


def test_a_crash_is_a_failure_that_names_the_input(monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("kernel exploded")

    monkeypatch.setattr(parallel, "parallel_neuron", crash)
    outcome = claim_named("sorting").run(5)
    assert outcome.result == "fails"
    assert "RuntimeError: kernel exploded" in outcome.counterexample


def test_a_missing_counterexample_is_not_found(monkeypatch):
    """If the leaky neuron were the paper's neuron, the search would find nothing."""
    monkeypatch.setattr(variants, "leaky_parallel_neuron",
                        lambda currents, theta, leak, psi=None: parallel.parallel_neuron(currents, theta, psi))
    outcome = claim_named("leaky-unsorted").run(5)
    assert outcome.result == "not found" and not outcome.as_expected
    assert outcome.examples >= SEARCH_EXAMPLES // 2 and outcome.counterexample is None


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(examples=0), ValueError, "examples"),
    (dict(examples=2.5), TypeError, "examples"),
    (dict(examples=True), TypeError, "examples"),
    (dict(examples=5, seed=-1), ValueError, "seed"),
    (dict(examples=5, seed="1"), TypeError, "seed"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        CLAIMS[0].run(**kwargs)


@pytest.mark.parametrize("kwargs", [dict(expect="maybe"), dict(neuron="lif")])
def test_claim_rejects_an_unknown_expectation_or_neuron(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        refsnn.claims.claim("a-name", "the sorting property", **kwargs)


def test_claim_named_rejects_unknown_names():
    with pytest.raises(ValueError, match="name"):
        claim_named("theorem-9")


def test_importing_claims_does_not_import_hypothesis():
    code = "import sys, refsnn, refsnn.claims; print('hypothesis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
