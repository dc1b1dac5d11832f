"""Tests for ``refsnn verify --against`` (refsnn.against, refsnn.claims.verify, the CLI flags).

refsnn's own kernels pass through the calling convention; each deliberately broken neuron
fails the claim it breaks, with the counterexample a reader can check by hand; the authors'
firing formula (``tests/authors_formula.py``, a NumPy rewrite) loses exactly the 24 exact
ties of the finding; bad ``--against`` values end in one line. The adapters of
``tutorials/verify_against.md`` are run at the end, when torch is installed.
"""

import functools
import json
import re
from pathlib import Path

import numpy as np
import pytest
from authors_formula import authors_parallel

from refsnn import claims
from refsnn.against import ConventionError, Implementation, load
from refsnn.neurons import integrate_fire, parallel
from refsnn.programs.cli import main

HERE = Path(__file__).resolve().parent
FORMULA = f"{HERE / 'authors_formula.py'}:authors_parallel"

#: The tie grid of the finding: T up to 32, 1,548 ties.
FINDING_STEPS = (1, 2, 3, 4, 8, 16, 32)


def results(report):
    return {row["name"]: row["result"] for row in report["claims"]}


def failure(report, name):
    return next(row["counterexample"] for row in report["claims"] if row["name"] == name)


# --------------------------------------------------------------------------- refsnn's own kernels


@pytest.mark.parametrize("fire, kind, order", [
    (parallel.parallel_neuron, "parallel", "paper"),
    (functools.partial(parallel.parallel_neuron, method="binary", order="code"), "parallel", "code"),
    (integrate_fire.if_neuron, "if", "paper"),
], ids=["parallel-paper", "binary-code", "if"])
def test_refsnn_kernels_through_the_convention_pass(fire, kind, order):
    report = claims.verify(fire, kind, order, examples=10)
    assert report["passed"], report
    assert [row["name"] for row in report["claims"]] == [c.name for c in claims.against_claims(kind)]
    for row in report["claims"]:
        if row["agreement"] is not None:
            assert row["agreement"]["agreeing"] == row["agreement"]["of"] > 3000, row


def test_the_parallel_claims_and_the_if_claims():
    assert [c.name for c in claims.against_claims("parallel")] == [
        "count-is-level", "expectation-from-counts", "sorted-in-order", "every-exact-tie", "random-floats-agree"]
    assert [c.name for c in claims.against_claims("if")] == [
        "if-constant-input", "if-soft-reset", "if-every-exact-tie", "if-random-floats-agree"]
    assert claims.claim_named("if-constant-input") in claims.CLAIMS  # refsnn verify runs it too
    assert claims.claim_named("every-exact-tie") not in claims.CLAIMS
    assert sum(T for T, *_ in claims.exact_ties()) == 3084


def test_the_sections_named_in_where_exist_on_the_notation_page():
    page = (HERE.parent / "tutorials" / "00_notation.md").read_text(encoding="utf-8")
    headings = {line.lstrip("#").strip() for line in page.splitlines() if line.startswith("#")}
    for registered in claims.AGAINST_CLAIMS:
        if registered.where.startswith("refsnn: "):
            assert registered.where.split(", ", 1)[1] in headings, registered.where


# --------------------------------------------------------------------------- broken neurons


def strict(currents, theta, psi):
    """Fires on H_x > θ instead of H_x >= θ."""
    T = currents.shape[0]
    H = (currents.astype(np.float64).sum(axis=0) + psi) / (T - np.arange(T))[:, None]
    return H > theta


def half_to_even(currents, theta, psi):
    """Count by np.round (half to even) of (Σ + ψ)/θ − ½ instead of the floor of (Σ + ψ)/θ."""
    T = currents.shape[0]
    count = np.clip(np.round((currents.astype(np.float64).sum(axis=0) + psi) / theta - 0.5), 0, T)
    return np.arange(1, T + 1)[:, None] > T - count


def code_order(currents, theta, psi):
    """Fires the first N steps while the paper order (the last N) is declared."""
    return parallel.parallel_neuron(currents, theta, psi, order="code")


def if_from_zero(currents, theta, v0):
    """An IF neuron that ignores v0 and starts at 0."""
    return integrate_fire.if_neuron(currents, theta, 0.0)


def if_without_reset(currents, theta, v0):
    """An IF neuron that never subtracts θ."""
    return np.cumsum(currents.astype(np.float64), axis=0) + v0 >= theta


def test_greater_than_instead_of_at_least_loses_every_tie():
    report = claims.verify(strict, "parallel", examples=10)
    assert results(report)["every-exact-tie"] == "fails" and results(report)["count-is-level"] == "fails"
    assert failure(report, "every-exact-tie").endswith(
        "the first: T = 1, θ = 1, ψ = 0.5, I = [0.5]: Σ + ψ = 1 = tθ, count 0, expected 1")
    assert results(report)["random-floats-agree"] == "holds"  # random floats never sit on a tie


def if_strict(currents, theta, v0):
    """An IF neuron that fires on m_t > θ (as snnTorch's Leaky does)."""
    v, spikes = np.full(currents.shape[1:], v0), []
    for current in currents.astype(np.float64):
        v = v + current
        spikes.append(v > theta)
        v = v - theta * spikes[-1]
    return np.array(spikes)


def test_greater_than_in_an_if_neuron_loses_every_tie():
    report = claims.verify(if_strict, "if", examples=10)
    assert results(report)["if-every-exact-tie"] == "fails"
    assert failure(report, "if-every-exact-tie").startswith("3,084 of 3,084 ties wrong (T = 1: 24, ")
    assert failure(report, "if-every-exact-tie").endswith(
        "the first: T = 1, θ = 1, v₀ = 0.5, I = [0.5]: Σ + v₀ = 1 = tθ, count 0, expected 1")


def test_round_half_to_even_loses_the_odd_ties():
    report = claims.verify(half_to_even, "parallel", examples=10)
    assert results(report)["every-exact-tie"] == "fails"
    assert "the first: T = 1, θ = 1, ψ = 0.5, I = [0.5]: Σ + ψ = 1 = tθ, count 0, expected 1" in \
        failure(report, "every-exact-tie")
    assert results(report)["expectation-from-counts"] == "holds"  # off the ties it is right


def test_code_order_fired_when_paper_order_declared():
    report = claims.verify(code_order, "parallel", order="paper", examples=10)
    assert results(report)["sorted-in-order"] == "fails"
    assert re.search(r"spikes 1+0+, not 0…0 1…1 \(paper order\)$", failure(report, "sorted-in-order"))
    assert failure(report, "every-exact-tie").endswith("count 1, expected 1, spikes 10, expected 01")
    assert results(report)["count-is-level"] == "holds"  # the counts are right


def test_v0_zero_breaks_the_if_count_and_the_soft_reset():
    report = claims.verify(if_from_zero, "if", examples=10)
    assert results(report)["if-constant-input"] == "fails" and results(report)["if-soft-reset"] == "fails"
    assert failure(report, "if-constant-input") == (
        "T = 2, θ = 1, I_t = 0.25 at every step: IF count 0, QCFS level 1, exact level 1")
    assert "soft reset from v₀ gives 1" in failure(report, "if-soft-reset")
    assert results(report)["if-random-floats-agree"] == "fails"
    assert "neurons (49.93%) agree with refsnn, fewer than 99%" in failure(report, "if-random-floats-agree")


def test_no_reset_fires_too_often():
    report = claims.verify(if_without_reset, "if", examples=10)
    assert results(report)["if-constant-input"] == "fails"
    said = re.search(r"IF count (\d+), QCFS level (\d+)", failure(report, "if-constant-input"))
    count, level = map(int, said.groups())
    assert count > level
    assert "soft reset from v₀ gives" in failure(report, "if-soft-reset")


# --------------------------------------------------------------------------- the authors' formula


def wrong_ties(fire, steps):
    """(T, t, θ, ψ/θ, kind) of every tie where ``fire`` (code order) misses the closed form."""
    implementation, wrong = Implementation(fire, "parallel", "code"), []
    for T, kind, theta, shift, currents in claims.exact_ties(steps):
        count = implementation(currents, theta, shift).sum(axis=0)
        wrong += [(T, t, theta, shift / theta, kind) for t in range(1, T + 1) if count[t - 1] != t]
    return wrong


def test_the_authors_formula_loses_24_ties_all_at_T_32():
    """The finding: on the grid T ∈ {1, 2, 3, 4, 8, 16, 32} (1,548 ties) exactly 24 are
    lost, all at T = 32, t ∈ {25, 31}, ψ/θ ∈ {¼, ½}, every θ and both input kinds."""
    assert sum(T for T, *_ in claims.exact_ties(FINDING_STEPS)) == 1548
    wrong = wrong_ties(authors_parallel, FINDING_STEPS)
    assert len(wrong) == 24
    assert {T for T, *_ in wrong} == {32}
    assert {t for _, t, *_ in wrong} == {25, 31}
    assert {ratio for *_, ratio, _ in wrong} == {0.25, 0.5}
    assert {theta for _, _, theta, *_ in wrong} == {0.5, 1.0, 2.0}
    assert {kind for *_, kind in wrong} == {"at step 1", "evenly"}
    failed, checked, agreement = claims.every_exact_tie(Implementation(authors_parallel, order="code"), FINDING_STEPS)
    assert checked == 1548 and agreement[:2] == (1524, 1548)
    assert failed.startswith("24 of 1,548 ties wrong (T = 32: 24); the first: T = 32, θ = 1, ψ = 0.5, "
                             "I = [24.5, 0, …, 0]: Σ + ψ = 25 = tθ, count 24, expected 25")


def test_refsnn_keeps_every_tie_of_the_finding():
    for method in ("hadamard", "binary"):
        assert wrong_ties(functools.partial(parallel.parallel_neuron, method=method, order="code"), FINDING_STEPS) == []


def test_the_minimal_case_exactly():
    """T = 32, θ = 1, ψ = ½, I = [24.5, 0, …, 0]: fl(fl(32/25)·fl(24.5/32)) + fl(0.5/25) =
    0.99999994 < 1, so step 25 stays silent: 24 spikes where Theorem 4.1 gives 25."""
    f32 = np.float32
    H_25 = f32(32) / f32(25) * (f32(24.5) / f32(32)) + f32(0.5) / f32(25)
    assert H_25 == f32(0.99999994) < 1
    currents = np.zeros((32, 1), dtype=np.float32)
    currents[0] = 24.5
    spikes = authors_parallel(currents, 1.0, 0.5)[:, 0]
    assert spikes.sum() == 24 and spikes[:24].all()
    assert parallel.parallel_neuron(currents, 1.0, 0.5, order="code").sum() == 25


def test_verify_against_reports_the_finding(capsys, tmp_path):
    path = tmp_path / "report.json"
    argv = ["verify", "--against", FORMULA, "--neuron", "parallel", "--order", "code", "--examples", "5",
            "--json", str(path)]
    assert main(argv) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith(f"refsnn verify --against {FORMULA} (parallel neuron, code order): 5 claims")
    tie = next(line for line in lines if line.startswith("FAILS"))
    assert "168 of 3,084 ties wrong (T = 32: 24, T = 64: 144); the first: T = 32, θ = 1, ψ = 0.5, " \
           "I = [24.5, 0, …, 0]: Σ + ψ = 25 = tθ, count 24, expected 25" in tie
    assert sum(line.startswith("holds") for line in lines) == 4
    assert lines[-1].startswith("FAILED: 1 of 5 claims fail (every-exact-tie); 2,916 of 3,084 exact ties as the "
                                "closed form, 94.55%; 45,056 of 45,056 random-float neurons as refsnn; ")
    report = json.loads(path.read_text())
    assert not report["passed"] and report["order"] == "code" and report["against"] == FORMULA
    assert report["claims"][3]["agreement"] == {"agreeing": 2916, "of": 3084, "what": "exact ties as the closed form"}


# --------------------------------------------------------------------------- the calling convention


def test_the_neuron_gets_a_float32_c_contiguous_copy_and_python_floats():
    seen = []

    def fire(currents, theta, psi):
        seen.append((currents.dtype, currents.flags.c_contiguous, type(theta), type(psi)))
        currents[:] = 99  # must not reach the caller
        return np.zeros(currents.shape, dtype=int)

    given = np.asfortranarray(np.ones((3, 2)))
    Implementation(fire)(given, np.float64(1.0), 0.5)
    assert seen == [(np.float32, True, float, float)] and (given == 1).all()


def test_a_class_is_built_once_per_T_theta_and_shift():
    built = []

    class Neuron:
        def __init__(self, T, theta, psi):
            built.append((T, theta, psi))

        def __call__(self, currents, theta, psi):
            return parallel.parallel_neuron(currents, theta, psi)

    report = claims.verify(Neuron, "parallel", examples=5)
    assert report["passed"], report
    assert len(built) == len(set(built)) > 100


@pytest.mark.parametrize("returned, said", [
    (lambda c: c.sum(axis=0), "returned an array of shape (3,), not (T, N) = (4, 3)"),
    (lambda c: None, "returned None, not an array of 0 and 1"),
    (lambda c: np.full(c.shape, np.nan), "returned NaN at step 1, neuron 0"),
    (lambda c: 2 * (c > 0), "returned 2 at step 2, neuron 2: spikes must be 0 or 1"),
    (lambda c: np.full(c.shape, "1"), "returned a ndarray of dtype <U1, not an array of 0 and 1"),
])
def test_a_bad_return_is_named(returned, said):
    currents = (np.arange(12, dtype=np.float32).reshape(4, 3) - 4) / 4
    with pytest.raises(ConventionError) as info:
        Implementation(lambda c, theta, psi: returned(c))(currents, 1.0, 0.5)
    assert str(info.value) == f"on currents of shape (4, 3) float32, θ = 1, ψ = 0.5: {said}"


def test_a_neuron_that_goes_wrong_later_fails_claims_without_a_traceback():
    def fire(currents, theta, psi):
        if currents.shape[0] > 4:
            raise RuntimeError("too long\nsecond line")
        return parallel.parallel_neuron(currents, theta, psi)

    report = claims.verify(fire, "parallel", examples=20)
    assert not report["passed"]
    said = failure(report, "expectation-from-counts")
    assert said.startswith("on currents of shape (5, ") and said.endswith(": raised RuntimeError: too long")
    assert all("Traceback" not in (row["counterexample"] or "") for row in report["claims"])


@pytest.mark.parametrize("kwargs, error", [
    (dict(neuron="lif"), ValueError), (dict(order="sideways"), ValueError),
    (dict(neuron="if", order="code"), ValueError), (dict(examples=0), ValueError), (dict(seed=-1), ValueError),
])
def test_verify_rejects_bad_arguments(kwargs, error):
    with pytest.raises(error):
        claims.verify(parallel.parallel_neuron, **kwargs)


def test_a_claim_of_refsnn_only_refuses_another_neuron():
    with pytest.raises(ValueError, match="refsnn's neuron only"):
        claims.claim_named("sorting").run(5, neuron=Implementation(parallel.parallel_neuron))


# --------------------------------------------------------------------------- bad --against values


@pytest.fixture
def adapters(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.py").write_text(
        "import numpy as np\n"
        "count = 3\n"
        "def one_argument(currents):\n    return currents\n"
        "def wrong_shape(currents, theta, psi):\n    return currents.sum(axis=0)\n"
        "def raises(currents, theta, psi):\n    raise ValueError('no')\n")
    (tmp_path / "broken.py").write_text("raise RuntimeError('cannot import me')\n")
    return tmp_path


@pytest.mark.parametrize("argv, said", [
    (["--against", "mine.py", "--neuron", "parallel"], "--against: must be MODULE:NAME"),
    (["--against", "nosuch:f", "--neuron", "parallel"], "--against: no module named 'nosuch'"),
    (["--against", "nosuch.py:f", "--neuron", "parallel"], "--against: no file nosuch.py"),
    (["--against", "mine:nothing", "--neuron", "parallel"], "--against: mine has no 'nothing'"),
    (["--against", "mine:count", "--neuron", "parallel"], "--against: mine:count is a int, not a function or a class"),
    (["--against", "mine.py:one_argument", "--neuron", "if"],
     "--against: mine.py:one_argument must take (currents, theta, v0), but its signature is (currents)"),
    (["--against", "broken:f", "--neuron", "parallel"],
     "--against: importing broken raised RuntimeError: cannot import me"),
    (["--against", "mine:raises"], "--against needs --neuron parallel or --neuron if"),
    (["--against", "mine:raises", "--neuron", "if", "--order", "code"], "--order applies to --neuron parallel only"),
    (["--neuron", "if"], "--neuron and --order go with --against MODULE:NAME"),
])
def test_bad_against_values_exit_2_with_one_line(adapters, argv, said, capsys):
    with pytest.raises(SystemExit) as info:
        main(["verify", *argv])
    assert info.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("refsnn verify: error:")]
    assert len(errors) == 1 and errors[0].startswith(f"refsnn verify: error: {said}"), errors


@pytest.mark.parametrize("name, said", [
    ("wrong_shape", "returned an array of shape (3,), not (T, N) = (4, 3)"),
    ("raises", "raised ValueError: no"),
])
def test_a_neuron_off_the_convention_exits_1_with_one_line(adapters, name, said, capsys):
    assert main(["verify", "--against", f"mine:{name}", "--neuron", "parallel"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [f"refsnn verify --against mine:{name}: does not follow the calling convention: "
                   f"on currents of shape (4, 3) float32, θ = 1, ψ = 0.5: {said}"]


def test_load_finds_a_dotted_module_and_a_file(adapters):
    assert load("refsnn.neurons.parallel:parallel_neuron") is parallel.parallel_neuron
    assert load(f"{adapters / 'mine.py'}:wrong_shape").__name__ == "wrong_shape"


def test_json_to_standard_output_moves_the_report_to_standard_error(capsys):
    argv = ["verify", "--against", "refsnn.neurons.integrate_fire:if_neuron", "--neuron", "if", "--examples", "5",
            "--json", "-"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["passed"] and report["neuron"] == "if" and len(report["claims"]) == 4
    assert captured.err.splitlines()[-1].startswith("all 4 claims hold; 3,084 of 3,084 exact ties as the soft-reset")


# --------------------------------------------------------------------------- the adapters of the page (torch)


PAGE = HERE.parent / "tutorials" / "verify_against.md"


def stand_ins(torch):
    """A ``modules`` holding stand-ins for the authors' two neuron classes, written from
    their formulas (same constructor arguments, same inputs and outputs: spikes·θ)."""
    import types

    class ParaInfNeuron(torch.nn.Module):
        """Step x fires iff fl(T/x)·mean + fl(init_mem·θ/x) >= θ, float32; input (T·B, N)."""

        def __init__(self, T, th=1.0, init_mem=0.5, dim=5):
            super().__init__()
            self.T, self.theta = T, th
            x = torch.arange(1, T + 1, dtype=torch.float32)[:, None]
            self.scale, self.offset = T / x, (init_mem * th) / x

        def forward(self, x):
            mean = x.reshape(self.T, -1).mean(dim=0)
            return ((self.scale * mean + self.offset >= self.theta).float() * self.theta).reshape(x.shape)

    class IFNeuron(torch.nn.Module):
        """m = v + x, s = H(m − θ), v = m − θ·s, one step per call; back to v₀ after T steps."""

        def __init__(self, T, th=1.0, init_mem=0.5):
            super().__init__()
            self.T, self.theta, self.v0 = T, th, init_mem * th
            self.t, self.v = 0, self.v0

        def forward(self, x):
            self.v = self.v + x
            spike = (self.v >= self.theta).float()
            self.v, self.t = self.v - spike * self.theta, self.t + 1
            if self.t == self.T:
                self.t, self.v = 0, self.v0
            return spike * self.theta

    return types.SimpleNamespace(ParaInfNeuron=ParaInfNeuron, IFNeuron=IFNeuron)


@pytest.fixture
def page_adapters(tmp_path, monkeypatch):
    """The page's adapters.py, imported as the command line would, the authors' classes stood in for."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("spikingjelly")
    pytest.importorskip("snntorch")
    import sys

    block = PAGE.read_text(encoding="utf-8").split("<!-- adapters.py -->\n```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "adapters.py").write_text(block, encoding="utf-8")
    monkeypatch.setitem(sys.modules, "modules", stand_ins(torch))
    return lambda name, kind: load(f"{tmp_path / 'adapters.py'}:{name}", kind)


@pytest.mark.parametrize("name, kind, order, failing", [
    ("AuthorsParallel", "parallel", "code", {"every-exact-tie"}),
    ("AuthorsIF", "if", "paper", set()),
    ("spikingjelly_if", "if", "paper", set()),
    ("SpikingJellyPSN", "parallel", "paper", {"every-exact-tie"}),
    ("snntorch_leaky", "if", "paper", {"if-constant-input", "if-soft-reset", "if-every-exact-tie"}),
])
def test_the_page_adapters_report_what_the_page_says(page_adapters, name, kind, order, failing):
    report = claims.verify(page_adapters(name, kind), kind, order, examples=10)
    assert {row["name"] for row in report["claims"] if row["result"] != "holds"} >= failing
    assert {row["name"] for row in report["claims"] if row["result"] != "holds"} <= failing | {"count-is-level"}
    floats = report["claims"][-1]["agreement"]
    assert floats["agreeing"] == floats["of"] == 45056
    ties = next(row for row in report["claims"] if row["name"].endswith("every-exact-tie"))
    wrong = {"AuthorsParallel": 168, "SpikingJellyPSN": 498, "snntorch_leaky": 3084}.get(name, 0)
    assert ties["agreement"]["of"] - ties["agreement"]["agreeing"] == wrong
    if name == "AuthorsParallel":
        first = "(T = 32: 24, T = 64: 144); the first: T = 32, θ = 1, ψ = 0.5, I = [24.5, 0, …, 0]"
        assert first in ties["counterexample"]

