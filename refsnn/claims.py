"""The paper's neuron-level claims as runnable properties: one source for the tests and ``refsnn verify``.

Each :class:`Claim` states one fact in one line, says where it comes from (the paper's
own name for it, or the section of ``tutorials/00_notation.md`` for what refsnn adds),
whether it should hold or whether a counterexample must exist, and runs it:
``claim.run(examples, seed)`` returns an :class:`Outcome`.

- A claim that should **hold** is a Hypothesis property over inputs that keep float
  arithmetic exact (:mod:`refsnn._strategies`: dyadic currents, power-of-two θ). If it
  fails, Hypothesis shrinks the failing input, and the outcome describes the shrunk case.
- A claim that expects a **counterexample** is the naive statement that the paper's
  guarantee carries over (a leaky neuron is still sorted, an IF count still equals the
  QCFS level, ...). Hypothesis must make it fail; the outcome is the shrunk case it found.
- The expectation at T ≠ T̃ is computed exactly, for every pair T, T̃ <= 64, not sampled.

``seed=None`` runs derandomized (the same examples on every run); an integer seed draws
other examples, reproducibly. Hypothesis is imported only when a claim runs, so
``import refsnn.claims`` stays cheap. ``tests/test_theorems.py`` runs every claim, and
``refsnn verify`` (:mod:`refsnn.programs.verify`) prints them as a report.

Examples
--------
>>> from refsnn.claims import CLAIMS
>>> claim = next(c for c in CLAIMS if c.name == "theorem-4.1-T-equal")
>>> claim.where
'Theorem 4.1, case T = T̃'
>>> claim.run(examples=5).result
'holds'
"""

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import numpy as np

from ._checks import as_int
from .neurons import integrate_fire, parallel, quantization, theory, variants

__all__ = [
    "Claim",
    "Outcome",
    "Violation",
    "CLAIMS",
    "DEFAULT_EXAMPLES",
    "SEARCH_EXAMPLES",
    "EXPECTED",
    "RESULTS",
    "claim_named",
]

#: Examples per property in ``refsnn verify`` by default: about 6 s on 2 cores in all.
DEFAULT_EXAMPLES = 500

#: A search for an expected counterexample tries at least this many examples, whatever
#: ``examples`` says: it stops at the first one found, so this costs nothing when it works.
SEARCH_EXAMPLES = 1000

#: What a claim expects, and the results a run can give.
EXPECTED = ("holds", "counterexample")
RESULTS = ("holds", "fails", "found", "not found")

#: Where refsnn's additions are explained.
NOTATION = "refsnn: tutorials/00_notation.md"


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
    """

    result: str
    examples: int
    counterexample: str | None = None

    @property
    def as_expected(self):
        """True if a claim held or an expected counterexample was found."""
        return self.result in ("holds", "found")


@dataclass(frozen=True)
class Claim:
    """One claim: ``run(examples, seed=None)`` checks it and returns an :class:`Outcome`.

    Attributes
    ----------
    name : str
        A short identifier, e.g. ``"theorem-4.1-T-equal"``.
    statement : str
        The claim in one line.
    where : str
        The paper's name for it, or ``"refsnn: tutorials/00_notation.md, <section>"``.
    expected : {"holds", "counterexample"}
    check : callable
        ``check(examples, seed)`` returns (failure message or None, examples tried).
    """

    name: str
    statement: str
    where: str
    expected: str
    check: Callable

    def run(self, examples=DEFAULT_EXAMPLES, seed=None):
        """Run the claim and return its :class:`Outcome`.

        Parameters
        ----------
        examples : int
            Examples of a property that should hold, >= 1. A counterexample search tries
            at least :data:`SEARCH_EXAMPLES`. Exhaustive claims ignore it.
        seed : int, optional
            Seed of the examples, >= 0; None derandomizes (the same examples every run).
        """
        examples = as_int("examples", examples)
        seed = None if seed is None else as_int("seed", seed, minimum=0)
        if self.expected == "holds":
            failure, tried = self.check(examples, seed)
            result = "holds" if failure is None else "fails"
        else:
            failure, tried = self.check(max(examples, SEARCH_EXAMPLES), seed)
            result = "not found" if failure is None else "found"
        return Outcome(result, tried, failure)


def claim_named(name):
    """The claim called ``name`` (ValueError listing the names otherwise)."""
    for claim in CLAIMS:
        if claim.name == name:
            return claim
    raise ValueError(f"name must be one of {[c.name for c in CLAIMS]}, got {name!r}")


# --------------------------------------------------------------------------- running a property


def _hypothesis_check(strategy, prop, explicit=tuple):
    """A ``check(examples, seed)`` that runs ``prop(value)`` as a Hypothesis property.

    ``strategy`` is a function returning the strategy (so that Hypothesis is imported
    only when the claim runs); ``explicit`` a function returning explicit examples, tried
    first. ``prop`` raises :class:`Violation` (or any exception) when the property fails.
    Hypothesis shrinks a failure and replays the shrunk input last, so the exception it
    raises describes the shrunk case.
    """

    def check(examples, seed):
        from hypothesis import HealthCheck, Phase, Verbosity, example, given, settings
        from hypothesis import seed as hypothesis_seed

        tried = {"count": 0, "failed": False}

        def test(value):
            if not tried["failed"]:
                tried["count"] += 1
            try:
                prop(value)
            except Violation:
                tried["failed"] = True
                raise
            except Exception as exc:  # a crash is a failure too: say on which input
                tried["failed"] = True
                raise Violation(f"{_short(value)}: {type(exc).__name__}: {exc}") from exc

        test = given(strategy())(test)
        for value in explicit():
            test = example(value)(test)
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
        if seed is not None:
            test = hypothesis_seed(seed)(test)
        try:
            test()
        except Violation as exc:
            return str(exc), tried["count"]
        except Exception as exc:  # Hypothesis itself gave up (flaky, unsatisfiable, ...): a failure
            return f"{type(exc).__name__}: {exc}", tried["count"]
        return None, tried["count"]

    return check


def _short(value, limit=200):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + " ..."


# --------------------------------------------------------------------------- describing inputs


def _num(x):
    """A float as the shortest decimal that reads back to it: 2.0 -> '2', 0.375 -> '0.375'."""
    return np.format_float_positional(float(x), trim="-")


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


# --------------------------------------------------------------------------- the claims that hold


def _lossless_strategy():
    from hypothesis import strategies as st

    from ._strategies import dyadic_currents_with_mean

    return st.tuples(dyadic_currents_with_mean(T=st.integers(1, 64)), st.sampled_from(["hadamard", "binary"]))


def _lossless_explicit():
    tie = (np.full((4, 1), 0.375), 1.0)  # T·Ī + ψ = 2θ: an exact tie
    return [((np.array([[0.0], [0.0], [0.0], [2.0]]), 1.0), "hadamard"), (tie, "hadamard"), (tie, "binary")]


def _lossless(value):
    """Theorem 4.1, T = T̃: count = clip(floor((T·Ī + ψ)/θ), 0, T), the QCFS level of Ī."""
    (currents, theta), method = value
    T = currents.shape[0]
    mean = currents.mean(axis=0)
    count = parallel.parallel_neuron(currents, theta, method=method).sum(axis=0)
    level = quantization.qcfs_level(mean, theta, T)
    rate, activation = (theta / T) * count, quantization.qcfs(mean, theta, T)
    wrong = (count != level) | (rate != activation)
    if wrong.any():
        j = _first(wrong)
        raise Violation(f"{_input(currents, theta, j, method=method)}: parallel count {count.flat[j]}, "
                        f"QCFS level of the mean {level.flat[j]}")


def _exact_grid(T_max=64):
    from hypothesis import strategies as st

    from ._strategies import dyadic_currents

    return dyadic_currents(T=st.integers(1, T_max))


def _check_sorted(currents, theta, methods):
    """Every paper-order train of each method is 0…0 1…1 (Violation naming the first that is not)."""
    for method in methods:
        spikes = parallel.parallel_neuron(currents, theta, method=method)
        bad = _unsorted(spikes)
        if bad.any():
            j = _first(bad)
            raise Violation(f"{_input(currents, theta, j, method=method)}: spikes {_train(spikes, j)}")


def _sorted_on_grid(value):
    """The sorting property: every paper-order train is 0…0 1…1, for all three methods."""
    _check_sorted(*value, parallel.METHODS)


def _float_currents():
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    shapes = hnp.array_shapes(min_dims=2, max_dims=2, max_side=40)
    return st.tuples(hnp.arrays(np.float64, shapes, elements=st.floats(-1e3, 1e3)), st.floats(1e-3, 1e3))


def _sorted_in_floats(value):
    """Sorting in floating point: H_x = (Σ + ψ)/(T − x + 1) is monotone in x after rounding
    (correctly rounded division is monotone in the divisor)."""
    _check_sorted(*value, ("hadamard", "binary"))


def _closed_form_strategy():
    from hypothesis import strategies as st

    from ._strategies import dtypes

    return st.tuples(_exact_grid(), dtypes)


def _closed_form_explicit():
    return [((np.array([[1.0], [0.875], [0.625]]), 1.0), np.float64)]  # Σ + ψ = 3θ: a tie


def _closed_form(value):
    """Every method fires N = clip(floor((Σ + ψ)/θ), 0, T) spikes as 0…0 1…1 (exact oracle)."""
    from ._strategies import exact_count

    (currents, theta), dtype = value
    currents = currents.astype(dtype)
    T = currents.shape[0]
    count = exact_count(currents, theta, theta / 2)
    expected = np.arange(1, T + 1)[:, None] > T - count.ravel()[None, :]
    expected = expected.reshape(currents.shape)
    total = parallel.total_current(currents)
    shifted = (total.astype(np.float64) + theta / 2) / theta
    off_tie = shifted != np.floor(shifted)  # dense sums rounded entries such as 1/3
    for method in parallel.METHODS:
        spikes = parallel.parallel_neuron(currents, theta, method=method)
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


def _orders_strategy():
    from hypothesis import strategies as st

    return st.tuples(_exact_grid(16), st.sampled_from(parallel.METHODS))


def _orders(value):
    """order="code" is the time reverse of order="paper": spikes fill the first N steps."""
    (currents, theta), method = value
    paper = parallel.parallel_neuron(currents, theta, method=method, order="paper")
    code = parallel.parallel_neuron(currents, theta, method=method, order="code")
    wrong = (code != paper[::-1]).any(axis=0) | (code.sum(axis=0) != paper.sum(axis=0))
    if wrong.any():
        j = _first(wrong)
        raise Violation(f"{_input(currents, theta, j, method=method)}: paper order {_train(paper, j)}, "
                        f"code order {_train(code, j)}")


def _if_constant_strategy():
    from hypothesis import strategies as st

    from ._strategies import thresholds

    return st.tuples(st.integers(1, 64), st.integers(-16, 160), thresholds)


def _if_constant_explicit():
    return [(4, 4, 1.0), (2, 8, 1.0)]  # T·z + θ/2 a multiple of θ: ties


def _if_constant(value):
    """For constant input z = kθ/32 the IF count is the QCFS level at L = T (exact grid)."""
    from ._strategies import GRID, exact_level

    T, k, theta = value
    z = k * (GRID * theta / 4)
    currents = np.full((T, 1), z)
    count = int(integrate_fire.if_neuron(currents, theta).sum())
    exact = int(exact_level(z, theta, T, theta / 2))
    level = int(quantization.qcfs_level(z, theta, T))
    if not count == exact == level:
        raise Violation(f"T = {T}, θ = {_num(theta)}, I_t = {_num(z)} at every step: IF count {count}, "
                        f"QCFS level {level}, exact level {exact}")


def _floats_near_ties_strategy():
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    shapes = st.tuples(st.integers(1, 32), st.integers(1, 8))
    return st.tuples(hnp.arrays(np.float64, shapes, elements=st.floats(-4, 4)), st.floats(0.05, 2))


def _floats_near_ties(value):
    """With arbitrary floats, count and QCFS level of the mean differ by at most one spike,
    and only where (T·Ī + ψ)/θ is within a few ulps of an integer."""
    currents, theta = value
    T = currents.shape[0]
    mean = currents.mean(axis=0)
    count = parallel.parallel_neuron(currents, theta).sum(axis=0)
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


# --------------------------------------------------------------------------- exhaustive: T ≠ T̃

#: T and T̃ run over 1..EXHAUSTIVE_MAX in the exact claims about the expectation.
EXHAUSTIVE_MAX = 64


def _pairs():
    return [(T, T_tilde) for T in range(1, EXHAUSTIVE_MAX + 1)
            for T_tilde in range(1, EXHAUSTIVE_MAX + 1) if T != T_tilde]


def _fraction_of_theta(value):
    return "0" if value == 0 else f"{value}·θ"


def _expectation_check(examples, seed):
    """E[Q_T(z) − Q_T̃(z)] = 0 for z ~ U[0, θ] and ψ = θ/2, every T ≠ T̃ <= 64, exactly."""
    pairs = _pairs()
    for tried, (T, T_tilde) in enumerate(pairs, start=1):
        error = theory.expected_conversion_error(T, T_tilde)
        if error != 0:
            return f"T = {T}, T̃ = {T_tilde}, ψ = θ/2: E[Q_T − Q_T̃] = {_fraction_of_theta(error)}", tried
    return None, len(pairs)


#: The shifts other than θ/2 at which the expectation must fail: ψ = kθ/8.
OTHER_SHIFTS = tuple(Fraction(k, 8) for k in range(9) if k != 4)


def _other_shifts_check(examples, seed):
    """At every shift ψ = kθ/8 ≠ θ/2 some pair T ≠ T̃ <= 64 has a nonzero expected error."""
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


# --------------------------------------------------------------------------- the counterexamples


def _quarters(low=-8, high=8, max_T=8):
    """1-D integer arrays k of length 1..max_T; the currents are k·θ/4 with θ = 1."""
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    return hnp.arrays(np.int64, st.integers(1, max_T), elements=st.integers(low, high))


def _if_matches_level(k):
    """Naive claim: the IF count equals the QCFS level of the mean, also for uneven input."""
    currents = k[:, None] * 0.25
    T = len(k)
    level = int(quantization.qcfs_level(currents.mean(axis=0), 1.0, T)[0])
    count = int(integrate_fire.if_neuron(currents, 1.0).sum())
    if count != level:
        spikes = integrate_fire.if_neuron(currents, 1.0)
        par = int(parallel.parallel_neuron(currents, 1.0).sum())
        raise Violation(f"{_input(currents, 1.0)}: IF spikes {_train(spikes)} (count {count}), "
                        f"QCFS level of the mean {level}, parallel count {par}")


def _leaky_strategy():
    from hypothesis import strategies as st

    return st.tuples(_quarters(0, 8, 12), st.sampled_from([0.25, 0.5, 0.75]))


def _leaky_is_sorted(value):
    """Naive claim: a leaky parallel neuron (λ < 1) still has the sorting property.

    Inputs whose potentials come within 1e-6 of θ are skipped: the break must not be a
    float tie.
    """
    k, leak = value
    currents = k[:, None] * 0.25
    T = len(k)
    Lam = variants.leaky_posterior_matrix(T, leak) @ np.full((T, T), 1.0 / T)
    H = Lam @ currents + 0.5 / (T - np.arange(T))[:, None]
    if np.abs(H - 1.0).min() < 1e-6:
        return
    spikes = variants.leaky_parallel_neuron(currents, 1.0, leak)
    if _unsorted(spikes).any():
        raise Violation(f"{_input(currents, 1.0, λ=leak)}: spikes {_train(spikes)}")


def _no_reset_strategy():
    from hypothesis import strategies as st

    return st.tuples(st.integers(1, 16), st.integers(0, 16))


def _no_reset_matches_level(value):
    """Naive claim: without reset, the parallel count for constant input is the QCFS level."""
    from ._strategies import exact_level

    T, k = value
    z = k / 8
    currents = np.full((T, 1), z)
    spikes = variants.no_reset_neuron(currents, 1.0, v0=0.5)
    count, level = int(spikes.sum()), int(exact_level(z, 1.0, T, 0.5))
    if count != level:
        raise Violation(f"T = {T}, θ = 1, ψ = v0 = 0.5, I_t = {_num(z)} at every step: no-reset spikes "
                        f"{_train(spikes)} (count {count}), QCFS level {level}")


def _no_reset_is_sorted(k):
    """Naive claim: the parallel neuron without reset has the sorting property."""
    currents = k[:, None] * 0.25
    spikes = variants.no_reset_neuron(currents, 1.0)
    if _unsorted(spikes).any():
        raise Violation(f"{_input(currents, 1.0)}: no-reset spikes {_train(spikes)}")


def _one_decimal_strategy():
    from hypothesis.extra import numpy as hnp
    from hypothesis import strategies as st

    return hnp.arrays(np.int64, (5,), elements=st.integers(-20, 20))  # tenths, T = 5


def _float_tie_explicit():
    """The notation page's example ("Float ties"), tried first. Hypothesis's own one-decimal
    inputs hit such a tie rarely (none in its first 1000), so the claim checks this one."""
    return [np.array([5, 17, 19, -6, 0])]


def _float_count_matches_level(k):
    """Naive claim: in float64 the parallel count always equals qcfs_level of the mean."""
    currents = (k / 10)[:, None]
    count = int(parallel.parallel_neuron(currents, 1.0).sum())
    level = int(quantization.qcfs_level(currents.mean(axis=0), 1.0, len(k))[0])
    if count != level:
        raise Violation(f"{_input(currents, 1.0)}: parallel count {count}, QCFS level of the mean {level} "
                        f"(float Σ_t I_t = {float(currents.sum())!r})")


# --------------------------------------------------------------------------- the list

BREAK = f"{NOTATION}, Where the theorems break"

#: Every claim, in the order ``refsnn verify`` reports them.
CLAIMS = (
    Claim("theorem-4.1-T-equal",
          "the parallel count is the QCFS level of the mean current, so the rate is Q_T(Ī) exactly",
          "Theorem 4.1, case T = T̃", "holds",
          _hypothesis_check(_lossless_strategy, _lossless, _lossless_explicit)),
    Claim("theorem-4.1-T-differ",
          "E[Q_T(z) − Q_T̃(z)] = 0 for z ~ U[0, θ] at ψ = θ/2, every T ≠ T̃ <= 64 (exact)",
          "Theorem 4.1, case T ≠ T̃", "holds", _expectation_check),
    Claim("theorem-4.1-needs-half-shift",
          "at a shift ψ ≠ θ/2 the expected error E[Q_T − Q_T̃] is not zero (exact, ψ = kθ/8)",
          "Theorem 4.1, case T ≠ T̃", "counterexample", _other_shifts_check),
    Claim("sorting",
          "every paper-order spike train is 0…0 1…1, for the dense, hadamard and binary methods",
          "the sorting property", "holds", _hypothesis_check(_exact_grid, _sorted_on_grid)),
    Claim("sorting-in-floats",
          "hadamard and binary trains stay 0…0 1…1 for arbitrary float currents and θ",
          f"{NOTATION}, Float ties", "holds", _hypothesis_check(_float_currents, _sorted_in_floats)),
    Claim("closed-form",
          "all three methods fire N = clip(floor((Σ + ψ)/θ), 0, T) spikes as 0…0 1…1 "
          "(dense except at exact ties)",
          f"{NOTATION}, Parallel firing rule", "holds",
          _hypothesis_check(_closed_form_strategy, _closed_form, _closed_form_explicit)),
    Claim("spike-orders",
          "order='code' is the time reverse of order='paper', with the same counts",
          f"{NOTATION}, Spike order", "holds", _hypothesis_check(_orders_strategy, _orders)),
    Claim("if-constant-input",
          "for constant input the IF count is the QCFS level at L = T",
          f"{NOTATION}, IF neuron", "holds",
          _hypothesis_check(_if_constant_strategy, _if_constant, _if_constant_explicit)),
    Claim("floats-near-ties",
          "with arbitrary floats, count and QCFS level of the mean differ by <= 1, only near a tie",
          f"{NOTATION}, Float ties", "holds",
          _hypothesis_check(_floats_near_ties_strategy, _floats_near_ties)),
    Claim("if-unevenness",
          "on uneven input the IF count can miss the QCFS level of the mean (the unevenness error)",
          f"{NOTATION}, IF neuron", "counterexample", _hypothesis_check(_quarters, _if_matches_level)),
    Claim("leaky-unsorted",
          "a leaky parallel neuron (λ < 1) can fire an unsorted train, so binary search fails",
          BREAK, "counterexample", _hypothesis_check(_leaky_strategy, _leaky_is_sorted)),
    Claim("no-reset-overshoots",
          "a parallel neuron without reset fires more spikes than the QCFS level for constant input",
          BREAK, "counterexample", _hypothesis_check(_no_reset_strategy, _no_reset_matches_level)),
    Claim("no-reset-unsorted",
          "a parallel neuron without reset can fire an unsorted train when a current is negative",
          BREAK, "counterexample", _hypothesis_check(_quarters, _no_reset_is_sorted)),
    Claim("float-tie",
          "in float64 the parallel count can miss qcfs_level of the mean by one spike at an exact tie",
          f"{NOTATION}, Float ties", "counterexample",
          _hypothesis_check(_one_decimal_strategy, _float_count_matches_level, _float_tie_explicit)),
)
