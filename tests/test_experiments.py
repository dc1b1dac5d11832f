"""Tests for ``refsnn experiment`` at tiny sizes: rows, summaries, JSON, figures, MNIST files."""

import json
import os

import numpy as np
import pytest
from test_data import make_mnist

from refsnn.networks import io
from refsnn.programs import cache, experiments
from refsnn.threads import thread_setting

TINY_DEPTH = {"depths": (2, 3), "width": 8, "epochs": 2, "if_multiples": (1, 2)}
TINY_RESNET = {"width": 2, "blocks": 1, "epochs": 1, "if_multiples": (1,), "other_steps": (2,),
               "training_free_steps": (4,), "calibration_epochs": 1}
ROW_KEYS = {"experiment", "data", "model", "depth", "seed", "source", "method", "T", "accuracy", "agreement",
            "rate_error", "rate_bias", "channel_bias", "seconds"}


@pytest.fixture
def small(monkeypatch, tmp_path):
    """Small experiments on a slice of the digits, with the cache in a temporary folder."""
    monkeypatch.setenv("REFSNN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(experiments, "DEPTH", {**experiments.DEPTH, **TINY_DEPTH})
    monkeypatch.setattr(experiments, "RESNET", {**experiments.RESNET, **TINY_RESNET})
    full = experiments.load_digits

    def sliced(seed=0):
        X_train, y_train, X_test, y_test = full(seed=seed)
        return X_train[:200], y_train[:200], X_test[:60], y_test[:60]

    monkeypatch.setattr(experiments, "load_digits", sliced)
    return tmp_path


def test_depth_rows_and_the_lossless_claim(small):
    """Every (depth, seed) has the ANN, the parallel SNN at T̃ (equal to the ANN: Theorem
    4.1) and the IF SNNs; rows carry the documented keys; the summary spans the seeds."""
    result = experiments.run_experiment("depth", seeds=[0, 1], log=lambda *a: None)
    rows = result["rows"]
    assert all(set(row) == ROW_KEYS and row["experiment"] == "depth" for row in rows)
    assert {(r["depth"], r["seed"], r["method"], r["T"]) for r in rows} == {
        (d, s, m, T) for d in (2, 3) for s in (0, 1) for m, T in (("ann", None), ("parallel", 4), ("if", 4), ("if", 8))}
    for row in rows:
        if row["method"] == "parallel":
            ann = next(r for r in rows if (r["depth"], r["seed"], r["method"]) == (row["depth"], row["seed"], "ann"))
            assert row["accuracy"] == ann["accuracy"] and row["agreement"] == 1.0
            assert row["rate_error"] == [0.0] * row["depth"]
        if row["method"] == "if":
            assert len(row["rate_error"]) == len(row["rate_bias"]) == row["depth"]
    summary = {(s["model"], s["method"], s["T"]): s for s in result["summary"]}
    s = summary["mlp3x8", "if", 8]
    accs = [r["accuracy"] for r in rows if (r["depth"], r["method"], r["T"]) == (3, "if", 8)]
    assert s["seeds"] == [0, 1] and s["accuracy_min"] == min(accs) and s["accuracy_max"] == max(accs)
    assert s["accuracy_mean"] == pytest.approx(np.mean(accs))


def test_training_is_cached_and_deterministic(small):
    log = []
    first = experiments.run_experiment("depth", seeds=[0], log=log.append)
    assert any("trained" in line for line in log)
    log.clear()
    second = experiments.run_experiment("depth", seeds=[0], log=log.append)
    assert not any("trained" in line for line in log) and any("loaded" in line for line in log)
    assert [r["accuracy"] for r in first["rows"]] == [r["accuracy"] for r in second["rows"]]
    log.clear()
    third = experiments.run_experiment("depth", seeds=[0], retrain=True, log=log.append)
    assert any("trained" in line for line in log)
    assert [r["accuracy"] for r in third["rows"]] == [r["accuracy"] for r in first["rows"]]


def test_resnet_rows(small):
    result = experiments.run_experiment("resnet", seeds=[0], log=lambda *a: None)
    methods = {(r["source"], r["method"], r["T"]) for r in result["rows"]}
    assert methods == {("qcfs", "ann", None), ("qcfs", "parallel", 4), ("qcfs", "if", 4), ("qcfs", "parallel", 2),
                       ("qcfs", "parallel_calibrated", 2), ("relu", "ann", None), ("relu", "training_free", 4),
                       ("relu", "training_free_calibrated", 4)}
    lossless = next(r for r in result["rows"] if r["method"] == "parallel" and r["T"] == 4)
    assert lossless["agreement"] == 1.0 and max(lossless["rate_error"]) == 0.0
    assert all(r["depth"] == 7 for r in result["rows"])  # stem + 3 blocks × 2


def test_run_writes_json_and_figures(small, capsys):
    out = small / "figs"
    path = small / "depth.json"
    experiments.run("depth", seeds=[0], json_path=path, out_dir=out)
    printed = capsys.readouterr().out
    assert "mean [min, max] over seeds 0" in printed and f"wrote {path}" in printed
    data = json.loads(path.read_text())
    assert set(data) == {"experiment", "data", "seeds", "rows", "summary", "seconds", "thread_setting"}
    assert data["thread_setting"] == thread_setting() and f"s with {data['thread_setting']}" in printed
    assert sorted(p.name for p in out.iterdir()) == ["depth.png", "depth_accuracy_vs_T.png", "depth_layers.png"]


def test_a_full_disk_leaves_no_truncated_figure(small, monkeypatch, capsys):
    """The figures under --out are written atomically: a write that fails midway (a full
    disk) leaves no truncated PNG, and the JSON written before them stays whole."""
    import matplotlib.figure
    import matplotlib.pyplot as plt
    from test_outputs import failing_savefig

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", failing_savefig)
    out, path = small / "figs", small / "depth.json"
    open_figures = plt.get_fignums()
    with pytest.raises(OSError, match="depth.png.*No space left on device"):
        experiments.run("depth", seeds=[0], json_path=path, out_dir=out)
    assert os.listdir(out) == [] and plt.get_fignums() == open_figures  # the figure was closed
    assert json.loads(path.read_text())["experiment"] == "depth"


def test_mnist_from_idx_files(small, monkeypatch):
    """--data mnist reads the four standard IDX files (here tiny ones) and trains the MLP
    on 784 inputs."""
    make_mnist(small, n_train=40, n_test=12)
    monkeypatch.setattr(experiments, "DEPTH", {**experiments.DEPTH, "depths": (2,)})
    result = experiments.run_experiment("depth", data="mnist", data_dir=small, seeds=[0], log=lambda *a: None)
    assert {r["data"] for r in result["rows"]} == {"mnist"} and result["rows"][0]["model"] == "mlp2x8"


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(name="width"), ValueError, "name"),
    (dict(name="depth", data="imagenet"), ValueError, "data"),
    (dict(name="depth", data="mnist"), ValueError, "--data-dir"),
    (dict(name="depth", seeds=[]), ValueError, "seeds"),
    (dict(name="depth", seeds=[-1]), ValueError, "seeds"),
    (dict(name="depth", seeds=[0, 1, 0]), ValueError, "seeds.*distinct.*0 1 0"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        experiments.run_experiment(**kwargs, log=lambda *a: None)


def test_command_line(small, capsys):
    from refsnn.programs.cli import main

    assert main(["experiment", "depth", "--seeds", "0", "--json", str(small / "d.json")]) == 0
    assert "mlp3x8" in capsys.readouterr().out and (small / "d.json").exists()


@pytest.mark.parametrize("argv, flag", [
    (["experiment", "depth", "--seeds", "-1"], "--seeds"),
    (["experiment", "depth", "--seeds", "0", "0"], "--seeds must be distinct"),
    (["experiment", "depth", "--data", "mnist"], "--data-dir"),
    (["experiment", "depth", "--data", "mnist", "--data-dir", "/nonexistent-folder"], "--data-dir"),
    (["experiment", "depth", "--json", "/nonexistent-folder/x.json"], "--json"),
    (["experiment", "width"], "name"),
])
def test_command_line_refuses_bad_arguments(argv, flag, capsys):
    from refsnn.programs.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2 and flag in capsys.readouterr().err


# --------------------------------------------------------------------------- the weights cache


def _trained_names(log):
    """The networks a run trained (rather than loaded), from its log lines."""
    return [line.split()[1] for line in log if line.startswith("  trained ")]


def test_two_data_sets_of_one_size_do_not_share_weights(small, monkeypatch):
    """Two MNIST-format folders with the same image counts but different images: the
    second is trained on its own data, not evaluated with the first one's weights."""
    monkeypatch.setattr(experiments, "DEPTH", {**experiments.DEPTH, "depths": (2,)})
    for name, seed in (("a", 0), ("b", 1), ("a", 0)):
        (small / name).mkdir(exist_ok=True)
        make_mnist(small / name, n_train=40, n_test=12, seed=seed)
    log = []

    def run(folder):
        experiments.run_experiment("depth", data="mnist", data_dir=small / folder, seeds=[0], log=log.append)

    run("a")
    run("b")
    assert _trained_names(log) == ["mlp2x8-qcfs4-mnist"] * 2
    log.clear()
    run("a")  # the same data again: loaded
    assert _trained_names(log) == [] and any("loaded" in line for line in log)


@pytest.mark.parametrize("change", [{"theta0": 1.0}, {"T_tilde": 2}, "one pixel"])
def test_resnet_key_covers_the_qcfs_settings_and_the_data(small, change):
    """T̃ and θ0 determine the QCFS ResNet's weights (not the ReLU ResNet's); the
    training images determine both."""
    log = []
    experiments.run_experiment("resnet", seeds=[0], log=log.append)
    assert _trained_names(log) == ["resnet1x2-qcfs-digits", "resnet1x2-relu-digits"]
    log.clear()
    X_train, y_train, X_test, y_test = experiments.load_data(seed=0)
    if change == "one pixel":
        X_train = X_train.copy()
        X_train[0, 0, 4, 4] += 0.25
        experiments.run_resnet("digits", (X_train, y_train, X_test, y_test), [0], log=log.append)
        assert _trained_names(log) == ["resnet1x2-qcfs-digits", "resnet1x2-relu-digits"]
    else:
        experiments.run_resnet("digits", (X_train, y_train, X_test, y_test), [0], config=change, log=log.append)
        assert _trained_names(log) == ["resnet1x2-qcfs-digits"]


def test_depth_key_covers_theta0_and_not_the_evaluation_settings(small):
    log = []
    data = experiments.load_data(seed=0)
    experiments.run_depth("digits", data, [0], config={"depths": (2,)}, log=log.append)
    assert _trained_names(log) == ["mlp2x8-qcfs4-digits"]
    log.clear()
    experiments.run_depth("digits", data, [0], config={"depths": (2,), "if_multiples": (1,)}, log=log.append)
    assert _trained_names(log) == []  # the IF steps do not determine the weights
    experiments.run_depth("digits", data, [0], config={"depths": (2,), "theta0": 1.0}, log=log.append)
    assert _trained_names(log) == ["mlp2x8-qcfs4-digits"]


def test_a_damaged_cache_is_trained_again_and_the_run_completes(small, capsys):
    from refsnn.programs.cli import main

    argv = ["experiment", "depth", "--seeds", "0", "--json", str(small / "d.json")]
    assert main(argv) == 0
    entries = sorted((small / "cache").glob("*.npz"))
    assert len(entries) == 2
    entries[0].write_bytes(entries[0].read_bytes()[:100])  # truncated
    entries[1].write_bytes(b"")
    (small / "d.json").unlink()
    capsys.readouterr()
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("warning:")] == [
        line for line in out.splitlines() if "warning" in line] and out.count("warning:") == 2
    assert out.count("  trained ") == 2 and (small / "d.json").exists()
    assert all(io.load(path) is not None for path in entries)  # replaced


@pytest.mark.parametrize("blocker", ["file", "full disk"])
def test_a_cache_that_cannot_be_written_does_not_stop_the_run(small, monkeypatch, capsys, blocker):
    """A regular file where the cache folder should be: one warning at the start, and the
    run completes with its JSON. A save that fails later (a full disk): one warning per
    network, and the run completes."""
    from refsnn.programs.cli import main

    if blocker == "file":
        (small / "cache").write_text("not a folder")
    else:
        def full_disk(net, path):
            raise OSError(28, "No space left on device", str(path))

        monkeypatch.setattr(cache.io, "save", full_disk)
    assert main(["experiment", "depth", "--seeds", "0", "--json", str(small / "d.json")]) == 0
    lines = capsys.readouterr().out.splitlines()
    warnings = [i for i, line in enumerate(lines) if line.startswith("warning:")]
    assert (small / "d.json").exists() and not any("Traceback" in line for line in lines)
    if blocker == "file":
        assert len(warnings) == 1 and warnings[0] < min(i for i, line in enumerate(lines) if "  trained " in line)
        assert "without caching" in lines[warnings[0]]
    else:
        assert len(warnings) == 2 and all("No space left" in lines[i] for i in warnings)


def test_summarize_gives_mean_min_and_max_of_accuracy_and_agreement_over_seeds():
    """One group per (experiment, model, source, method, T); each statistic from its own
    column (accuracy and agreement differ here, so a mix-up shows)."""
    base = {"experiment": "depth", "model": "mlp2x8", "depth": 2, "source": "qcfs", "method": "if", "T": 4}
    rows = [dict(base, seed=0, accuracy=0.5, agreement=0.75), dict(base, seed=1, accuracy=0.7, agreement=0.95),
            dict(base, seed=0, T=8, accuracy=0.25, agreement=0.125)]
    first, second = experiments.summarize(rows)
    assert first == {**base, "seeds": [0, 1], "accuracy_mean": pytest.approx(0.6), "accuracy_min": 0.5,
                     "accuracy_max": 0.7, "agreement_mean": pytest.approx(0.85), "agreement_min": 0.75,
                     "agreement_max": 0.95}
    assert (second["T"], second["seeds"], second["agreement_min"], second["accuracy_max"]) == (8, [0], 0.125, 0.25)


@pytest.mark.parametrize("change", [{"epochs": 1}, {"batch_size": 16}, {"lr": 3e-3}])
def test_depth_key_covers_the_training_settings(small, change):
    """Epochs, batch size and learning rate determine the weights: changing one trains afresh."""
    log = []
    data = experiments.load_data(seed=0)
    experiments.run_depth("digits", data, [0], config={"depths": (2,), "if_multiples": (1,)}, log=log.append)
    log.clear()
    experiments.run_depth("digits", data, [0], config={"depths": (2,), "if_multiples": (1,), **change},
                          log=log.append)
    assert _trained_names(log) == ["mlp2x8-qcfs4-digits"]


@pytest.mark.parametrize("data_name, epochs", [("digits", 7), ("mnist", experiments.LARGE_DATA_EPOCHS)])
def test_large_data_sets_train_at_most_large_data_epochs(small, monkeypatch, data_name, epochs):
    """On MNIST-size data the configured epochs are capped at LARGE_DATA_EPOCHS; the digits
    train the configured number."""
    seen = []
    real_fit = experiments.fit
    monkeypatch.setattr(experiments, "fit", lambda *args, **kwargs: seen.append(kwargs["epochs"]) or
                        real_fit(*args, **kwargs))
    data = experiments.load_data(seed=0)
    experiments.run_depth(data_name, data, [0], config={"depths": (2,), "if_multiples": (1,), "epochs": 7},
                          log=lambda *a: None)
    assert seen == [epochs]


def test_data_files_are_read_once_for_all_seeds(monkeypatch, tmp_path):
    """MNIST or CIFAR files give the same split for every seed, so a run over three seeds
    reads them once; the embedded digits are split anew for each seed."""
    make_mnist(tmp_path)
    reads, seen = [], []
    load = experiments.load_mnist
    monkeypatch.setattr(experiments, "load_mnist", lambda *a, **k: reads.append(a) or load(*a, **k))
    monkeypatch.setattr(experiments, "run_depth", lambda data, split, seeds, *rest: seen.append(split) or [])
    experiments.run_experiment("depth", "mnist", tmp_path, seeds=[0, 1, 2], log=lambda *a: None)
    assert len(reads) == 1 and len(seen) == 3 and all(split is seen[0] for split in seen)
    seen.clear()
    experiments.run_experiment("depth", "digits", seeds=[0, 1], log=lambda *a: None)
    assert not np.array_equal(seen[0][1], seen[1][1])  # each seed its own split of the digits
