"""``refsnn verify``: the paper's neuron-level claims checked and printed as a report.

Runs every claim of :mod:`refsnn.claims` (the same properties the test suite runs) and
prints one line per claim: whether it holds, or the counterexample found, then the claim,
where it comes from and how many examples were tried. A claim that should hold and fails
is reported with its shrunk counterexample; a counterexample that refsnn documents must
be found. The exit status is 0 if every claim came out as expected, 1 otherwise.
"""

import contextlib
import os
import tempfile
import time

from .. import claims as claims_module
from ..claims import DEFAULT_EXAMPLES, SEARCH_EXAMPLES
from .._checks import as_int
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
        echo(f"FAILED: {len(wrong)} of {len(rows)} claims not as expected ({', '.join(wrong)}), {seconds:.1f} s")
    else:
        echo(f"all {len(rows)} claims as expected: {held} hold, {found} counterexamples found, {seconds:.1f} s")
    return {"claims": rows, "passed": not wrong, "seed": seed, "examples": examples, "seconds": round(seconds, 3)}


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
