"""Tests for ``refsnn demo`` at a tiny size: the JSON rows, the cache and the CLI."""

import json

import pytest

from refsnn.programs import demo
from refsnn.programs.cli import main


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    """One training epoch and few steps, with the cache in a temporary directory."""
    monkeypatch.setenv("REFSNN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setitem(demo.CONFIG, "epochs", 1)
    monkeypatch.setattr(demo, "IF_STEPS", (4, 8))
    monkeypatch.setattr(demo, "OTHER_STEPS", (2,))
    monkeypatch.setattr(demo, "TRAINING_FREE_STEPS", (4, 8))
    monkeypatch.setattr(demo, "TIMING_STEPS", (4,))
    monkeypatch.setattr(demo, "STRONGER", {"depths": (3,), "if_multiples": (1, 2), "epochs": 2, "width": 8})
    full = demo.load_digits

    def small(seed=0):
        X_train, y_train, X_test, y_test = full(seed=seed)
        return X_train[:300], y_train[:300], X_test[:100], y_test[:100]

    monkeypatch.setattr(demo, "load_digits", small)
    return tmp_path


def test_demo_writes_the_documented_json(tiny, capsys):
    (tiny / "out").mkdir()  # the folder must exist: refsnn creates no folders it was not asked for
    path = tiny / "out" / "demo.json"
    assert main(["demo", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "training the QCFS CNN" in out and "accuracy" in out and f"wrote {path}" in out
    result = json.loads(path.read_text())
    assert result["dataset"] == "digits" and result["seed"] == 0
    keys = {"source", "method", "T", "accuracy", "agreement", "rate_error", "rate_bias", "channel_bias", "seconds"}
    methods = set()
    for row in result["rows"]:
        assert set(row) == keys
        assert row["source"] in ("qcfs", "relu")
        assert 0 <= row["accuracy"] <= 1 and 0 <= row["agreement"] <= 1
        methods.add((row["source"], row["method"]))
        if row["method"] != "ann":
            assert len(row["rate_error"]) == 2 and row["seconds"] > 0
    assert methods == {("qcfs", "ann"), ("relu", "ann"), ("qcfs", "parallel"), ("qcfs", "if"),
                       ("qcfs", "parallel_calibrated"), ("relu", "training_free")}
    lossless = next(r for r in result["rows"] if r["method"] == "parallel" and r["T"] == demo.T_TILDE)
    assert lossless["agreement"] == 1.0 and lossless["rate_error"] == [0.0, 0.0]
    qcfs_ann = next(r for r in result["rows"] if r["method"] == "ann" and r["source"] == "qcfs")
    assert lossless["accuracy"] == qcfs_ann["accuracy"]
    assert set(result["timing"][0]) == {"T", "sequential_if", "faithful_parallel", "collapsed_parallel"}
    stronger = result["stronger"]
    assert {(r["method"], r["T"]) for r in stronger} == {("ann", None), ("parallel", 4), ("if", 4), ("if", 8)}
    assert all(r["depth"] == 3 and r["experiment"] == "depth" for r in stronger)
    assert next(r for r in stronger if r["method"] == "parallel")["agreement"] == 1.0
    assert "stronger, 3 spiking layers" in out and "IF " in out.split("stronger, 3 spiking layers")[1]


def test_stronger_findings_name_the_T_at_which_IF_catches_up():
    rows = [{"method": "ann", "T": None, "accuracy": 0.95, "depth": 12},
            {"method": "parallel", "T": 4, "accuracy": 0.95, "agreement": 1.0, "depth": 12},
            {"method": "if", "T": 4, "accuracy": 0.80, "depth": 12},
            {"method": "if", "T": 16, "accuracy": 0.951, "depth": 12},
            {"method": "if", "T": 8, "accuracy": 0.90, "depth": 12}]
    lines = demo.stronger_findings(rows)
    assert lines[-1] == "IF needs T = 16 to reach the parallel SNN's accuracy at T~ = 4"
    rows[3]["accuracy"] = 0.9
    assert "does not reach" in demo.stronger_findings(rows)[-1]


def test_second_run_loads_the_cache(tiny, capsys):
    demo.trained_networks(demo.load_digits(), log=print)
    capsys.readouterr()
    qcfs_net, _ = demo.trained_networks(demo.load_digits(), log=print)
    out = capsys.readouterr().out
    assert out.count("loaded") == 2 and "training" not in out
    retrained, _ = demo.trained_networks(demo.load_digits(), retrain=True, log=print)
    assert capsys.readouterr().out.count("training") == 2
    assert (retrained[0].weight == qcfs_net[0].weight).all()  # seeded: same weights again


def test_bad_arguments():
    with pytest.raises(SystemExit):
        main(["demo", "--phi-update", "average"])
    with pytest.raises(SystemExit):
        main(["nonsense"])


def test_findings_summarise_the_rows(tiny):
    result = demo.run_demo(log=lambda *a: None)
    lines = demo.findings(result)
    assert lines[0].startswith("parallel SNN at T = T~ = 4") and "agreement 100.00%" in lines[0]
    assert any(line.startswith("IF reaches") for line in lines)
    assert sum(line.startswith("speed at T") for line in lines) == len(demo.TIMING_STEPS)


# --------------------------------------------------------------------------- printed progress


def test_progress_line_reports_the_epoch_it_names(tiny, monkeypatch):
    """"epoch 10/10" is printed right after epoch 10, with epoch 10's loss (not after
    epoch 9, with epoch 9's)."""
    monkeypatch.setitem(demo.CONFIG, "epochs", 10)
    events, real_fit = [], demo.fit

    def spy_fit(*args, progress, **kwargs):
        def spy(epoch, loss, acc):
            events.append(("epoch", epoch, f"loss {loss:.3f}"))
            progress(epoch, loss, acc)
        return real_fit(*args, progress=spy, **kwargs)

    monkeypatch.setattr(demo, "fit", spy_fit)
    demo.trained_networks(demo.load_digits(), log=lambda line: events.append(("log", line)))
    shown = [(i, e[1]) for i, e in enumerate(events) if e[0] == "log" and "/10:" in e[1]]
    assert len(shown) == 2  # QCFS and ReLU, once each at epoch 10
    for i, line in shown:
        assert "epoch 10/10" in line
        assert events[i - 1][:2] == ("epoch", 10) and events[i - 1][2] in line


def test_per_step_accuracy_is_printed_after_its_heading(tiny):
    lines = []
    result = demo.run_demo(log=lines.append)
    at = next(i for i, line in enumerate(lines) if "per-step cumulative accuracy" in line)
    following = lines[at + 1:at + 1 + len(result["per_step_accuracy"])]
    for line, (label, curve) in zip(following, result["per_step_accuracy"].items()):
        assert label in line and f"{curve[-1]:.3f}" in line


@pytest.mark.parametrize("program, work", [("demo", "run_demo"), ("bench", "collect")])
def test_bad_json_path_is_refused_before_the_work(program, work, monkeypatch, tmp_path):
    import importlib

    module = importlib.import_module(f"refsnn.programs.{program}")

    def started(*args, **kwargs):
        raise AssertionError(f"{program} started despite a bad json_path")

    monkeypatch.setattr(module, work, started)
    with pytest.raises(ValueError, match="json_path.*does not exist"):
        module.run(json_path=tmp_path / "missing" / "x.json")
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (1.5, TypeError)])
def test_bad_seed_is_refused(seed, error):
    with pytest.raises(error, match="seed"):
        demo.run_demo(seed=seed, log=lambda *a: None)


# --------------------------------------------------------------------------- the weights cache


def test_a_damaged_entry_is_trained_again(tiny, capsys):
    demo.trained_networks(demo.load_digits(), log=print)
    (entry,) = (tiny / "cache").glob("digits-qcfs-*.npz")
    entry.write_bytes(entry.read_bytes()[:-10])
    capsys.readouterr()
    demo.trained_networks(demo.load_digits(), log=print)
    out = capsys.readouterr().out
    assert out.count("warning:") == 1 and entry.name in out and out.count("training the") == 1
    assert out.count("loaded") == 1  # the ReLU CNN


def test_a_cache_that_cannot_be_written_is_reported_once_and_the_demo_completes(tiny):
    (tiny / "cache").write_text("not a folder")
    lines = []
    result = demo.run_demo(log=lines.append)
    warnings = [line for line in lines if "warning" in line]
    assert len(warnings) == 1 and warnings[0] == lines[0] and str(tiny / "cache") in warnings[0]
    assert result["rows"] and result["stronger"]


def test_findings_count_an_if_snn_that_equals_the_parallel_accuracy_as_caught_up():
    """The findings name the first T at which the IF SNN is at least as accurate as the
    parallel SNN: an equal accuracy counts as reaching it."""
    def row(source, method, T, accuracy):
        return {"source": source, "method": method, "T": T, "accuracy": accuracy, "agreement": accuracy,
                "rate_error": [0.0]}

    rows = [row("qcfs", "ann", None, 0.9), row("relu", "ann", None, 0.9), row("qcfs", "parallel", demo.T_TILDE, 0.9)]
    rows += [row("qcfs", "if", T, 0.8 if T == demo.IF_STEPS[0] else 0.9) for T in demo.IF_STEPS]
    rows += [row("qcfs", method, T, 0.5) for T in demo.OTHER_STEPS for method in ("parallel", "parallel_calibrated")]
    rows += [row("relu", "training_free", T, 0.5) for T in demo.TRAINING_FREE_STEPS]
    lines = demo.findings({"rows": rows, "timing": []})
    assert f"IF reaches the parallel SNN's accuracy at T = {demo.IF_STEPS[1]}" in lines


def test_per_step_curves_are_shown_at_the_powers_of_two_and_at_T():
    """The printed steps of a per-step curve: 1, 2, 4, … up to T, and T itself."""
    assert demo._shown_steps(1) == [1]
    assert demo._shown_steps(4) == [1, 2, 4]
    assert demo._shown_steps(5) == [1, 2, 4, 5]
    assert demo._shown_steps(12) == [1, 2, 4, 8, 12]


def test_no_function_of_the_demo_is_longer_than_fifty_lines():
    """One function per result block: every function of the demo, docstring included, fits
    in 50 lines."""
    import ast
    import inspect

    from refsnn.programs import demo

    tree = ast.parse(inspect.getsource(demo))
    long = [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 > 50]
    assert not long, long
