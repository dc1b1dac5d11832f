"""The paper's neuron-level claims as runnable properties: one source for the tests and ``refsnn verify``.

A claim is one decorated function, in the manner of a Hypothesis example:

.. code-block:: python

    @claim("sorting", "the sorting property", given=_exact_grid, neuron="parallel")
    def sorted_on_grid(value, neuron):
        \"\"\"every paper-order spike train is 0…0 1…1, for the dense, hadamard and binary methods\"\"\"
        _check_sorted(*value, parallel.METHODS, neuron)

``@claim`` gives its name, where it comes from (the paper's own name for it, or the section
of ``tutorials/00_notation.md`` for what refsnn adds), the Hypothesis strategy of its
inputs and the neuron it exercises, and adds it to :data:`CLAIMS`. The docstring's first
paragraph is the claim's one-line statement; the body is the property, which raises
:class:`Violation`, describing the input, when it fails. ``claim.run(examples, seed)``
returns an :class:`Outcome`.

- A claim that should **hold** is a property over inputs that keep float arithmetic exact
  (:mod:`refsnn._strategies`: dyadic currents, power-of-two θ). If it fails, Hypothesis
  shrinks the failing input, and the outcome describes the shrunk case.
- A claim that expects a **counterexample** (``expect="counterexample"``) has as its
  property the naive statement that the paper's guarantee carries over (a leaky integrator
  under the IF neuron's row factors is still sorted, an IF count still equals the QCFS level, ...). Hypothesis must make it
  fail; the outcome is the shrunk case it found.
- An **exhaustive** claim (no ``given``) checks every case itself: the expectation at
  T ≠ T̃ is computed exactly for every pair T, T̃ <= 64, not sampled.

``@claim(against=...)`` marks the claims that also run on a neuron implemented elsewhere
(``refsnn verify --against``, :func:`verify`). Their properties call the neuron only in the
calling convention of :mod:`refsnn.against`, ``neuron(currents, theta, psi)`` or
``neuron(currents, theta, v0)``, and :func:`verify` passes them the implementation instead
of refsnn's own neuron. ``against="also"``: ``refsnn verify`` runs it on refsnn's neuron
too; ``against="only"``: it checks other implementations only (exact ties, agreement with
refsnn on random floats), and its property may read the neuron's ``order``.

``seed=None`` runs derandomized (the same examples on every run); an integer seed draws
other examples, reproducibly. Hypothesis is imported only when a claim runs, so
``import refsnn.claims`` stays cheap. ``tests/test_theorems.py`` runs every claim, and
``refsnn verify`` (:mod:`refsnn.programs.verify`) prints them as a report;
``tests/test_against.py`` runs the ``against`` claims on refsnn's kernels and on broken ones.

Examples
--------
>>> from refsnn.claims import claim_named
>>> claim = claim_named("theorem-4.1-T-equal")
>>> claim.where
'Theorem 4.1, case T = T̃'
>>> claim.run(examples=5).result
'holds'
"""

import functools
import inspect
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import numpy as np

from ._checks import as_int
from .against import ConventionError, Implementation
from .neurons import integrate_fire, parallel, quantization, theory, variants

__all__ = [
    "Claim",
    "Outcome",
    "Violation",
    "CLAIMS",
    "AGAINST_CLAIMS",
    "DEFAULT_EXAMPLES",
    "SEARCH_EXAMPLES",
    "EXPECTED",
    "RESULTS",
    "NEURONS",
    "claim",
    "claim_named",
    "against_claims",
    "verify",
]

#: Examples per property in ``refsnn verify`` by default.
DEFAULT_EXAMPLES = 500

#: A search for an expected counterexample tries at least this many examples, whatever
#: ``examples`` says: it stops at the first one found, so this costs nothing when it works.
SEARCH_EXAMPLES = 1000

#: What a claim expects, and the results a run can give.
EXPECTED = ("holds", "counterexample")
RESULTS = ("holds", "fails", "found", "not found")

#: The neurons a claim can exercise (``@claim(neuron=...)``), as (module, function name).
#: They are looked up each time a claim runs, so that a test can swap in a broken neuron.
NEURONS = {
    "parallel": (parallel, "parallel_neuron"),
    "if": (integrate_fire, "if_neuron"),
    "leaky": (variants, "leaky_parallel_neuron"),
    "no-reset": (variants, "no_reset_neuron"),
}

#: Where refsnn's additions are explained.
NOTATION = "refsnn: tutorials/00_notation.md"
BREAK = f"{NOTATION}, Where the theorems break"

#: Every claim, in the order ``refsnn verify`` reports them: ``@claim`` appends each one.
CLAIMS = []

#: The claims ``refsnn verify --against`` runs, in the order it reports them (``@claim(against=...)``).
AGAINST_CLAIMS = []

#: Where a claim runs: ``refsnn verify`` only (None), also against other implementations, or only there.
AGAINST = (None, "also", "only")


class Violation(AssertionError):
    """A property failed; the message describes the input and what went wrong."""


@dataclass(frozen=True)
class Outcome:
    """The result of running one claim.

    Attributes
    ----------
    result : {"holds", "fails", "found", "not found"}
        "holds"/"fails" for a claim that should hold, "found"/"not found" for one that
        expects a counterexample.
    examples : int
        Inputs tried: all of them if none failed, else up to and including the first
        failure (shrinking not counted). Exhaustive claims count the cases checked.
    counterexample : str or None
        The shrunk failing input and what went wrong, if a property failed.
    agreement : tuple or None
        (agreeing, of, what) for a claim that measures agreement, e.g.
        ``(3084, 3084, "exact ties as the closed form")``.
    """

    result: str
    examples: int
    counterexample: str | None = None
    agreement: tuple | None = None

    @property
    def as_expected(self):
        """True if a claim held or an expected counterexample was found."""
        return self.result in ("holds", "found")


@dataclass(frozen=True)
class Claim:
    """One claim: ``run(examples, seed=None)`` checks it and returns an :class:`Outcome`.

    Made by :func:`claim`, whose parameters these attributes are.

    Attributes
    ----------
    name : str
        A short identifier, e.g. ``"theorem-4.1-T-equal"``.
    statement : str
        The claim in one line: the first paragraph of the property's docstring.
    where : str
        The paper's name for it, or ``"refsnn: tutorials/00_notation.md, <section>"``.
    expected : {"holds", "counterexample"}
    prop : callable
        The property: ``prop(value)``, or ``prop(value, neuron)`` if ``neuron`` is set,
        raises :class:`Violation` when it fails. An exhaustive claim's ``prop()`` returns
        (failure message or None, cases checked), and may take ``neuron`` and ``seed``
        and add the :attr:`Outcome.agreement` as a third item.
    given : callable or None
        Returns the Hypothesis strategy of ``value``; None for an exhaustive claim.
    explicit : tuple
        Inputs tried before the generated ones (exact ties that random draws rarely hit).
    neuron : str or None
        A key of :data:`NEURONS`: the neuron function passed to ``prop``.
    against : {None, "also", "only"}
        Whether ``refsnn verify --against`` runs it too ("also") or instead ("only").
    """

    name: str
    statement: str
    where: str
    expected: str
    prop: Callable
    given: Callable | None = None
    explicit: tuple = ()
    neuron: str | None = None
    against: str | None = None

    def run(self, examples=DEFAULT_EXAMPLES, seed=None, neuron=None):
        """Run the claim and return its :class:`Outcome`.

        Parameters
        ----------
        examples : int
            Examples of a property that should hold, >= 1. A counterexample search tries
            at least :data:`SEARCH_EXAMPLES`. Exhaustive claims ignore it.
        seed : int, optional
            Seed of the examples, >= 0; None derandomizes (the same examples every run).
        neuron : refsnn.against.Implementation, optional
            The neuron to check, for a claim with ``against`` set; refsnn's own
            (:data:`NEURONS`) by default.
        """
        examples = as_int("examples", examples)
        seed = None if seed is None else as_int("seed", seed, minimum=0)
        if neuron is not None and self.against is None:
            raise ValueError(f"claim {self.name!r} runs on refsnn's neuron only (against=None)")
        if self.expected == "counterexample":
            examples = max(examples, SEARCH_EXAMPLES)
        neuron = self._neuron(neuron)
        if self.given is None:
            failure, tried, agreement = self._run_exhaustive(neuron, seed)
        else:
            (failure, tried), agreement = self._run_property(examples, seed, neuron), None
        if self.expected == "holds":
            result = "holds" if failure is None else "fails"
        else:
            result = "not found" if failure is None else "found"
        return Outcome(result, tried, failure, agreement)

    def _neuron(self, given):
        """The neuron passed to ``prop``: ``given``, else refsnn's (an Implementation for "only" claims)."""
        if given is not None or self.neuron is None:
            return given
        fire = getattr(*NEURONS[self.neuron])
        return Implementation(fire, self.neuron) if self.against == "only" else fire

    def _run_exhaustive(self, neuron, seed):
        """(failure or None, cases checked, agreement or None) of an exhaustive claim.

        ``prop`` gets the ``neuron`` and ``seed`` (0 when derandomized) it names as
        parameters. A neuron that breaks the calling convention ends the claim, as one case.
        """
        available = {"neuron": neuron, "seed": 0 if seed is None else seed}
        wanted = inspect.signature(self.prop).parameters
        try:
            result = self.prop(**{key: value for key, value in available.items() if key in wanted})
        except ConventionError as exc:
            return str(exc), 1, None
        return tuple(result) + (None,) * (3 - len(result))

    def _run_property(self, examples, seed, neuron):
        """Run ``prop`` under Hypothesis: (failure message or None, examples tried).

        Hypothesis shrinks a failure and replays the shrunk input last, so the
        :class:`Violation` it raises describes the shrunk case. A crash is a failure too,
        reported with its input. Hypothesis derives a derandomized run's examples from the
        source of ``test``, so editing ``test`` changes the examples ``refsnn verify`` tries.
        A neuron that breaks the calling convention fails the property, in its own words.
        """
        from hypothesis import example, given

        prop = self.prop
        if self.neuron is not None:
            prop = functools.partial(prop, neuron=neuron)
        tried = {"count": 0, "failed": False}

        def test(value):
            if not tried["failed"]:
                tried["count"] += 1
            try:
                prop(value)
            except Violation:
                tried["failed"] = True
                raise
            except ConventionError as exc:  # names the input and what came back
                tried["failed"] = True
                raise Violation(str(exc)) from exc
            except Exception as exc:  # a crash is a failure too: say on which input
                tried["failed"] = True
                raise Violation(f"{_short(value)}: {type(exc).__name__}: {exc}") from exc

        test = given(self.given())(test)
        for value in self.explicit:
            test = example(value)(test)
        try:
            _configured(test, examples, seed)()
        except Violation as exc:
            return str(exc), tried["count"]
        except Exception as exc:  # Hypothesis itself gave up (flaky, unsatisfiable, ...): a failure
            return f"{type(exc).__name__}: {exc}", tried["count"]
        return None, tried["count"]


def claim(name, where, *, given=None, explicit=(), neuron=None, expect="holds", against=None):
    """Register the decorated property as a :class:`Claim` in :data:`CLAIMS`; return it unchanged.

    Parameters
    ----------
    name : str
        The claim's identifier.
    where : str
        The paper's name for it, or ``"refsnn: tutorials/00_notation.md, <section>"``.
    given : callable, optional
        Returns the Hypothesis strategy of the property's input; called when the claim
        runs, so that importing the claims does not import Hypothesis. Without it the
        claim is exhaustive.
    explicit : sequence, optional
        Inputs tried before the generated ones.
    neuron : str, optional
        A key of :data:`NEURONS`: the neuron the property exercises, passed to it as its
        ``neuron`` argument.
    expect : {"holds", "counterexample"}
        Whether the claim should hold, or its property must fail on some input.
    against : {None, "also", "only"}
        ``"also"``: :data:`AGAINST_CLAIMS` too, ``"only"``: there instead of :data:`CLAIMS`,
        for a claim whose property calls a parallel or IF neuron in the calling convention.
    """
    if expect not in EXPECTED:
        raise ValueError(f"expect must be one of {EXPECTED}, got {expect!r}")
    if neuron is not None and neuron not in NEURONS:
        raise ValueError(f"neuron must be one of {list(NEURONS)} or None, got {neuron!r}")
    if against not in AGAINST or (against is not None and neuron not in ("parallel", "if")):
        raise ValueError(f"against must be one of {AGAINST}, and set only for a parallel or IF neuron, "
                         f"got against={against!r}, neuron={neuron!r}")

    def register(prop):
        statement = " ".join(inspect.getdoc(prop).split("\n\n")[0].split())
        made = Claim(name, statement, where, expect, prop, given, tuple(explicit), neuron, against)
        if against != "only":
            CLAIMS.append(made)
        if against is not None:
            AGAINST_CLAIMS.append(made)
        return prop

    return register


def claim_named(name):
    """The claim called ``name``, in :data:`CLAIMS` or :data:`AGAINST_CLAIMS` (ValueError otherwise)."""
    known = CLAIMS + [c for c in AGAINST_CLAIMS if c not in CLAIMS]
    for registered in known:
        if registered.name == name:
            return registered
    raise ValueError(f"name must be one of {[c.name for c in known]}, got {name!r}")


def against_claims(kind):
    """The claims ``refsnn verify --against`` runs on a neuron of ``kind`` ("parallel" or "if")."""
    if kind not in ("parallel", "if"):
        raise ValueError(f"kind must be 'parallel' or 'if', got {kind!r}")
    return [c for c in AGAINST_CLAIMS if c.neuron == kind]


# --------------------------------------------------------------------------- Theorem 4.1


def _dyadic_with_mean_and_method():
    from hypothesis import strategies as st

    from ._strategies import dyadic_currents_with_mean

    return st.tuples(dyadic_currents_with_mean(T=st.integers(1, 64)), st.sampled_from(["hadamard", "binary"]))


_TIE = (np.full((4, 1), 0.375), 1.0)  # T·Ī + ψ = 2θ: an exact tie


@claim("theorem-4.1-T-equal", "Theorem 4.1, case T = T̃", given=_dyadic_with_mean_and_method, neuron="parallel",
       explicit=[((np.array([[0.0], [0.0], [0.0], [2.0]]), 1.0), "hadamard"), (_TIE, "hadamard"), (_TIE, "binary")])
def lossless(value, neuron):
    """the parallel count is the QCFS level of the mean current, so the rate is Q_T(Ī) exactly

    count = clip(floor((T·Ī + ψ)/θ), 0, T), the QCFS level of Ī, and (θ/T)·count = Q_T(Ī).
    """
    (currents, theta), method = value
    T = currents.shape[0]
    mean = currents.mean(axis=0)
    count = neuron(currents, theta, method=method).sum(axis=0)
    level = quantization.qcfs_level(mean, theta, T)
    rate, activation = (theta / T) * count, quantization.qcfs(mean, theta, T)
    wrong = (count != level) | (rate != activation)
    if wrong.any():
        j = _first(wrong)
        raise Violation(f"{_input(currents, theta, j, method=method)}: parallel count {count.flat[j]}, "
                        f"QCFS level of the mean {level.flat[j]}")


#: T and T̃ run over 1..EXHAUSTIVE_MAX in the exact claims about the expectation.
EXHAUSTIVE_MAX = 64


def _pairs():
    return [(T, T_tilde) for T in range(1, EXHAUSTIVE_MAX + 1)
            for T_tilde in range(1, EXHAUSTIVE_MAX + 1) if T != T_tilde]


@claim("theorem-4.1-T-differ", "Theorem 4.1, case T ≠ T̃")
def expectation_vanishes():
    """E[Q_T(z) − Q_T̃(z)] = 0 for z ~ U[0, θ] at ψ = θ/2, every T ≠ T̃ <= 64 (exact)

    Computed exactly with fractions (:func:`refsnn.neurons.theory.expected_conversion_error`).
    """
    pairs = _pairs()
    for tried, (T, T_tilde) in enumerate(pairs, start=1):
        error = theory.expected_conversion_error(T, T_tilde)
        if error != 0:
            return f"T = {T}, T̃ = {T_tilde}, ψ = θ/2: E[Q_T − Q_T̃] = {_fraction_of_theta(error)}", tried
    return None, len(pairs)


#: The shifts other than θ/2 at which the expectation must fail: ψ = kθ/8.
OTHER_SHIFTS = tuple(Fraction(k, 8) for k in range(9) if k != 4)


@claim("theorem-4.1-needs-half-shift", "Theorem 4.1, case T ≠ T̃", expect="counterexample")
def expectation_needs_half_shift():
    """at a shift ψ ≠ θ/2 the expected error E[Q_T − Q_T̃] is not zero (exact, ψ = kθ/8)

    Found when every shift ψ = kθ/8 ≠ θ/2 has a pair T ≠ T̃ <= 64 with a nonzero expected error.
    """
    pairs, tried, found = _pairs(), 0, []
    for shift in OTHER_SHIFTS:
        for T, T_tilde in pairs:
            tried += 1
            error = theory.expected_conversion_error(T, T_tilde, shift)
            if error != 0:
                found.append((shift, T, T_tilde, error))
                break
        else:
            return None, tried  # a shift where the expectation vanishes for every pair
    shift, T, T_tilde, error = found[0]
    return (f"ψ = {_fraction_of_theta(shift)}, T = {T}, T̃ = {T_tilde}: E[Q_T − Q_T̃] = "
            f"{_fraction_of_theta(error)} (and a nonzero pair at each of the {len(found)} shifts "
            f"ψ = kθ/8 ≠ θ/2)"), tried


# --------------------------------------------------------------------------- the sorting property and firing rule


def _exact_grid(T_max=64):
    from hypothesis import strategies as st

    from ._strategies import dyadic_currents

    return dyadic_currents(T=st.integers(1, T_max))


def _check_sorted(currents, theta, methods, neuron):
    """Every paper-order train of each method is 0…0 1…1 (Violation naming the first that is not)."""
    for method in methods:
        spikes = neuron(currents, theta, method=method)
        bad = _unsorted(spikes)
        if bad.any():
            j = _first(bad)
            raise Violation(f"{_input(currents, theta, j, method=method)}: spikes {_train(spikes, j)}")


@claim("sorting", "the sorting property", given=_exact_grid, neuron="parallel")
def sorted_on_grid(value, neuron):
    """every paper-order spike train is 0…0 1…1, for the dense, hadamard and binary methods"""
    _check_sorted(*value, parallel.METHODS, neuron)


def _float_currents():
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    shapes = hnp.array_shapes(min_dims=2, max_dims=2, max_side=40)
    return st.tuples(hnp.arrays(np.float64, shapes, elements=st.floats(-1e3, 1e3)), st.floats(1e-3, 1e3))


@claim("sorting-in-floats", f"{NOTATION}, Float ties", given=_float_currents, neuron="parallel")
def sorted_in_floats(value, neuron):
    """hadamard and binary trains stay 0…0 1…1 for arbitrary float currents and θ

    H_x = (Σ + ψ)/(T − x + 1) is monotone in x after rounding: correctly rounded division
    is monotone in the divisor.
    """
    _check_sorted(*value, ("hadamard", "binary"), neuron)


def _exact_grid_and_dtype():
    from hypothesis import strategies as st

    from ._strategies import dtypes

    return st.tuples(_exact_grid(), dtypes)


@claim("closed-form", f"{NOTATION}, Parallel firing rule", given=_exact_grid_and_dtype, neuron="parallel",
       explicit=[((np.array([[1.0], [0.875], [0.625]]), 1.0), np.float64)])  # Σ + ψ = 3θ: a tie
def closed_form(value, neuron):
    """all three methods fire N = clip(floor((Σ + ψ)/θ), 0, T) spikes as 0…0 1…1 (dense except at exact ties)

    The count is computed exactly, with fractions. ``closed_form_count`` and
    ``first_spike_step`` give the same count. The dense product sums rounded entries such
    as 1/3, so it must agree only where (Σ + ψ)/θ is not an exact integer.
    """
    from ._strategies import exact_count

    (currents, theta), dtype = value
    currents = currents.astype(dtype)
    T = currents.shape[0]
    count = exact_count(currents, theta, theta / 2)
    expected = np.arange(1, T + 1)[:, None] > T - count.ravel()[None, :]
    expected = expected.reshape(currents.shape)
    total = parallel.total_current(currents)
    shifted = (total.astype(np.float64) + theta / 2) / theta
    off_tie = shifted != np.floor(shifted)
    for method in parallel.METHODS:
        spikes = neuron(currents, theta, method=method)
        wrong = (spikes != expected).any(axis=0)
        if method == "dense":
            wrong &= off_tie
        if wrong.any():
            j = _first(wrong)
            raise Violation(f"{_input(currents, theta, j, method=method)}: spikes {_train(spikes, j)}, "
                            f"closed form {_train(expected, j)} (count {count.flat[j]})")
    checks = {"closed_form_count": parallel.closed_form_count(total, theta, T),
              "T + 1 - first_spike_step": T + 1 - parallel.first_spike_step(currents, theta)}
    for name, got in checks.items():
        wrong = got != count
        if wrong.any():
            j = _first(wrong)
            raise Violation(f"{_input(currents, theta, j)}: {name} {got.flat[j]}, exact count {count.flat[j]}")


def _short_grid_and_method():
    from hypothesis import strategies as st

    return st.tuples(_exact_grid(16), st.sampled_from(parallel.METHODS))


@claim("spike-orders", f"{NOTATION}, Spike order", given=_short_grid_and_method, neuron="parallel")
def orders(value, neuron):
    """order='code' is the time reverse of order='paper', with the same counts

    With order="code" the spikes fill the first N steps instead of the last.
    """
    (currents, theta), method = value
    paper = neuron(currents, theta, method=method, order="paper")
    code = neuron(currents, theta, method=method, order="code")
    wrong = (code != paper[::-1]).any(axis=0) | (code.sum(axis=0) != paper.sum(axis=0))
    if wrong.any():
        j = _first(wrong)
        raise Violation(f"{_input(currents, theta, j, method=method)}: paper order {_train(paper, j)}, "
                        f"code order {_train(code, j)}")


# --------------------------------------------------------------------------- IF neurons and float ties


def _steps_grid_and_threshold():
    from hypothesis import strategies as st

    from ._strategies import thresholds

    return st.tuples(st.integers(1, 64), st.integers(-16, 160), thresholds)


@claim("if-constant-input", f"{NOTATION}, IF neuron", given=_steps_grid_and_threshold, neuron="if",
       explicit=[(4, 4, 1.0), (2, 8, 1.0)], against="also")  # T·z + θ/2 a multiple of θ: ties
def if_constant(value, neuron):
    """for constant input the IF count is the QCFS level at L = T

    The input is z = kθ/32 at every step, an exact grid; the level is also computed exactly.
    """
    from ._strategies import GRID, exact_level

    T, k, theta = value
    z = k * (GRID * theta / 4)
    currents = np.full((T, 1), z)
    count = int(neuron(currents, theta, theta / 2).sum())
    exact = int(exact_level(z, theta, T, theta / 2))
    level = int(quantization.qcfs_level(z, theta, T))
    if not count == exact == level:
        raise Violation(f"T = {T}, θ = {_num(theta)}, I_t = {_num(z)} at every step: IF count {count}, "
                        f"QCFS level {level}, exact level {exact}")


def _floats_and_threshold():
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    shapes = st.tuples(st.integers(1, 32), st.integers(1, 8))
    return st.tuples(hnp.arrays(np.float64, shapes, elements=st.floats(-4, 4)), st.floats(0.05, 2))


@claim("floats-near-ties", f"{NOTATION}, Float ties", given=_floats_and_threshold, neuron="parallel")
def floats_near_ties(value, neuron):
    """with arbitrary floats, count and QCFS level of the mean differ by <= 1, only near a tie

    Near a tie means (T·Ī + ψ)/θ within a few ulps of an integer.
    """
    currents, theta = value
    T = currents.shape[0]
    mean = currents.mean(axis=0)
    count = neuron(currents, theta).sum(axis=0)
    level = quantization.qcfs_level(mean, theta, T)
    diff = count - level
    u = (T * mean + theta / 2) / theta
    ulps = np.spacing(np.abs(currents).sum(axis=0) + theta) / theta * (T + 4)
    near_tie = np.abs(u - np.round(u)) <= ulps
    wrong = (np.abs(diff) > 1) | ~(near_tie | (diff == 0))
    if wrong.any():
        j = _first(wrong)
        raise Violation(f"{_input(currents, theta, j)}: parallel count {count[j]}, "
                        f"QCFS level of the mean {level[j]}, (T·Ī + ψ)/θ = {float(u[j])!r}")


# --------------------------------------------------------------------------- the counterexamples


def _quarters(low=-8, high=8, max_T=8):
    """1-D integer arrays k of length 1..max_T; the currents are k·θ/4 with θ = 1."""
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    return hnp.arrays(np.int64, st.integers(1, max_T), elements=st.integers(low, high))


@claim("if-unevenness", f"{NOTATION}, IF neuron", given=_quarters, neuron="if", expect="counterexample")
def if_matches_level(k, neuron):
    """on uneven input the IF count can miss the QCFS level of the mean (the unevenness error)

    The property is the naive claim that the IF count equals the QCFS level of the mean,
    also for uneven input.
    """
    currents = k[:, None] * 0.25
    T = len(k)
    level = int(quantization.qcfs_level(currents.mean(axis=0), 1.0, T)[0])
    spikes = neuron(currents, 1.0)
    count = int(spikes.sum())
    if count != level:
        par = int(parallel.parallel_neuron(currents, 1.0).sum())
        raise Violation(f"{_input(currents, 1.0)}: IF spikes {_train(spikes)} (count {count}), "
                        f"QCFS level of the mean {level}, parallel count {par}")


def _quarters_and_leak():
    from hypothesis import strategies as st

    return st.tuples(_quarters(0, 8, 12), st.sampled_from([0.25, 0.5, 0.75]))


@claim("leaky-unsorted", BREAK, given=_quarters_and_leak, neuron="leaky", expect="counterexample")
def leaky_is_sorted(value, neuron):
    """a leaky integrator (λ < 1) with the IF neuron's factors c_x can fire an unsorted train

    The property is the naive claim that the parallel neuron stays sorted when L_T inside
    Λ_post becomes a leaky integrator while the row factors c_x = T/(x(T − x + 1)), which
    belong to L_T, are kept. It is this mismatch, not leakage, that breaks sorting: with its
    own factors c^λ_x = T/(g_x(T − x + 1)) the leaky neuron is the paper's Λ_pc again
    (tutorial 4, §4.3). An unsorted train also makes binary search return the wrong first
    step. Inputs whose potentials come within 1e-6 of θ are skipped: the break must not
    be a float tie.
    """
    k, leak = value
    currents = k[:, None] * 0.25
    T = len(k)
    Lam = variants.leaky_posterior_matrix(T, leak) @ np.full((T, T), 1.0 / T)
    H = Lam @ currents + 0.5 / (T - np.arange(T))[:, None]
    if np.abs(H - 1.0).min() < 1e-6:
        return
    spikes = neuron(currents, 1.0, leak)
    if _unsorted(spikes).any():
        raise Violation(f"{_input(currents, 1.0, λ=leak)}: spikes {_train(spikes)}")


def _steps_and_eighths():
    from hypothesis import strategies as st

    return st.tuples(st.integers(1, 16), st.integers(0, 16))


@claim("no-reset-overshoots", BREAK, given=_steps_and_eighths, neuron="no-reset", expect="counterexample")
def no_reset_matches_level(value, neuron):
    """a parallel neuron without reset fires more spikes than the QCFS level for constant input

    The property is the naive claim that without reset the count for a constant input
    z = k/8 is still the QCFS level.
    """
    from ._strategies import exact_level

    T, k = value
    z = k / 8
    currents = np.full((T, 1), z)
    spikes = neuron(currents, 1.0, v0=0.5)
    count, level = int(spikes.sum()), int(exact_level(z, 1.0, T, 0.5))
    if count != level:
        raise Violation(f"T = {T}, θ = 1, ψ = v0 = 0.5, I_t = {_num(z)} at every step: no-reset spikes "
                        f"{_train(spikes)} (count {count}), QCFS level {level}")


@claim("no-reset-unsorted", BREAK, given=_quarters, neuron="no-reset", expect="counterexample")
def no_reset_is_sorted(k, neuron):
    """a parallel neuron without reset can fire an unsorted train when a current is negative

    The property is the naive claim that the neuron without reset has the sorting property.
    """
    currents = k[:, None] * 0.25
    spikes = neuron(currents, 1.0)
    if _unsorted(spikes).any():
        raise Violation(f"{_input(currents, 1.0)}: no-reset spikes {_train(spikes)}")


def _tenths():
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    return hnp.arrays(np.int64, (5,), elements=st.integers(-20, 20))  # tenths, T = 5


@claim("float-tie", f"{NOTATION}, Float ties", given=_tenths, neuron="parallel", expect="counterexample",
       explicit=[np.array([5, 17, 19, -6, 0])])
def float_count_matches_level(k, neuron):
    """in float64 the parallel count can miss qcfs_level of the mean by one spike at an exact tie

    The property is the naive claim that in float64 the parallel count always equals
    ``qcfs_level`` of the mean, on currents of one decimal. The notation page's example
    ("Float ties") is tried first: Hypothesis's own one-decimal inputs hit such a tie
    rarely (none in its first 1000).
    """
    currents = (k / 10)[:, None]
    count = int(neuron(currents, 1.0).sum())
    level = int(quantization.qcfs_level(currents.mean(axis=0), 1.0, len(k))[0])
    if count != level:
        raise Violation(f"{_input(currents, 1.0)}: parallel count {count}, QCFS level of the mean {level} "
                        f"(float Σ_t I_t = {float(currents.sum())!r})")


# --------------------------------------------------------------------------- any implementation (--against)
#
# These properties call the neuron in the calling convention of refsnn.against, on inputs
# that are exact in float32; ``neuron.order`` says in which order a parallel neuron fires.


def _dyadic_with_mean():
    from hypothesis import strategies as st

    from ._strategies import dyadic_currents_with_mean

    return dyadic_currents_with_mean(T=st.integers(1, 64))


@claim("count-is-level", "Theorem 4.1, case T = T̃", given=_dyadic_with_mean, neuron="parallel", against="only",
       explicit=[(np.array([[0.0], [0.0], [0.0], [2.0]]), 1.0), _TIE])
def count_is_level(value, neuron):
    """the count is the QCFS level of the mean current, clip(floor((T·Ī + ψ)/θ), 0, T), at ψ = θ/2

    The level is computed exactly, with fractions; the currents are exact in float32.
    """
    from ._strategies import exact_level

    currents, theta = value
    T = currents.shape[0]
    mean = currents.mean(axis=0)
    count = neuron(currents, theta, theta / 2).sum(axis=0)
    level = exact_level(mean, theta, T, theta / 2)
    wrong = count != level
    if wrong.any():
        j = _first(wrong)
        raise Violation(f"{_input(currents, theta, j, ψ=_num(theta / 2))}: count {count[j]}, QCFS level of "
                        f"the mean {level[j]} ((T·Ī + ψ)/θ = {_num((T * mean[j] + theta / 2) / theta)})")


@claim("expectation-from-counts", "Theorem 4.1, case T ≠ T̃", neuron="parallel", against="only")
def expectation_from_counts(neuron, T_max=EXHAUSTIVE_MAX):
    """E[rate_T(z) − Q_T̃(z)] = 0 for z ~ U[0, θ] at ψ = θ/2, from the neuron's counts, T ≠ T̃ <= 64

    The neuron's rate θ·count/T at constant input z and Q_T̃(z) are both constant on the
    cells between the steps of Q_T and Q_T̃ (at z = (2k − 1)θ/2T and (2k − 1)θ/2T̃), so the
    neuron runs once at the middle of each cell (θ = 1) and the expectation is a sum of
    integers, exact. One call per T, with a neuron per cell of every T̃.
    """
    checked = 0
    for T in range(1, T_max + 1):
        cells = [(T_tilde, _cells(T, T_tilde)) for T_tilde in range(1, T_max + 1) if T_tilde != T]
        middles = np.concatenate([(a + b) / (4 * T * T_tilde) for T_tilde, (a, b) in cells])
        counts = neuron(np.tile(middles, (T, 1)), 1.0, 0.5).sum(axis=0)
        start = 0
        for T_tilde, (a, b) in cells:
            count, start = counts[start:start + len(a)], start + len(a)
            checked += 1
            D = 2 * T * T_tilde  # z = u/D: the steps sit at whole u, the cells' middles at (a + b)/2
            level = (T_tilde * (a + b) + D) // (2 * D)  # floor(T̃·z + 1/2) at the middle, exactly
            error = Fraction(int(((b - a) * (count * T_tilde - level * T)).sum()), D * T * T_tilde)
            if error != 0:
                return (f"T = {T}, T̃ = {T_tilde}, θ = 1, ψ = 0.5: E[rate − Q_T̃] = {error}, from the counts at "
                        f"the middles of {len(a)} cells (counts {', '.join(map(str, count))})"), checked
    return None, checked


def _cells(T, T_tilde):
    """The cells [a, b] of [0, D], D = 2·T·T̃, between the steps of Q_T and Q_T̃ (u = D·z/θ)."""
    D = 2 * T * T_tilde
    steps = np.concatenate([[0, D], (2 * np.arange(1, T + 1) - 1) * T_tilde, (2 * np.arange(1, T_tilde + 1) - 1) * T])
    edges = np.unique(steps)
    return edges[:-1], edges[1:]


@claim("sorted-in-order", "the sorting property", given=_exact_grid, neuron="parallel", against="only",
       explicit=[(np.array([[0.0], [0.0], [1.0]]), 1.0)])  # one spike of three: order shows
def sorted_in_order(value, neuron):
    """every spike train is sorted in the neuron's order: 0…0 1…1 in paper order, 1…1 0…0 in code order"""
    currents, theta = value
    spikes = neuron(currents, theta, theta / 2)
    steps = np.diff(spikes.astype(np.int8), axis=0)
    bad = (steps < 0 if neuron.order == "paper" else steps > 0).any(axis=0)
    if bad.any():
        j = _first(bad)
        pattern = "0…0 1…1" if neuron.order == "paper" else "1…1 0…0"
        raise Violation(f"{_input(currents, theta, j, ψ=_num(theta / 2))}: spikes {_train(spikes, j)}, "
                        f"not {pattern} ({neuron.order} order)")


#: The exact ties Σ + ψ = tθ: T, θ and ψ/θ (the default θ = 1, ψ = θ/2 first, so that the
#: first tie reported is the simplest), t = 1…T.
TIE_STEPS = (1, 2, 3, 4, 8, 16, 32, 64)
TIE_THRESHOLDS = (1.0, 0.5, 2.0)
TIE_SHIFTS = (0.5, 0.0, 0.25, 1.0)


def exact_ties(steps=TIE_STEPS):
    """Every exact tie of the grid, a group per (T, kind, θ, shift): (T, kind, θ, shift, currents).

    Column t − 1 of ``currents`` (T, T) is the tie at t: Σ = tθ − shift, ``kind`` "at step 1"
    (I_1 = Σ, then zeros) or, when T is a power of two, "evenly" (I_x = Σ/T). Every value
    is a multiple of θ/256, so the inputs and Σ + shift = tθ are exact in float32.
    """
    for T in steps:
        t = np.arange(1, T + 1)
        for kind in ("at step 1", "evenly") if T & (T - 1) == 0 else ("at step 1",):
            for theta in TIE_THRESHOLDS:
                for ratio in TIE_SHIFTS:
                    shift = ratio * theta
                    total = t * theta - shift
                    currents = np.zeros((T, T))
                    if kind == "at step 1":
                        currents[0] = total
                    else:
                        currents[:] = total / T
                    yield T, kind, theta, shift, currents


def _tie_failures(neuron, expected_trains, steps, what):
    """(failure or None, ties checked, agreement): ``neuron``'s trains at every tie against
    ``expected_trains(T, θ, shift, currents)``, the wrong ones counted per T."""
    wrong_per_T, total, first = {}, 0, None
    for T, kind, theta, shift, currents in exact_ties(steps):
        spikes = neuron(currents, theta, shift)
        expected = expected_trains(T, theta, shift, currents)
        wrong = (spikes != expected).any(axis=0)
        total += T
        if wrong.any():
            wrong_per_T[T] = wrong_per_T.get(T, 0) + int(wrong.sum())
            if first is None:
                first = _tie(neuron, T, kind, theta, shift, currents, spikes, expected, _first(wrong))
    count = sum(wrong_per_T.values())
    agreement = (total - count, total, f"exact ties as {what}")
    if first is None:
        return None, total, agreement
    where = ", ".join(f"T = {T}: {n}" for T, n in wrong_per_T.items())
    return f"{count:,} of {total:,} ties wrong ({where}); the first: {first}", total, agreement


def _tie(neuron, T, kind, theta, shift, currents, spikes, expected, j):
    """One wrong tie, with the numbers to check by hand."""
    symbol = "ψ" if neuron.kind == "parallel" else "v₀"
    current = (f"I = [{_num(currents[0, j])}" + (", 0, …, 0]" if T > 1 else "]") if kind == "at step 1"
               else f"I_x = {_num(currents[0, j])} at every step")
    got, want = int(spikes[:, j].sum()), int(expected[:, j].sum())
    trains = "" if got != want else f", spikes {_train(spikes, j)}, expected {_train(expected, j)}"
    return (f"T = {T}, θ = {_num(theta)}, {symbol} = {_num(shift)}, {current}: Σ + {symbol} = "
            f"{_num(currents[:, j].sum() + shift)} = tθ, count {got}, expected {want}{trains}")


@claim("every-exact-tie", f"{NOTATION}, Float ties", neuron="parallel", against="only")
def every_exact_tie(neuron, steps=TIE_STEPS):
    """at every exact tie Σ + ψ = tθ, T <= 64, the neuron fires the closed form's t spikes in its order

    The ties of :func:`exact_ties`: T ∈ {1, 2, 3, 4, 8, 16, 32, 64}, t = 1…T, θ ∈ {0.5, 1, 2},
    ψ/θ ∈ {0, ¼, ½, 1}, the current at step 1 or spread evenly (3,084 ties). The closed
    form fires the last t steps (paper order) or the first t (code order).
    """
    def closed_form(T, theta, shift, currents):
        t = np.arange(1, T + 1)[None, :]
        x = np.arange(1, T + 1)[:, None]
        return x > T - t if neuron.order == "paper" else x <= t

    return _tie_failures(neuron, closed_form, steps, "the closed form")


#: Random-float agreement with refsnn: below this share a neuron computes something else.
#: Two correct float implementations differ only where rounding decides a near-tie, and
#: random floats come that near rarely (the authors' ParaInfNeuron agrees on every one).
MIN_AGREEMENT = 0.99
FLOAT_STEPS = (1, 2, 3, 4, 5, 7, 8, 13, 16, 32, 64)
FLOAT_NEURONS = 4096


def random_float_inputs(seed):
    """(T, θ, shift, currents) with random float32 currents (T, FLOAT_NEURONS) for each T.

    Each neuron's currents scatter around a mean in [−θ/4, 5θ/4], so every count from 0
    to T occurs; θ and the shift (in [0, θ]) are float32 numbers, given as Python floats.
    """
    rng = np.random.default_rng(seed)
    for T in FLOAT_STEPS:
        theta = float(np.float32(rng.uniform(0.25, 4.0)))
        shift = float(np.float32(theta * rng.uniform(0.0, 1.0)))
        mean = theta * rng.uniform(-0.25, 1.25, FLOAT_NEURONS)
        spread = theta * rng.uniform(0.0, 1.0, FLOAT_NEURONS)
        currents = (mean + spread * rng.standard_normal((T, FLOAT_NEURONS))).astype(np.float32)
        yield T, theta, shift, currents


def _agreement(neuron, reference, seed):
    """(failure or None, neurons, agreement): whole trains of ``neuron`` against ``reference``
    on :func:`random_float_inputs`; a failure only below :data:`MIN_AGREEMENT`."""
    agree, total, first = 0, 0, None
    for T, theta, shift, currents in random_float_inputs(seed):
        spikes = neuron(currents, theta, shift)
        expected = reference(currents, theta, shift)
        same = (spikes == expected).all(axis=0)
        agree, total = agree + int(same.sum()), total + same.size
        if first is None and not same.all():
            j = _first(~same)
            symbol = "ψ" if neuron.kind == "parallel" else "v₀"
            first = (f"{_input(currents, np.float32(theta), j, **{symbol: _num(np.float32(shift))})}: "
                     f"spikes {_train(spikes, j)}, "
                     f"refsnn {_train(expected, j)}")
    agreement = (agree, total, "random-float neurons as refsnn")
    if agree >= MIN_AGREEMENT * total:
        return None, total, agreement
    return (f"{agree:,} of {total:,} neurons ({100 * agree / total:.2f}%) agree with refsnn, fewer than "
            f"{100 * MIN_AGREEMENT:g}%; the first that differs: {first}"), total, agreement


@claim("random-floats-agree", f"{NOTATION}, Float ties", neuron="parallel", against="only")
def random_floats_agree(neuron, seed):
    """on random float32 currents at least 99% of spike trains equal refsnn's parallel_neuron in float32

    The share is reported; 45,056 neurons over T ∈ {1, 2, 3, 4, 5, 7, 8, 13, 16, 32, 64}.
    """
    def refsnn(currents, theta, shift):
        return parallel.parallel_neuron(currents, theta, shift, order=neuron.order)

    return _agreement(neuron, refsnn, seed)


def _dyadic_and_v0():
    from hypothesis import strategies as st

    return st.tuples(_exact_grid(32), st.sampled_from([0.5, 0.0, 0.25, 1.0]))


@claim("if-soft-reset", f"{NOTATION}, IF neuron", given=_dyadic_and_v0, neuron="if", against="only",
       explicit=[((np.array([[0.5], [0.75], [0.0]]), 1.0), 0.5)])  # m_1 = θ: a tie, then a reset shows
def if_soft_reset(value, neuron):
    """the IF neuron starts at v₀, fires when m_t >= θ and subtracts θ: its trains are the soft-reset recurrence

    m_t = v_{t−1} + I_t, s_t = H(m_t − θ), v_t = m_t − θ·s_t, computed by
    ``if_neuron_reference`` in float64, exact on these dyadic currents, for v₀/θ ∈ {½, 0, ¼, 1}.
    """
    (currents, theta), ratio = value
    v0 = ratio * theta
    spikes = neuron(currents, theta, v0)
    expected, membrane = integrate_fire.if_neuron_reference(currents, theta, v0, return_membrane=True)
    wrong = (spikes != expected).any(axis=0)
    if wrong.any():
        j = _first(wrong)
        after = ", ".join(_num(v) for v in membrane[:, j])
        raise Violation(f"{_input(currents, theta, j, **{'v₀': _num(v0)})}: spikes {_train(spikes, j)}, soft reset "
                        f"from v₀ gives {_train(expected, j)} (membrane after each step: {after})")


@claim("if-every-exact-tie", f"{NOTATION}, IF neuron", neuron="if", against="only")
def if_every_exact_tie(neuron, steps=TIE_STEPS):
    """at every exact tie Σ + v₀ = tθ, T <= 64, the IF neuron fires on m_t >= θ as the soft-reset recurrence

    The ties of :func:`exact_ties` with v₀ in place of ψ; the membrane lands exactly on θ,
    so a neuron that fires on ``>`` loses spikes. The trains are computed by
    ``if_neuron_reference`` in float64, exact here.
    """
    def recurrence(T, theta, v0, currents):
        return integrate_fire.if_neuron_reference(currents, theta, v0)

    return _tie_failures(neuron, recurrence, steps, "the soft-reset recurrence")


@claim("if-random-floats-agree", f"{NOTATION}, IF neuron", neuron="if", against="only")
def if_random_floats_agree(neuron, seed):
    """on random float32 currents at least 99% of spike trains equal refsnn's if_neuron in float32

    The share is reported; 45,056 neurons over T ∈ {1, 2, 3, 4, 5, 7, 8, 13, 16, 32, 64}.
    """
    return _agreement(neuron, integrate_fire.if_neuron, seed)


# --------------------------------------------------------------------------- running and describing


def verify(fire, neuron="parallel", order="paper", examples=DEFAULT_EXAMPLES, seed=None, echo=None, name=None):
    """Check a neuron implemented elsewhere against the claims that apply to its kind; return the report.

    The Python face of ``refsnn verify --against``, for a researcher's own test suite:
    ``assert verify(my_neuron, order="code")["passed"]``.

    Parameters
    ----------
    fire : callable, class or refsnn.against.Implementation
        The neuron in the calling convention of :mod:`refsnn.against`:
        ``fire(currents, theta, psi)`` (parallel) or ``fire(currents, theta, v0)`` (IF),
        float32 currents (T, N) in, (T, N) spikes of 0 and 1 out; or a class built as
        ``fire(T, theta, psi)`` whose instances are called so.
    neuron : {"parallel", "if"}
        Which claims apply (:func:`against_claims`).
    order : {"paper", "code"}
        The order a parallel neuron fires in (last N steps, or first N as in the authors' code).
    examples : int
        Examples per Hypothesis property, >= 1.
    seed : int, optional
        Seed of the examples and of the random floats, >= 0; None derandomizes.
    echo : callable, optional
        Called as ``echo(claim, outcome)`` after each claim.
    name : str, optional
        How the report names ``fire``.

    Returns
    -------
    dict
        ``{"against", "neuron", "order", "claims": [{"name", "statement", "where",
        "expected", "result", "examples", "counterexample", "agreement"}, ...], "passed",
        "seed", "examples", "seconds"}``; ``agreement`` is ``{"agreeing", "of", "what"}``
        for a claim that measures it, else None.
    """
    implementation = fire if isinstance(fire, Implementation) else Implementation(fire, neuron, order, name)
    examples = as_int("examples", examples)
    seed = None if seed is None else as_int("seed", seed, minimum=0)
    start, rows = time.perf_counter(), []
    for registered in against_claims(implementation.kind):
        outcome = registered.run(examples, seed, neuron=implementation)
        if echo is not None:
            echo(registered, outcome)
        agreement = None if outcome.agreement is None else dict(zip(("agreeing", "of", "what"), outcome.agreement))
        rows.append({"name": registered.name, "statement": registered.statement, "where": registered.where,
                     "expected": registered.expected, "result": outcome.result, "examples": outcome.examples,
                     "counterexample": outcome.counterexample, "agreement": agreement})
    return {"against": implementation.name, "neuron": implementation.kind, "order": implementation.order,
            "claims": rows, "passed": all(row["result"] == "holds" for row in rows), "seed": seed,
            "examples": examples, "seconds": round(time.perf_counter() - start, 3)}


def _configured(test, examples, seed):
    """``test`` with the settings of a claim run: quiet, no database, derandomized unless seeded."""
    from hypothesis import HealthCheck, Phase, Verbosity, settings
    from hypothesis import seed as hypothesis_seed

    test = settings(
        max_examples=examples,
        derandomize=seed is None,
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        print_blob=False,
    )(test)
    return test if seed is None else hypothesis_seed(seed)(test)


def _short(value, limit=200):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + " ..."


def _num(x):
    """A float as the shortest decimal that reads back to it: 2.0 -> '2', 0.375 -> '0.375'.

    A float32 number reads back as float32: np.float32(0.1) -> '0.1'.
    """
    return np.format_float_positional(x if isinstance(x, np.float32) else float(x), trim="-")


def _fraction_of_theta(value):
    return "0" if value == 0 else f"{value}·θ"


def _input(currents, theta, neuron=0, **extra):
    """'T = 4, θ = 1, I = [0, 0, 0, 2]' for one neuron, with extra 'name = value' items."""
    column = np.asarray(currents).reshape(currents.shape[0], -1)[:, neuron]
    items = [f"{key} = {value}" for key, value in extra.items()]
    dtype = "" if np.asarray(currents).dtype == np.float64 else f" ({np.asarray(currents).dtype})"
    items += [f"T = {len(column)}", f"θ = {_num(theta)}", "I = [" + ", ".join(map(_num, column)) + "]" + dtype]
    return ", ".join(items)


def _train(spikes, neuron=0):
    column = np.asarray(spikes).reshape(spikes.shape[0], -1)[:, neuron]
    return "".join("1" if s else "0" for s in column)


def _first(mask):
    """Index of the first True in a flattened mask (the neuron to report)."""
    return int(np.flatnonzero(np.ravel(mask))[0])


def _unsorted(spikes):
    """Per neuron: does a spike come before a silent step (the train is not 0…0 1…1)?"""
    spikes = np.asarray(spikes).reshape(spikes.shape[0], -1).astype(np.int8)
    return (np.diff(spikes, axis=0) < 0).any(axis=0)
