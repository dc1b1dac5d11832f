"""The paper's neuron-level claims, one test per claim (Hao et al. 2025: Theorem 4.1, the sorting property).

The properties live in :mod:`refsnn.claims`, the one place that ``refsnn verify`` also
runs: each claim that should hold is a Hypothesis property on dyadic grids with
power-of-two θ (``refsnn._strategies``), where floating point computes it exactly, with
its explicit tie cases; each documented counterexample must be found. Here every claim
runs with the Hypothesis profile's number of examples, derandomized under the ``ci``
profile and with a fresh seed otherwise (the failure message names it, so that
``refsnn verify --seed S --examples N`` replays it). The concrete cases the claims
report are asserted at the end.
"""

import random
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import settings

from refsnn import if_neuron, parallel_neuron, qcfs_level
from refsnn.claims import CLAIMS


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda claim: claim.name)
def test_claim(claim):
    """Every claim holds, or its documented counterexample is found (see ``claim.statement``)."""
    examples = settings.default.max_examples
    seed = None if settings.default.derandomize else random.randrange(2 ** 32)
    outcome = claim.run(examples, seed)
    replay = f"refsnn verify --examples {examples}" + ("" if seed is None else f" --seed {seed}")
    assert outcome.as_expected, f"{claim.statement}: {outcome.result}: {outcome.counterexample} ({replay})"


def test_unevenness_error_concrete_case():
    """The IF neuron on uneven input, the tutorials' example: I = [0, 0, 0, 2], θ = 1.
    Mean 1/2, QCFS level 2, IF count 1 (the charge arrives too late), parallel count 2."""
    concrete = np.array([[0.0], [0.0], [0.0], [2.0]])
    assert qcfs_level(concrete.mean(axis=0), 1.0, 4)[0] == 2
    assert if_neuron(concrete, 1.0).sum() == 1
    assert parallel_neuron(concrete, 1.0).sum() == 2


def test_float_tie_where_the_sum_is_inexact():
    """The float tie of the claim "float-tie", found by random search over one-decimal currents (T = 5).

    In exact decimals Σ = 0.5 + 1.7 + 1.9 − 0.6 + 0 = 3.5, so (Σ + θ/2)/θ = 4: a tie, count 4.
    In float64 Σ = 3.4999999999999996, so the parallel neuron counts 3, while
    5·mean rounds to 3.5 and QCFS of the mean gives 4. The theorem is exact; the
    floats are off by one spike exactly at the tie.
    """
    currents = np.array([[0.5], [1.7], [1.9], [-0.6], [0.0]])
    assert currents.sum() < 3.5
    for method in ["dense", "hadamard", "binary"]:
        assert parallel_neuron(currents, 1.0, method=method).sum() == 3
    assert qcfs_level(currents.mean(axis=0), 1.0, 5)[0] == 4
    exact = sum(Fraction(d) for d in ["0.5", "1.7", "1.9", "-0.6", "0"]) + Fraction(1, 2)
    assert exact == 4
