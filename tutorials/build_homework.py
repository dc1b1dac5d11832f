"""Recompute the answer checks, ``refsnn/_data/homework.json``, from the worked solutions.

Usage, from the repository root (a maintainer's step, after an answer changes)::

    python tutorials/build_homework.py

A checkable exercise in ``tutorials/NN_*.py`` ends with an answer-check sentence that
says what the answer must be and names the call, for example "Answer check: ψ/θ at
T = 4, to 3 decimals: `refsnn.homework.check("3.2", psi)`." The kind comes from its
wording: "to N decimals", "a whole number", "a list of N whole numbers", "yes or no", or
'one of "up", "down"'. The exercise's worked solution asserts
``refsnn.homework.check("3.2", best[4])`` with the answer it computes, so the answers have
one source, the solutions' own code, and running the solutions (``tests/test_tutorials.py``
does) proves the table matches them.

This script runs each solution that calls the check, with the check replaced by a recorder,
and writes one entry per exercise: the kind stated in the tutorial, a salt (kept from the
current table, new for a new exercise) and the hash of the recorded answer
(``refsnn.homework``). An unchanged answer leaves its entry unchanged.
"""

import json
import os
import re
import runpy
import secrets
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TABLE = HERE.parent / "refsnn" / "_data" / "homework.json"
#: "Answer check: <what it asks for> `refsnn.homework.check("3.2", …)`" in an exercise's text.
ANSWER_CHECK = re.compile(r'Answer check: (?P<what>.*?)`refsnn\.homework\.check\("(?P<exercise>\d+\.\d+)", [^`]*\)`',
                          flags=re.S)


def tutorials():
    """The tutorial sources, ``tutorials/NN_*.py``, in order."""
    return sorted(HERE.glob("[0-9]*.py"))


def exercise_items(tutorial, text=None):
    """The numbered items of a tutorial's ``## Exercises`` section: {"3.2": text}, the text
    joined into one line with the comment marks removed. ``text`` replaces the file's
    (an edition's version of it)."""
    text = Path(tutorial).read_text(encoding="utf-8") if text is None else text
    section = text.rsplit("# ## Exercises\n", 1)[-1]
    number = int(Path(tutorial).stem.split("_")[0])
    parts = re.split(r"^# (\d+)\. ", section, flags=re.M)
    return {f"{number}.{k}": " ".join(line.lstrip("#").strip() for line in body.splitlines()).strip()
            for k, body in zip(parts[1::2], parts[2::2])}


def kind_from(what):
    """The entry (without salt and hash) for an answer-check sentence's wording."""
    if match := re.search(r"to (\d+) decimals?\b", what):
        return {"kind": "decimals", "decimals": int(match[1])}
    if match := re.search(r"a list of (\d+) whole numbers", what):
        return {"kind": "integers", "length": int(match[1])}
    if "a whole number" in what:
        return {"kind": "integer"}
    if "yes or no" in what:
        return {"kind": "yes/no"}
    if match := re.search(r'one of ((?:"[^"]+"(?:, )?)+)', what):
        return {"kind": "choice", "options": re.findall(r'"([^"]+)"', match[1])}
    raise ValueError(f"the answer-check sentence {what!r} does not say what kind of answer it asks for")


def stated_kinds():
    """{exercise: entry without salt and hash} for every answer-check sentence."""
    kinds = {}
    for tutorial in tutorials():
        for exercise, text in exercise_items(tutorial).items():
            for match in ANSWER_CHECK.finditer(text):
                if match["exercise"] != exercise:
                    raise ValueError(f"{tutorial.name}, exercise {exercise} checks {match['exercise']}")
                kinds[exercise] = kind_from(match["what"])
    return kinds


def recorded_answers(solutions=None):
    """{exercise: answer} from running each solution that calls ``refsnn.homework.check``,
    with the check replaced by a recorder that accepts everything."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from refsnn import homework

    answers = {}
    real_check = homework.check

    def record(exercise, answer):
        if exercise in answers:
            raise ValueError(f"exercise {exercise} is checked twice")
        answers[exercise] = answer
        return True

    paths = solutions or sorted((HERE / "solutions").glob("[0-9]*.py"))
    cwd, figures = os.getcwd(), os.environ.get("REFSNN_TUTORIAL_FIGURES")
    homework.check = record
    try:
        for path in paths:
            if "homework.check(" not in Path(path).read_text(encoding="utf-8"):
                continue
            print(f"running {Path(path).relative_to(HERE.parent)}", file=sys.stderr)
            with tempfile.TemporaryDirectory() as folder:
                os.chdir(folder)
                os.environ["REFSNN_TUTORIAL_FIGURES"] = folder
                try:
                    runpy.run_path(str(path), run_name="__main__")
                finally:
                    os.chdir(cwd)
                    plt.close("all")
    finally:
        homework.check = real_check
        if figures is None:
            os.environ.pop("REFSNN_TUTORIAL_FIGURES", None)
        else:
            os.environ["REFSNN_TUTORIAL_FIGURES"] = figures
    return answers


def build_table(kinds, answers, old=None):
    """The new table: each stated exercise's kind, its salt (from ``old`` if there) and the
    hash of its recorded answer."""
    from refsnn import homework

    if set(kinds) != set(answers):
        raise ValueError(f"exercises with an answer-check sentence {sorted(kinds)} differ from "
                         f"those their solutions check {sorted(answers)}")
    table = {}
    for exercise in sorted(kinds, key=lambda ex: tuple(map(int, ex.split(".")))):
        entry = dict(kinds[exercise], salt=(old or {}).get(exercise, {}).get("salt") or secrets.token_hex(16))
        text = homework.canonical(entry, answers[exercise])
        if text is None:
            raise ValueError(f"the solution's answer to {exercise}, {answers[exercise]!r}, is not "
                             f"{homework.asks_for(entry)}")
        table[exercise] = dict(entry, hash=homework.digest(entry["salt"], exercise, text))
    return table


def main():
    old = json.loads(TABLE.read_text(encoding="utf-8")) if TABLE.exists() else {}
    table = build_table(stated_kinds(), recorded_answers(), old)
    TABLE.write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {TABLE.relative_to(HERE.parent)}: {len(table)} checkable exercises "
          f"({', '.join(table)})")


if __name__ == "__main__":
    main()
