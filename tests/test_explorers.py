"""The notebooks' slider explorers (``refsnn.plotting.explorers``), without a browser.

Each drawing callback draws for a few slider values, returns its figure and axes, and
draws what the values say (the data move with them, the titles name them). Each widget
builds (when ipywidgets is installed), has one control per parameter of its callback, and
moving a control redraws with that value, so a control wired to the wrong parameter
fails. Without ipywidgets, building a widget says how to install it, and a plain run
(:func:`live` outside a kernel) needs nothing. Every explorer appears in a tutorial.
"""

import inspect
import re
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

import refsnn  # noqa: E402
from refsnn.plotting import explorers as ex  # noqa: E402

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"

#: Each explorer, its drawing callback, and slider values to try (besides the defaults).
EXPLORERS = {
    "staircase_explorer": (ex.draw_staircase, dict(T=3, T_tilde=5, psi=0.25)),
    "if_vs_parallel_explorer": (ex.draw_if_vs_parallel, dict(pattern="falling", T=5, z=0.3)),
    "conversion_matrices_explorer": (ex.draw_conversion_matrices, dict(T=3, psi=0.75)),
    "expected_error_explorer": (ex.draw_expected_error, dict(T=6, psi=0.125)),
    "leaky_explorer": (ex.draw_leaky, dict(leak=0.35, T=9)),
}

#: How a figure names each parameter's value (in a title or a text).
NAMED = {"T": "T = {}", "T_tilde": "T̃ = {}", "psi": "ψ = {:g}θ", "z": "z = {:g}θ", "leak": "λ = {:g}",
         "pattern": "pattern {}"}


def texts(fig):
    """Every piece of text drawn in ``fig`` (titles, labels, annotations), subfigures too."""
    return "\n".join(t.get_text() for t in fig.findobj(Text))


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("name", EXPLORERS)
def test_callback_draws_and_names_its_values(name):
    draw, values = EXPLORERS[name]
    for kwargs in ({}, values):
        fig, axes = draw(**kwargs)
        assert isinstance(fig, matplotlib.figure.Figure)
        assert np.asarray(axes, dtype=object).size >= 1
        drawn = texts(fig)
        for key, value in kwargs.items():
            assert NAMED[key].format(value) in drawn, f"{name}: {key} = {value} is not drawn"


def parameters(draw):
    return [p for p in inspect.signature(draw).parameters if p not in ("ax", "fig")]


def test_staircase_moves_with_psi_and_is_lossless_at_T_equal_T_tilde():
    for psi in (0.0, 0.25, 0.5, 0.8):
        _, ax = ex.draw_staircase(T=4, T_tilde=4, psi=psi)
        lines = {line.get_gid(): line for line in ax.get_lines()}
        z = lines["qcfs"].get_xdata()
        assert np.array_equal(lines["qcfs"].get_ydata(), refsnn.qcfs(z, 1.0, 4, psi))
        assert np.array_equal(lines["parallel"].get_ydata(), lines["qcfs"].get_ydata())  # case 1, any ψ
    _, ax = ex.draw_staircase(T=4, T_tilde=8, psi=0.25)
    assert "expected error -0.031θ" in ax.get_title()  # (1/4 − 1/2)·(1/4 − 1/8)
    _, ax = ex.draw_staircase(T=4, T_tilde=8, psi=0.5)
    assert ax.get_title().endswith("lossless only in expectation")


def test_if_vs_parallel_uses_the_pattern_and_T():
    fig, axes = ex.draw_if_vs_parallel(pattern="last-step burst", T=6, z=0.5)
    assert len(axes) == 4
    image = axes[1].get_images()[0].get_array()  # input panel: neurons × steps
    assert image.shape == (10, 6) and np.all(image[:, :-1] == 0) and np.allclose(image[:, -1], 6 * np.arange(1, 11) / 10)
    with pytest.raises(ValueError, match="pattern"):
        ex.draw_if_vs_parallel(pattern="sideways")
    for pattern in ex.PATTERNS:
        assert np.isclose(ex.PATTERNS[pattern](7).mean(), 1.0), pattern


def test_conversion_matrices_have_T_rows_and_the_offsets_of_psi():
    _, axes = ex.draw_conversion_matrices(T=3, psi=0.75)
    offsets = axes[3].get_images()[0].get_array()
    assert offsets.shape == (3, 1) and np.allclose(offsets[:, 0], refsnn.step_offsets(3, 0.75))


def test_expected_error_marks_psi_with_the_exact_errors():
    _, ax = ex.draw_expected_error(T=4, psi=0.25)
    [line] = [line for line in ax.get_lines() if line.get_gid() == "chosen_psi"]
    assert np.all(np.asarray(line.get_xdata()) == 0.25)
    [box] = [t for t in ax.texts if t.get_gid() == "errors_at_psi"]
    assert "T̃ = 8: -0.0312θ" in box.get_text()  # (1/4 − 1/2)·(1/4 − 1/8) = −1/32


def test_leaky_counts_the_unsorted_trains():
    _, axes = ex.draw_leaky(leak=0.5, T=7)  # tutorial 4, §4.3: input 1 fires [1 0 0 0 1 1 1]
    assert axes[0].get_title().endswith(": 0 of 10 trains unsorted")
    assert axes[1].get_title().endswith(": 1 of 10 trains unsorted")
    _, axes = ex.draw_leaky(leak=1.0, T=7)
    assert axes[1].get_title().endswith(": 0 of 10 trains unsorted")  # λ = 1 is the parallel neuron


@pytest.mark.parametrize("name", EXPLORERS)
def test_widget_builds_and_each_control_redraws_its_parameter(name, monkeypatch):
    pytest.importorskip("ipywidgets")
    drawn = []
    monkeypatch.setattr(ex, "_show", drawn.append)
    widget = getattr(ex, name)()
    draw, values = EXPLORERS[name]
    controls = {w._kwarg: w for w in widget.kwargs_widgets}
    assert list(controls) == parameters(draw), f"{name}: one control per parameter of {draw.__name__}"
    defaults = inspect.signature(draw).parameters
    for key, control in controls.items():
        assert control.value == defaults[key].default, f"{name}: {key} starts at {control.value}"
    assert len(drawn) == 1  # the first drawing, with the defaults
    for key, value in values.items():
        controls[key].value = value
        assert NAMED[key].format(value) in texts(drawn[-1]), f"{name}: moving {key} did not redraw it"
    assert len(drawn) == 1 + len(values)


def test_building_a_widget_without_ipywidgets_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets now fails
    with pytest.raises(ImportError, match=re.escape('pip install "refsnn[notebooks]"')):
        ex.staircase_explorer()


def test_live_builds_the_widget_only_in_a_live_kernel(monkeypatch):
    monkeypatch.delenv("REFSNN_EXPLORERS", raising=False)
    assert ex.live(lambda: "widget") is None  # pytest is no kernel
    monkeypatch.setattr(ex, "in_notebook", lambda: True)
    assert ex.live(lambda: "widget") == "widget"
    monkeypatch.setenv("REFSNN_EXPLORERS", "0")  # what tutorials/build_notebooks.py sets
    assert ex.live(lambda: "widget") is None


def test_refsnn_and_a_plain_run_need_no_ipywidgets():
    code = ("import sys; sys.modules['ipywidgets'] = None\n"
            "import refsnn, refsnn.plotting, refsnn.plotting.explorers as ex\n"
            "assert ex.live(ex.staircase_explorer) is None\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


@pytest.mark.parametrize("name", EXPLORERS)
def test_every_explorer_is_in_a_tutorial(name):
    cell = f"live({name})"
    assert any(cell in p.read_text(encoding="utf-8") for p in TUTORIALS.glob("[0-9]*.py")), (
        f"no tutorial shows {name} (a cell ending with {cell})")
