"""The tutorials' answer checks (``refsnn.homework``) and the two course editions.

What is claimed, one test (or one parametrised family) each:

* every exercise of the tutorials is either checkable (its text ends with an "Answer
  check:" sentence naming ``refsnn.homework.check``) or listed below as open-ended, with
  the reason; the table ``refsnn/_data/homework.json`` has exactly the checkable ones, of
  the kind their sentence states;
* for every checkable exercise the answer its worked solution asserts passes, and a wrong
  one fails; numbers are rounded half away from zero at the stated precision, so the
  near-misses on either side of a rounding boundary land where that rule says;
* ``refsnn/`` holds no answer in the clear;
* bad input returns False with a reason, or raises TypeError for an exercise id that is
  not a string (as ``refsnn/homework.py`` documents);
* the student edition has no link into ``solutions/`` and keeps every exercise and every
  answer-check sentence; the instructor edition has every solution link.

The right answers are those the solutions check, recorded while they run (the
``run_solution`` fixture of ``tests/conftest.py``, whose runs ``tests/test_tutorials.py``
shares), so no answer is written down in the tests either.
"""

import importlib.util
import json
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from refsnn import homework

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "tutorials"


def load(name):
    """A maintainer script of ``tutorials/`` as a module."""
    spec = importlib.util.spec_from_file_location(name, TUTORIALS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_homework = load("build_homework")
build_notebooks = load("build_notebooks")

#: Exercises without an answer check, and why: their answers are proofs, code, timings or
#: explanations of a network the student builds.
OPEN_ENDED = {
    "1.2": "a proof and a counterexample of the student's choice",
    "2.2": "a derivation, checked against refsnn.parallel_neuron",
    "4.3": "code, checked against refsnn.parallel_neuron",
    "5.2": "an explanation, on a channel the student constructs",
    "5.3": "a comparison on a network the student builds",
    "7.1": "timings, which depend on the machine",
    "7.2": "timings, which depend on the machine",
    "7.3": "a demonstration in code and an explanation",
}
ITEMS = {ex: text for path in build_homework.tutorials() for ex, text in build_homework.exercise_items(path).items()}
CHECKABLE = sorted(homework.table(), key=lambda ex: tuple(map(int, ex.split("."))))
#: A markdown link's target, which an edition rewrites for its folder.
LINK_TARGET = re.compile(r"\]\([^)]*\)")
DECIMALS = [ex for ex in CHECKABLE if homework.table()[ex]["kind"] == "decimals"]


@pytest.fixture(scope="module")
def answers(run_solution):
    """{exercise: the answer its solution checks}, from one run of each solution."""
    recorded = {}
    for path in sorted((TUTORIALS / "solutions").glob("[0-9]*.py")):
        if "homework.check(" in path.read_text(encoding="utf-8"):
            recorded.update(run_solution(path)[1])
    return recorded


def wrong(entry, answer):
    """An answer of the right kind that is not ``answer``."""
    kind = entry["kind"]
    if kind == "decimals":
        step = Decimal(1).scaleb(-entry["decimals"])
        return float(Decimal(homework.round_half_away(answer, entry["decimals"])) + step)
    if kind == "integer":
        return int(answer) + 1
    if kind == "integers":
        return [int(answer[0]) + 1, *answer[1:]]
    if kind == "yes/no":
        return "no" if homework.canonical(entry, answer) == "yes" else "yes"
    return next(option for option in entry["options"] if option != homework.canonical(entry, answer))


def test_every_exercise_is_checkable_or_open_ended():
    assert len(ITEMS) >= 24
    assert not set(CHECKABLE) & set(OPEN_ENDED), "an exercise cannot be both checkable and open-ended"
    unlisted = set(ITEMS) - set(CHECKABLE) - set(OPEN_ENDED)
    assert not unlisted, f"exercises {sorted(unlisted)} have no answer check and are not listed as open-ended"
    assert set(OPEN_ENDED) <= set(ITEMS) and set(CHECKABLE) <= set(ITEMS)
    for exercise in OPEN_ENDED:
        assert "Answer check:" not in ITEMS[exercise], f"{exercise} is listed as open-ended but has an answer check"


def test_the_table_has_the_kinds_the_exercises_state():
    stated = build_homework.stated_kinds()
    stored = {ex: {k: v for k, v in entry.items() if k not in ("salt", "hash")}
              for ex, entry in homework.table().items()}
    assert stored == stated, "rerun python tutorials/build_homework.py"


def test_every_checkable_solution_asserts_its_check(answers):
    for exercise in CHECKABLE:
        number = exercise.split(".")[0]
        solution = next((TUTORIALS / "solutions").glob(f"{int(number):02d}_*.py"))
        call = rf'^assert refsnn\.homework\.check\("{re.escape(exercise)}", '
        assert re.search(call, solution.read_text(encoding="utf-8"), flags=re.M), (
            f"{solution.name} does not assert refsnn.homework.check(\"{exercise}\", …)")
    assert sorted(answers) == sorted(CHECKABLE)


@pytest.mark.parametrize("exercise", CHECKABLE)
def test_the_solutions_answer_passes_and_a_wrong_one_fails(exercise, answers, capsys):
    assert homework.check(exercise, answers[exercise])
    assert capsys.readouterr().out == f"{exercise}: right\n"
    assert not homework.check(exercise, wrong(homework.table()[exercise], answers[exercise]))
    assert capsys.readouterr().out.startswith(f"{exercise}: wrong")


@pytest.mark.parametrize("exercise", DECIMALS)
def test_near_misses_at_the_rounding_boundary(exercise, answers):
    """With r the right answer at d decimals and u = 10^-d: r ± 0.4u pass, the tie toward
    zero (|r| − u/2) rounds away from zero to r and passes, the tie away from zero
    (|r| + u/2) rounds to the next value and fails, and r ± 0.6u fail."""
    d = homework.table()[exercise]["decimals"]
    r, u = Decimal(homework.round_half_away(answers[exercise], d)), Decimal(1).scaleb(-d)
    sign = -1 if r < 0 else 1
    passes = [r + u * Decimal("0.4"), r - u * Decimal("0.4"), r - sign * u / 2]
    fails = [r + sign * u / 2, r + u * Decimal("0.6"), r - u * Decimal("0.6")]
    for value in passes:
        assert homework.verdict(exercise, float(value))[0], f"{exercise}: {value} should round to {r}"
        assert homework.verdict(exercise, Fraction(value))[0], f"{exercise}: Fraction({value}) should round to {r}"
    for value in fails:
        assert not homework.verdict(exercise, float(value))[0], f"{exercise}: {value} should not round to {r}"


@pytest.mark.parametrize("value, decimals, text", [
    (0.0625, 3, "0.063"),  # a binary tie: round() and np.round give 0.062 (half to even)
    (0.125, 2, "0.13"),  # round(0.125, 2) == 0.12
    (-0.125, 2, "-0.13"),  # away from zero for negatives too
    (2.675, 2, "2.68"),  # read as typed, not as the binary 2.67499…: round(2.675, 2) == 2.67
    (0.3335, 3, "0.334"),
    (0.3334999, 3, "0.333"),
    (Fraction(-1, 32), 4, "-0.0313"),
    (Fraction(1, 3), 3, "0.333"),
    (7, 1, "7.0"),
    (np.int64(-7), 2, "-7.00"),
    (np.float64(-2.5), 0, "-3"),
    (np.float32(0.25), 1, "0.3"),
    (-0.0004, 3, "0.000"),  # no negative zero
    (1e-20, 2, "0.00"),
])
def test_rounding_is_half_away_from_zero(value, decimals, text):
    assert homework.round_half_away(value, decimals) == text


def test_salts_differ_and_enter_the_hash(answers):
    table = homework.table()
    salts = [entry["salt"] for entry in table.values()]
    assert len(set(salts)) == len(salts) and all(len(salt) == 32 for salt in salts)
    for exercise, entry in table.items():
        text = homework.canonical(entry, answers[exercise])
        assert homework.digest(entry["salt"], exercise, text) == entry["hash"]
        assert homework.digest("", exercise, text) != entry["hash"]
        assert homework.digest(entry["salt"], "0.0", text) != entry["hash"]


def test_no_answer_is_in_the_package_in_the_clear(answers):
    """No file of ``refsnn/`` holds an answer's decimal text (of two or more decimals; its
    unrounded digits for any), ``refsnn/homework.py`` and its
    table no list answer written as a list; the table holds only kinds, salts and hashes."""
    texts = {path: path.read_text(encoding="utf-8", errors="ignore")
             for path in (ROOT / "refsnn").rglob("*")
             if path.is_file() and path.suffix in ("", ".py", ".json", ".md", ".txt", ".csv")}
    assert ROOT / "refsnn" / "_data" / "homework.json" in texts
    for exercise, answer in answers.items():
        entry = homework.table()[exercise]
        if entry["kind"] == "decimals":  # a one-decimal answer such as 0.3 is in any code: its digits only
            needles = {repr(float(answer))[:8]} | ({homework.round_half_away(answer, entry["decimals"])}
                                                   if entry["decimals"] > 1 else set())
        elif entry["kind"] == "integers":  # short lists such as "8, 16" occur in any code: scan the checks' files
            needles = {", ".join(map(str, answer)), ",".join(map(str, answer))}
        else:
            continue  # a whole number, yes/no or a word is everywhere; the table's keys are checked below
        for path, text in texts.items():
            if entry["kind"] == "integers" and path.stem != "homework":
                continue
            for needle in needles:
                assert needle not in text, f"{path.relative_to(ROOT)} holds the answer to {exercise}: {needle}"
    allowed = {"decimals": {"decimals"}, "integer": set(), "integers": {"length"}, "yes/no": set(),
               "choice": {"options"}}
    for exercise, entry in json.loads((ROOT / "refsnn" / "_data" / "homework.json").read_text()).items():
        assert set(entry) == {"kind", "salt", "hash"} | allowed[entry["kind"]], exercise
        assert re.fullmatch(r"[0-9a-f]{64}", entry["hash"]) and re.fullmatch(r"[0-9a-f]{32}", entry["salt"])


@pytest.mark.parametrize("exercise, answer, reason", [
    ("9.9", 1.0, "no such exercise: '9.9'; checkable exercises are 1.1, "),
    ("3.2", float("nan"), "this exercise asks for a number to 3 decimals"),
    ("3.2", float("inf"), "this exercise asks for a number to 3 decimals"),
    ("3.2", "0.5", "this exercise asks for a number to 3 decimals"),
    ("3.2", True, "this exercise asks for a number to 3 decimals"),
    ("2.3", 2.5, "this exercise asks for a whole number"),
    ("2.3", True, "this exercise asks for a whole number"),
    ("6.2", [3], "this exercise asks for a list of 2 whole numbers"),
    ("6.2", [3.5, 5], "this exercise asks for a list of 2 whole numbers"),
    ("2.1", 0, 'this exercise asks for yes or no (True/False or "yes"/"no")'),
    ("2.1", "maybe", "this exercise asks for yes or no"),
    ("8.1", "sideways", 'this exercise asks for one of "up", "down"'),
    ("3.2", 0.5, "3.2: wrong (read as 0.500; give the answer to 3 decimals)"),
])
def test_bad_answers_are_false_with_a_reason(exercise, answer, reason, capsys):
    assert homework.check(exercise, answer) is False
    assert reason in capsys.readouterr().out


def test_an_exercise_id_that_is_not_a_string_is_an_error():
    with pytest.raises(TypeError, match="exercise must be a string"):
        homework.check(3.2, 0.5)


def test_equivalent_forms_of_one_answer_agree():
    entry = {"kind": "yes/no"}
    assert {homework.canonical(entry, a) for a in (True, np.bool_(True), "yes", " Yes ", "YES")} == {"yes"}
    entry = {"kind": "integers", "length": 2}
    assert {homework.canonical(entry, a) for a in ([3, 5], (3, 5), np.array([3, 5]), [3.0, np.int64(5)])} == {"3,5"}
    assert homework.canonical({"kind": "integer"}, np.int32(7)) == homework.canonical({"kind": "integer"}, 7.0) == "7"


# The two editions: the transformation of each tutorial's text (no notebook is executed).

@pytest.mark.parametrize("path", build_homework.tutorials(), ids=lambda p: p.stem)
def test_the_student_edition_has_no_solution_and_every_exercise(path):
    text = path.read_text(encoding="utf-8")
    sources = set(build_notebooks.edition_sources("student"))
    student = build_notebooks.relink(build_notebooks.student_text(text), path, "student", sources)
    assert "solutions/" not in student and "[solution]" not in student and "Worked solutions" not in student
    original, kept = build_homework.exercise_items(path), build_homework.exercise_items(path, student)
    assert list(kept) == list(original)
    for exercise, item in original.items():
        expected = build_notebooks.SOLUTION_LINK.sub("", item).strip()
        assert LINK_TARGET.sub("]()", kept[exercise]) == LINK_TARGET.sub("]()", expected), f"{exercise} changed"
        assert ("Answer check:" in kept[exercise]) == (exercise in CHECKABLE)


@pytest.mark.parametrize("path", build_homework.tutorials(), ids=lambda p: p.stem)
def test_the_instructor_edition_links_every_solution(path):
    sources = set(build_notebooks.edition_sources("instructor"))
    instructor = build_notebooks.relink(path.read_text(encoding="utf-8"), path, "instructor", sources)
    solution = next((TUTORIALS / "solutions").glob(f"{path.stem[:2]}_*.py"))
    items = build_homework.exercise_items(path, instructor)
    assert list(items) == list(build_homework.exercise_items(path))
    for k, (exercise, item) in enumerate(items.items(), start=1):
        assert f"](solutions/{solution.stem}.ipynb#exercise-{k})" in item, f"{exercise}: no link to its solution"


@pytest.mark.parametrize("edition", build_notebooks.EDITIONS)
def test_every_link_of_an_edition_resolves(edition):
    """Relinked, each relative link points to a notebook of the edition or to a file of
    the repository."""
    sources = build_notebooks.edition_sources(edition)
    notebooks = {build_notebooks.edition_path(source, edition) for source in sources}
    for source in sources:
        text = source.read_text(encoding="utf-8")
        text = build_notebooks.student_text(text) if edition == "student" else text
        target = build_notebooks.edition_path(source, edition)
        for link in build_notebooks.RELATIVE_LINK.finditer(build_notebooks.relink(text, source, edition, set(sources))):
            linked = (target.parent / link[1]).resolve()
            assert linked in notebooks or linked.exists(), f"{edition}/{target.name}: {link[1]} resolves to nothing"


def test_the_student_edition_refuses_a_leftover_solution_link():
    with pytest.raises(ValueError, match="line 2 still points to a solution"):
        build_notebooks.student_text("# ## Exercises\n# see [the answer](solutions/01_x.md)\n")



@pytest.mark.parametrize("decimals, words", [(1, "a number to 1 decimal"), (3, "a number to 3 decimals")])
def test_what_a_decimal_exercise_asks_for_is_said_in_good_english(decimals, words):
    assert homework.asks_for({"kind": "decimals", "decimals": decimals}) == words
