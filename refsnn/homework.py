"""Answer checks for the tutorials' exercises, without the answers.

``check("3.2", 0.5)`` tells a student whether their answer to exercise 2 of tutorial 3
is right, and prints why. The package holds no answer in the clear: for each checkable
exercise ``refsnn/_data/homework.json`` stores what kind of answer it asks for, a random
salt and the SHA-256 of ``salt:exercise:answer``, where ``answer`` is the canonical text
of the answer (below). A check rounds the student's answer to the same text and compares
hashes.

The hash keeps answers out of sight, not out of reach: a yes/no answer has two values,
and a number to 3 decimals has a few thousand plausible ones, so anyone who tries them
all finds the right one. It is a self-check for students; grading is done by reading
their work. The salts keep two exercises with the same answer from having the same hash.

Kinds of answer, and their canonical text:

- ``decimals``: a real number to ``decimals`` places, rounded half away from zero from
  the number as written (``repr`` of a float, so 2.675 is read as 2.675, not as the
  binary 2.67499…): to 2 places 2.675 → "2.68", −0.125 → "-0.13" (Python's ``round``
  and ``np.round`` round half to even and would give 2.67 and −0.12). A result that
  rounds to zero is "0.00", never "-0.00".
- ``integer``: a whole number: an ``int``, a NumPy integer or an integral float.
- ``integers``: a list or tuple of ``length`` whole numbers, in order: "1,2,3".
- ``yes/no``: ``True``/``False``, ``"yes"``/``"no"`` (any case): "yes" or "no".
- ``choice``: one of the listed ``options`` (any case): the option in lower case.

Bad input: an exercise id that is not a string is a programming error and raises
``TypeError``. Everything a student can get wrong (an unknown exercise, the wrong kind of
answer, NaN or an infinity, a list of the wrong length) returns False and says why, so
that a notebook cell prints a reason instead of a traceback.
"""

import hashlib
import json
import math
import numbers
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import lru_cache
from importlib import resources

import numpy as np


@lru_cache(maxsize=None)
def table():
    """The checkable exercises: {exercise: {"kind", "salt", "hash", and "decimals", "length"
    or "options" where the kind has one}}, read from ``refsnn/_data/homework.json``."""
    text = resources.files("refsnn").joinpath("_data", "homework.json").read_text(encoding="utf-8")
    return json.loads(text)


def exercises():
    """The ids of the checkable exercises, in tutorial order ("1.1", "1.3", …, "8.3")."""
    return sorted(table(), key=lambda ex: tuple(int(part) for part in ex.split(".")))


def asks_for(entry):
    """What an exercise asks for, in words: "a number to 3 decimals", "yes or no", …"""
    kind = entry["kind"]
    if kind == "decimals":
        return f"a number to {entry['decimals']} decimal{'s' if entry['decimals'] != 1 else ''}"
    if kind == "integer":
        return "a whole number"
    if kind == "integers":
        return f"a list of {entry['length']} whole numbers"
    if kind == "yes/no":
        return 'yes or no (True/False or "yes"/"no")'
    return "one of " + ", ".join(f'"{option}"' for option in entry["options"])


def round_half_away(value, decimals):
    """``value`` rounded to ``decimals`` places, half away from zero, as text ("0.50").

    A float is read as its shortest ``repr`` (what was typed or printed), a Fraction or an
    int exactly; raises ValueError for NaN and infinities.
    """
    if isinstance(value, numbers.Integral):
        exact = Decimal(int(value))
    elif isinstance(value, Fraction):
        exact = Decimal(value.numerator) / Decimal(value.denominator)
    else:
        if not math.isfinite(float(value)):
            raise ValueError(f"the answer is {float(value)}, not a finite number")
        exact = Decimal(repr(float(value)))
    text = str(exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))
    return text[1:] if text.startswith("-") and not Decimal(text) else text


def _whole(value):
    """``value`` as an int if it is a whole number (not a bool), else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(float(value)) and float(value).is_integer():
        return int(value)
    return None


def canonical(entry, answer):
    """The canonical text of ``answer`` for an exercise of kind ``entry``, or None if the
    answer is not of that kind (see the module docstring)."""
    kind = entry["kind"]
    if kind == "decimals":
        if isinstance(answer, (bool, np.bool_)) or not isinstance(answer, numbers.Real):
            return None
        try:
            return round_half_away(answer, entry["decimals"])
        except ValueError:
            return None
    if kind == "integer":
        whole = _whole(answer)
        return None if whole is None else str(whole)
    if kind == "integers":
        if not isinstance(answer, (list, tuple, np.ndarray)) or len(answer) != entry["length"]:
            return None
        wholes = [_whole(value) for value in answer]
        return None if None in wholes else ",".join(map(str, wholes))
    if kind == "yes/no":
        if isinstance(answer, (bool, np.bool_)):
            return "yes" if answer else "no"
        text = answer.strip().lower() if isinstance(answer, str) else None
        return text if text in ("yes", "no") else None
    text = answer.strip().lower() if isinstance(answer, str) else None
    return text if text in [option.lower() for option in entry["options"]] else None


def digest(salt, exercise, text):
    """SHA-256 of ``salt:exercise:text``, in hex: what ``homework.json`` stores."""
    return hashlib.sha256(f"{salt}:{exercise}:{text}".encode()).hexdigest()


def verdict(exercise, answer):
    """(right, reason) for ``answer`` to ``exercise``; :func:`check` prints the reason."""
    if not isinstance(exercise, str):
        raise TypeError(f"exercise must be a string such as \"3.2\", got {exercise!r}")
    entry = table().get(exercise.strip())
    if entry is None:
        return False, f"no such exercise: {exercise!r}; checkable exercises are {', '.join(exercises())}"
    text = canonical(entry, answer)
    if text is None:
        return False, f"{exercise}: this exercise asks for {asks_for(entry)}, got {answer!r}"
    if digest(entry["salt"], exercise.strip(), text) == entry["hash"]:
        return True, f"{exercise}: right"
    how = ""
    if entry["kind"] == "decimals":
        how = f" (read as {text}; give the answer to {asks_for(entry).removeprefix('a number to ')})"
    return False, f"{exercise}: wrong{how}"


def check(exercise, answer):
    """Is ``answer`` the answer to ``exercise`` ("3.2": tutorial 3, exercise 2)?

    Parameters
    ----------
    exercise : str
        The exercise's id, "tutorial.exercise"; :func:`exercises` lists the checkable ones.
    answer : float, int, list of int, bool or str
        What the exercise asks for (its text says): a number to the stated decimals, a
        whole number, a list of whole numbers, yes/no, or one of the named words.

    Returns
    -------
    bool
        True if right. A short reason ("3.2: right", "3.2: wrong (read as 0.500; …)",
        "this exercise asks for yes or no …") is printed either way.
    """
    right, reason = verdict(exercise, answer)
    print(reason)
    return right
