"""refsnn.programs.figures: every figure is written, the bytes are the same on every run, the
committed results are read by default, slides are 16:9 with large type, and no figure shows
an internal identifier."""

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from refsnn.programs import figures  # noqa: E402
from refsnn.programs.figures import NEURON_FIGURES, _demo_figures, make_figures, run  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CLOSE = plt.close  # the real one: _drawn keeps figures open by patching plt.close

ROWS = [
    {"source": "qcfs", "method": "ann", "T": 4, "accuracy": 0.95, "agreement": 1.0, "rate_error": [], "seconds": 0.1},
    {"source": "qcfs", "method": "parallel", "T": 4, "accuracy": 0.90, "agreement": 0.9,
     "rate_error": [0.05, 0.08], "channel_bias": [[0.02, -0.01], [0.03, 0.01, -0.02]], "seconds": 1.0},
    {"source": "qcfs", "method": "parallel_calibrated", "T": 4, "accuracy": 0.93, "agreement": 0.95,
     "rate_error": [0.01, 0.02], "channel_bias": [[0.005, -0.002], [0.01, 0.0, -0.004]], "seconds": 1.0},
    {"source": "qcfs", "method": "if", "T": 4, "accuracy": 0.5, "agreement": 0.5, "rate_error": [0.2, 0.3],
     "seconds": 2.0},
]
BENCH = {
    "copy_gbps": 10.0,
    "neuron": [{"kernel": "hadamard", "T": 4, "N": 10, "seconds": 0.1, "gbps": 3.0}],
    "network": [
        {"mode": "sequential_if", "T": 4, "batch": 1, "seconds": 4.0},
        {"mode": "faithful_parallel", "T": 4, "batch": 1, "seconds": 1.0},
    ],
    "peers": {"threads": 1, "rows": [{"peer": "torch", "what": "collapsed_parallel", "T": 4, "batch": 1,
                                      "ratio": 2.0}]},
}


def test_every_figure_is_written_and_neuron_figures_are_byte_identical(tmp_path, capsys):
    """``refsnn figures`` with both JSON files writes all figures; a second run without
    them writes the neuron figures again, byte for byte, and says what it skipped."""
    demo = tmp_path / "demo.json"
    demo.write_text(json.dumps({"rows": ROWS, "per_step_accuracy": {"parallel": [0.2, 0.5, 0.8, 0.9]}}))
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps(BENCH))
    run(tmp_path / "a", demo_json=demo, bench_json=bench)
    printed = capsys.readouterr().out.split()
    names = [p.split("/")[-1] for p in printed if p.endswith(".png")]
    assert set(names) == set(NEURON_FIGURES) | {
        "accuracy_vs_T.png", "calibration.png", "cumulative_accuracy.png", "speedup.png", "peers.png"}
    second = make_figures(tmp_path / "b")
    assert [p.name for p in second] == list(NEURON_FIGURES)
    assert "skipping" in capsys.readouterr().out  # the network figures need JSON
    for b in second:
        a = tmp_path / "a" / b.name
        assert a.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert a.read_bytes() == b.read_bytes(), f"{a.name} differs between runs"


def test_a_plain_list_of_rows_is_accepted(capsys):
    figures = dict(_demo_figures(ROWS[:1] + ROWS[3:]))  # no calibration pair, no per-step curve
    assert list(figures) == ["accuracy_vs_T.png"]
    assert "skipping calibration.png" in capsys.readouterr().out
    plt.close("all")


def test_missing_json_file_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="demo_json"):
        make_figures(tmp_path, demo_json=tmp_path / "nope.json")


def test_tutorial_figures_dir(tmp_path, monkeypatch):
    """tutorials/output/ by default (from the tutorial's or solution's file, or the working
    directory in a notebook), never the committed figures/tutorials/;
    $REFSNN_TUTORIAL_FIGURES overrides it. The folder is created."""
    from refsnn.programs.figures import tutorial_figures_dir

    monkeypatch.delenv("REFSNN_TUTORIAL_FIGURES", raising=False)
    tutorials = (tmp_path / "repo" / "tutorials").resolve()
    source = tutorials / "01_x.py"
    assert tutorial_figures_dir(source) == tutorials / "output"
    assert tutorial_figures_dir(tutorials / "solutions" / "01_x.py") == tutorials / "output"
    (tutorials / "solutions").mkdir()
    monkeypatch.chdir(tutorials / "solutions")  # a solution notebook runs in tutorials/solutions/
    assert tutorial_figures_dir() == tutorials / "output"
    assert not (tmp_path / "repo" / "figures").exists()
    monkeypatch.setenv("REFSNN_TUTORIAL_FIGURES", str(tmp_path / "elsewhere"))
    assert tutorial_figures_dir(source) == tmp_path / "elsewhere"
    assert (tmp_path / "elsewhere").is_dir()


# --------------------------------------------------------------------------- inputs checked first


def test_wrong_kind_of_json_is_refused_before_any_figure(tmp_path):
    demo = tmp_path / "demo.json"
    demo.write_text(json.dumps({"rows": ROWS}))
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps(BENCH))
    with pytest.raises(ValueError, match="bench_json.*benchmark"):
        make_figures(tmp_path / "out", bench_json=demo)
    with pytest.raises(ValueError, match="demo_json.*demo"):
        make_figures(tmp_path / "out", demo_json=bench)
    assert not (tmp_path / "out").exists()


def test_json_that_is_not_json_names_the_parameter(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("accuracy: 0.9\n")
    with pytest.raises(ValueError, match="demo_json.*notes.txt.*not valid JSON"):
        make_figures(tmp_path / "out", demo_json=text)
    assert not (tmp_path / "out").exists()


def test_demo_rows_are_checked_before_any_figure(tmp_path):
    demo = tmp_path / "demo.json"
    demo.write_text(json.dumps({"rows": [dict(ROWS[0], method="magic")]}))
    with pytest.raises(ValueError, match="demo_json.*method"):
        make_figures(tmp_path / "out", demo_json=demo)
    assert not (tmp_path / "out").exists()


def test_out_dir_must_be_writable_and_its_parent_must_exist(tmp_path):
    with pytest.raises(ValueError, match="out_dir.*does not exist"):
        make_figures(tmp_path / "a" / "b")
    assert not (tmp_path / "a").exists()
    with pytest.raises(ValueError, match="out_dir.*cannot write"):
        make_figures("/proc/refsnn-figures")


def test_committed_results_are_read_by_default(tmp_path, monkeypatch, capsys):
    """Without --demo-json and --bench-json, ``refsnn figures`` draws from the committed
    figures/data/demo.json and bench.json under the working folder, and says so."""
    data = tmp_path / "figures" / "data"
    data.mkdir(parents=True)
    (data / "demo.json").write_text(json.dumps({"rows": ROWS}))
    (data / "bench.json").write_text(json.dumps(BENCH))
    monkeypatch.chdir(tmp_path)
    run(tmp_path / "out")
    out = capsys.readouterr().out
    assert "reading the committed results figures/data/demo.json" in out
    assert "reading the committed results figures/data/bench.json" in out
    for name in ("accuracy_vs_T.png", "speedup.png", "peers.png"):
        assert (tmp_path / "out" / name).is_file(), name
    (data / "bench.json").unlink()
    run(tmp_path / "again")
    assert "skipping speedup, peers" in capsys.readouterr().out
    assert not (tmp_path / "again" / "speedup.png").exists()


def _drawn(monkeypatch, tmp_path, **options):
    """Run make_figures on the committed results; return {file name: figure} as saved."""
    saved = {}
    real = figures.save_figure

    def keep(fig, path, **kwargs):
        saved[Path(path).name] = fig
        real(fig, path, **kwargs)

    monkeypatch.setattr(figures, "save_figure", keep)
    monkeypatch.setattr(plt, "close", lambda fig=None: None)  # keep them open to inspect
    make_figures(tmp_path, demo_json=REPO / "figures" / "data" / "demo.json",
                 bench_json=REPO / "figures" / "data" / "bench.json", **options)
    return saved


@pytest.mark.parametrize("fmt", ["svg", "pdf"])
def test_slides_are_16_9_with_large_type(fmt, tmp_path, monkeypatch):
    from matplotlib.text import Text

    saved = _drawn(monkeypatch, tmp_path, fmt=fmt, style="slides")
    assert "staircase_lossless." + fmt in saved and "bandwidth." + fmt in saved  # one message each
    for name, fig in saved.items():
        assert name.endswith("." + fmt)
        data = (tmp_path / name).read_bytes()
        if fmt == "svg":
            width, height = (float(v) for v in re.search(rb'width="([\d.]+)pt" height="([\d.]+)pt"', data).groups())
        else:
            x0, y0, x1, y1 = (float(v) for v in re.search(rb"/MediaBox \[ *([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)", data).groups())
            width, height = x1 - x0, y1 - y0
        assert abs(width / height - 16 / 9) < 0.01, (name, width, height)
        fig.canvas.draw()
        sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text() and t.get_visible()]
        assert min(sizes) >= 16, (name, min(sizes))
        CLOSE(fig)


#: Identifiers of the results files and programs that a figure must not show.
INTERNAL = re.compile(r"\b(qcfs|relu|training_free\w*|parallel_calibrated|sequential_if|faithful_parallel|"
                      r"collapsed_parallel|ann_forward|hadamard\w*|if_out|binary_from_total|resnet\d+x\d+|"
                      r"mlp\d+x\d+|RELU)\b")


@pytest.mark.parametrize("style", ["page", "slides"])
def test_no_figure_shows_an_internal_identifier(style, tmp_path, monkeypatch):
    """Every text of every figure (titles, labels, ticks, legends, annotations) is in the
    paper's words: 'ReLU → training-free', not 'relu → training_free'."""
    from matplotlib.text import Text

    from refsnn import plotting as rp

    saved = _drawn(monkeypatch, tmp_path, style=style)
    experiments = {name: json.loads((REPO / "figures" / "data" / f"{name}.json").read_text())
                   for name in ("experiment_depth", "experiment_resnet")}
    saved["depth"] = rp.plot_depth(experiments["experiment_depth"]["rows"])[0]
    saved["resnet"] = rp.plot_seed_accuracy_vs_T(experiments["experiment_resnet"]["rows"])[0]
    for name, fig in saved.items():
        fig.canvas.draw()
        for text in fig.findobj(Text):
            assert not INTERNAL.search(text.get_text()), (name, text.get_text())
        CLOSE(fig)
