"""``refsnn verify``: the paper's neuron-level claims checked and printed as a report.

Runs every claim of :mod:`refsnn.claims` (the same properties the test suite runs) and
prints one line per claim: whether it holds, or the counterexample found, then the claim,
where it comes from and how many examples were tried. A claim that should hold and fails
is reported with its shrunk counterexample; a counterexample that refsnn documents must
be found. The exit status is 0 if every claim came out as expected, 1 otherwise.

``refsnn verify --against MODULE:NAME --neuron parallel|if`` runs the claims that apply to
any implementation (:func:`refsnn.claims.against_claims`) on a neuron from outside refsnn,
given in the calling convention of :mod:`refsnn.against` (:func:`run_against`).
"""

import contextlib
import os
import tempfile
import time

import numpy as np

from .. import claims as claims_module
from ..against import ConventionError, Implementation
from ..claims import DEFAULT_EXAMPLES, SEARCH_EXAMPLES
from .._checks import as_int
from ..threads import thread_setting
from .outputs import json_output

#: How each result is printed: expected results in lower case, the others in capitals.
LABELS = {"holds": "holds", "found": "found", "fails": "FAILS", "not found": "NOT FOUND"}


def claim_line(claim, outcome):
    """One line of the report: result, claim, [where; examples], counterexample if any."""
    count = f"{outcome.examples} example{'' if outcome.examples == 1 else 's'}"
    line = f"{LABELS[outcome.result]:<9}  {claim.statement}  [{claim.where}; {count}]"
    if outcome.counterexample is not None:
        line += f"  {'found' if claim.expected == 'counterexample' else 'counterexample'}: {outcome.counterexample}"
    return line


def verify(examples=DEFAULT_EXAMPLES, seed=None, claims=None, echo=print):
    """Run the claims and return the report as a dict (the ``--json`` document).

    Parameters
    ----------
    examples : int
        Examples per Hypothesis property, >= 1 (the exhaustive claims ignore it).
    seed : int, optional
        Seed of the random examples, >= 0; None (default) derandomizes the run, so it
        tries the same examples every time.
    claims : sequence of refsnn.claims.Claim, optional
        Which claims to run; all of :data:`refsnn.claims.CLAIMS` by default.
    echo : callable
        Called with each line of the report as it is ready (``print`` by default).

    Returns
    -------
    dict
        ``{"claims": [{"name", "statement", "where", "expected", "result", "examples",
        "counterexample"}, ...], "passed": bool, "seed", "examples", "seconds"}``.
    """
    examples, seed = _check(examples, seed)
    claims = claims_module.CLAIMS if claims is None else tuple(claims)
    how = "derandomized" if seed is None else f"seed {seed}"
    echo(f"refsnn verify: {len(claims)} claims, up to {examples} examples per property "
         f"(at least {SEARCH_EXAMPLES} in a counterexample search), {how}")
    start = time.perf_counter()
    rows = []
    for claim in claims:
        outcome = claim.run(examples, seed)
        echo(claim_line(claim, outcome))
        rows.append({"name": claim.name, "statement": claim.statement, "where": claim.where,
                     "expected": claim.expected, "result": outcome.result, "examples": outcome.examples,
                     "counterexample": outcome.counterexample})
    seconds = time.perf_counter() - start
    wrong = [row["name"] for row in rows if row["result"] not in ("holds", "found")]
    held = sum(row["result"] == "holds" for row in rows)
    found = sum(row["result"] == "found" for row in rows)
    if wrong:
        echo(f"FAILED: {len(wrong)} of {len(rows)} claims not as expected ({', '.join(wrong)}), {seconds:.1f} s "
             f"with {thread_setting()}")
    else:
        echo(f"all {len(rows)} claims as expected: {held} hold, {found} counterexamples found, {seconds:.1f} s "
             f"with {thread_setting()}")
    return {"claims": rows, "passed": not wrong, "seed": seed, "examples": examples, "seconds": round(seconds, 3),
            "thread_setting": thread_setting()}


def _check(examples, seed):
    examples = as_int("examples", examples)
    if seed is not None:
        seed = as_int("seed", seed, minimum=0)
    return examples, seed


@contextlib.contextmanager
def _hypothesis_storage():
    """Keep Hypothesis's files (its cache of constants) out of the current folder.

    Hypothesis writes a ``.hypothesis`` folder into the working directory; a report
    should leave nothing behind, so it goes to a temporary folder, unless the user chose
    one with ``HYPOTHESIS_STORAGE_DIRECTORY``.
    """
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        yield
        return
    from hypothesis.configuration import set_hypothesis_home_dir

    with tempfile.TemporaryDirectory(prefix="refsnn-verify-") as home:
        set_hypothesis_home_dir(home)
        try:
            yield
        finally:
            set_hypothesis_home_dir(None)


def run(examples=DEFAULT_EXAMPLES, seed=None, json_path=None):
    """``refsnn verify``: print the report, write it to ``json_path`` if given, return the exit status.

    The arguments are checked before any claim runs (ValueError naming the parameter).
    ``json_path="-"`` writes the JSON to standard output and the report to standard error.

    Returns
    -------
    int
        0 if every claim came out as expected, 1 otherwise.
    """
    _check(examples, seed)
    with json_output(json_path, "json_path", announce=False) as write_json:
        with _hypothesis_storage():
            report = verify(examples, seed)
        write_json(report)
    return 0 if report["passed"] else 1


# --------------------------------------------------------------------------- --against


def against_line(claim, outcome):
    """A claim line of ``refsnn verify --against``: :func:`claim_line`, then the agreement if measured."""
    line = claim_line(claim, outcome)
    if outcome.agreement is not None:
        line += f"  ({_agreement(outcome.agreement)})"
    return line


def _agreement(agreement):
    agreeing, of, what = agreement
    return f"{agreeing:,} of {of:,} {what}" + (f", {100 * agreeing / of:.2f}%" if agreeing < of else "")


def _probe(implementation):
    """None if the neuron returns (T, N) spikes on a small input, else what it did instead."""
    currents = (np.arange(12, dtype=np.float32).reshape(4, 3) - 4) / 4
    try:
        implementation(currents, 1.0, 0.5)
    except ConventionError as exc:
        return str(exc)
    return None


def run_against(fire, name, neuron="parallel", order="paper", examples=DEFAULT_EXAMPLES, seed=None,
                json_path=None, echo=print):
    """``refsnn verify --against``: check ``fire`` against the claims, print the report, return the exit status.

    Parameters
    ----------
    fire : callable or class
        The neuron in the calling convention (:mod:`refsnn.against`), e.g. from
        :func:`refsnn.against.load`.
    name : str
        How the report names it (the ``MODULE:NAME`` given).
    neuron, order, examples, seed
        As in :func:`refsnn.claims.verify`.
    json_path : str, optional
        Also write the report (:func:`refsnn.claims.verify`'s dict) there; ``"-"``: to
        standard output, and the printed report to standard error.

    Returns
    -------
    int
        0 if every claim holds, 1 if one fails or the neuron does not follow the calling
        convention on a small first input (then one line says what it returned, and no
        claim runs).
    """
    _check(examples, seed)
    implementation = Implementation(fire, neuron, order, name)
    with json_output(json_path, "json_path", announce=False) as write_json:
        problem = _probe(implementation)
        if problem is not None:
            echo(f"refsnn verify --against {name}: does not follow the calling convention: {problem}")
            report = {"against": name, "neuron": neuron, "order": order, "claims": [], "passed": False,
                      "error": problem, "seed": seed, "examples": examples}
        else:
            claims = claims_module.against_claims(neuron)
            how = "derandomized" if seed is None else f"seed {seed}"
            ordered = f", {order} order" if neuron == "parallel" else ""
            echo(f"refsnn verify --against {name} ({neuron} neuron{ordered}): {len(claims)} claims, "
                 f"up to {examples} examples per property, {how}")
            with _hypothesis_storage():
                report = claims_module.verify(implementation, examples=examples, seed=seed,
                                              echo=lambda claim, outcome: echo(against_line(claim, outcome)))
            echo(_against_summary(report))
            report["thread_setting"] = thread_setting()
        write_json(report)
    return 0 if report["passed"] else 1


def _against_summary(report):
    """The last line: how many claims hold, the agreement figures, the time."""
    rows = report["claims"]
    wrong = [row["name"] for row in rows if row["result"] != "holds"]
    figures = "; ".join(_agreement(tuple(row["agreement"].values())) for row in rows if row["agreement"])
    head = (f"FAILED: {len(wrong)} of {len(rows)} claims fail ({', '.join(wrong)})" if wrong
            else f"all {len(rows)} claims hold")
    return f"{head}; {figures}; {report['seconds']:.1f} s with {thread_setting()}"
