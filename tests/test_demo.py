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
    full = demo.load_digits

    def small(seed=0):
        X_train, y_train, X_test, y_test = full(seed=seed)
        return X_train[:300], y_train[:300], X_test[:100], y_test[:100]

    monkeypatch.setattr(demo, "load_digits", small)
    return tmp_path


def test_demo_writes_the_documented_json(tiny, capsys):
    path = tiny / "out" / "demo.json"
    assert main(["demo", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "training the QCFS CNN" in out and "accuracy" in out and f"wrote {path}" in out
    result = json.loads(path.read_text())
    assert result["dataset"] == "digits" and result["seed"] == 0
    keys = {"source", "method", "T", "accuracy", "agreement", "rate_error", "seconds"}
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


def test_second_run_loads_the_cache(tiny, capsys):
    demo.trained_networks(demo.load_digits(), log=print)
    capsys.readouterr()
    qcfs_net, _ = demo.trained_networks(demo.load_digits(), log=print)
    out = capsys.readouterr().out
    assert out.count("loaded") == 2 and "training" not in out
    retrained, _ = demo.trained_networks(demo.load_digits(), retrain=True, log=print)
    assert capsys.readouterr().out.count("training") == 2
    assert (retrained[0].weight == qcfs_net[0].weight).all()  # seeded: same weights again


def test_cache_dir_respects_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("REFSNN_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert demo.cache_dir() == tmp_path / "refsnn"
    monkeypatch.setenv("REFSNN_CACHE_DIR", str(tmp_path / "x"))
    assert demo.cache_dir() == tmp_path / "x"


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
