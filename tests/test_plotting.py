"""Tests for refsnn.plotting under the Agg backend.

Every function runs, returns a Figure and its Axes, draws into a given ``ax``, and draws
what it claims: the raster one tick per spike, the staircase's parallel line on the
QCFS line at T = T̃, the expected-error curves through zero at ψ = θ/2, and so on.
"""

import math
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import refsnn  # noqa: E402
from refsnn import plotting as rp  # noqa: E402
from refsnn.neurons.parallel import binary_search_probes  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _line(ax, gid):
    lines = [line for line in ax.get_lines() if line.get_gid() == gid]
    assert len(lines) == 1, f"expected one line with gid {gid!r}"
    return lines[0]


def _tick_positions(ax):
    """Spike ticks of a raster, as one array of step positions per neuron."""
    return [c.get_positions() for c in ax.collections if c.get_gid() == "spikes"]


def test_import_refsnn_does_not_import_matplotlib():
    code = "import sys, refsnn; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- raster


RASTERS = {
    "random": np.random.default_rng(0).random((20, 7)) < 0.3,
    "single_neuron": np.array([[1], [0], [1], [1], [0]], dtype=bool),
    "all_silent": np.zeros((6, 3), dtype=bool),
    "all_firing": np.ones((6, 3), dtype=bool),
    "one_step": np.array([[True, False, True]]),
    "one_step_one_neuron": np.array([[False]]),
}


@pytest.mark.parametrize("name", sorted(RASTERS))
def test_raster_draws_one_tick_per_spike(name):
    spikes = RASTERS[name]
    fig, ax = rp.plot_raster(spikes)
    assert isinstance(fig, Figure) and isinstance(ax, Axes)
    positions = _tick_positions(ax)
    assert sum(len(p) for p in positions) == spikes.sum()
    for n, p in enumerate(positions):  # neuron n's ticks sit at its 1-based spike steps
        np.testing.assert_array_equal(np.sort(p), np.flatnonzero(spikes[:, n]) + 1)
    lo, hi = sorted(ax.get_ylim())
    assert hi - lo >= 1.0  # the neuron axis never collapses (snntorch#294)
    x0, x1 = ax.get_xlim()
    assert x1 - x0 >= 1.0


def test_raster_rate_bar_shows_rates():
    spikes = RASTERS["random"]
    fig, ax = rp.plot_raster(spikes, rate_bar=True)
    (bar,) = ax.child_axes
    heights = [p.get_width() for p in bar.patches]
    np.testing.assert_allclose(heights, spikes.mean(axis=0))
    fig2, ax2 = rp.plot_raster(spikes, rate_bar=False)
    assert not ax2.child_axes


def test_raster_accepts_01_integers_and_a_given_ax():
    fig, ax = plt.subplots()
    f, a = rp.plot_raster(np.array([[0, 1], [1, 1]]), ax=ax, rate_bar=False)
    assert f is fig and a is ax
    assert sum(len(p) for p in _tick_positions(ax)) == 3


@pytest.mark.parametrize("bad", [np.ones(5, bool), np.ones((2, 2, 2), bool), np.full((3, 2), 2), np.zeros((0, 3))])
def test_raster_rejects_bad_spikes(bad):
    with pytest.raises(ValueError, match="spikes"):
        rp.plot_raster(bad)


def test_ax_must_be_an_axes():
    with pytest.raises(TypeError, match="ax"):
        rp.plot_raster(RASTERS["random"], ax="left")


# --------------------------------------------------------------------------- membrane


def test_membrane_marks_every_spike_and_reset():
    currents = np.array([0.4, 0.9, 0.0, 0.7, 0.1, 0.0, 0.2, 2.1])
    spikes, v = refsnn.if_neuron(currents[:, None], 1.0, return_membrane=True)
    fig, ax = rp.plot_membrane(currents, theta=1.0)
    assert isinstance(fig, Figure)
    steps = np.flatnonzero(spikes[:, 0]) + 1
    np.testing.assert_array_equal(_line(ax, "spikes").get_xdata(), steps)
    resets = [c for c in ax.collections if c.get_gid() == "soft_resets"][0]
    segments = resets.get_segments()
    assert len(segments) == spikes.sum()
    for seg in segments:  # each reset is a vertical drop by exactly θ
        assert seg[0][0] == seg[1][0]
        assert abs(seg[0][1] - seg[1][1]) == pytest.approx(1.0)
    path = _line(ax, "membrane")
    assert path.get_ydata()[0] == 0.5  # starts at v0 = θ/2
    assert path.get_ydata()[-1] == pytest.approx(v[-1, 0])
    assert "QCFS level of the mean: 4" in ax.get_title()


def test_membrane_in_units_of_theta_and_into_given_ax():
    fig, ax = plt.subplots()
    f, a = rp.plot_membrane(np.array([[1.0], [3.0]]), theta=2.0, ax=ax)
    assert f is fig and a is ax
    np.testing.assert_allclose(_line(ax, "membrane").get_ydata(), [0.5, 1.0, 0.0, 1.5, 0.5])  # 1 + 1 = θ fires, so does 0 + 3


def test_membrane_rejects_bad_input():
    with pytest.raises(ValueError, match="currents"):
        rp.plot_membrane(np.ones((4, 2)), theta=1.0)
    with pytest.raises(ValueError, match="theta"):
        rp.plot_membrane(np.ones(4), theta=0.0)


# --------------------------------------------------------------------------- IF vs parallel


@pytest.mark.parametrize("order", ["paper", "code"])
def test_if_vs_parallel_shows_sorted_trains_and_counts(order):
    currents = np.array([[0.0, 2.0, 0.5], [0.0, 0.0, 0.5], [0.0, 0.0, 0.5], [2.0, 0.0, 0.5]])
    fig, axes = rp.plot_if_vs_parallel(currents, 1.0, order=order)
    assert isinstance(fig, Figure) and len(axes) == 3
    level = refsnn.qcfs_level(currents.mean(axis=0), 1.0, 4)
    for n, p in enumerate(_tick_positions(axes[2])):  # parallel: N = ℓ, sorted
        expected = np.arange(4 - level[n] + 1, 5) if order == "paper" else np.arange(1, level[n] + 1)
        np.testing.assert_array_equal(np.sort(p), expected)
    if_counts = [len(p) for p in _tick_positions(axes[1])]
    np.testing.assert_array_equal(if_counts, refsnn.if_neuron(currents, 1.0).sum(axis=0))
    texts = [t.get_text() for t in axes[1].texts if t.get_gid() == "row_text"]
    assert texts == ["1≠2", "2", "2"]  # neuron 0's late burst: the unevenness error
    assert "for 1 of 3 neurons" in fig.get_suptitle()


def test_if_vs_parallel_one_neuron_and_large_inputs():
    fig, axes = rp.plot_if_vs_parallel(np.array([0.0, 0.0, 3.0]), 1.0)
    assert len(_tick_positions(axes[2])) == 1
    fig, axes = rp.plot_if_vs_parallel(np.random.default_rng(1).random((16, 20)), 1.0)
    assert len(axes[0].texts) == 20 + 1  # no cell numbers when T·N is large: ℓ column only


def test_if_vs_parallel_rejects_bad_input():
    with pytest.raises(ValueError, match="order"):
        rp.plot_if_vs_parallel(np.ones((4, 2)), 1.0, order="reversed")
    with pytest.raises(ValueError, match="currents"):
        rp.plot_if_vs_parallel(np.ones((4, 2, 2)), 1.0)
    with pytest.raises(ValueError, match="axes"):
        rp.plot_if_vs_parallel(np.ones((4, 2)), 1.0, axes=[plt.subplots()[1]])


# --------------------------------------------------------------------------- matrices


def test_conversion_matrices_show_refsnn_matrices():
    fig, axes = rp.plot_conversion_matrices(5, psi=0.5)
    assert len(axes) == 4
    expected = [
        refsnn.prior_control_matrix(5),
        refsnn.posterior_conversion_matrix(5),
        refsnn.parallel_conversion_matrix(5),
        refsnn.step_offsets(5, 0.5)[:, None],
    ]
    for ax, M in zip(axes, expected):
        np.testing.assert_allclose(ax.images[0].get_array(), M)
    assert "reconstructed" in axes[1].get_title()
    assert "1/3" in [t.get_text() for t in axes[2].texts]  # row 3 of Λ_pc for T = 5


def test_conversion_matrices_large_T_has_no_cell_text():
    fig, axes = rp.plot_conversion_matrices(16)
    assert not axes[0].texts


def test_conversion_matrices_reject_bad_T():
    with pytest.raises(ValueError, match="T"):
        rp.plot_conversion_matrices(0)
    with pytest.raises(TypeError, match="T"):
        rp.plot_conversion_matrices(2.5)


# --------------------------------------------------------------------------- staircase


def test_staircase_parallel_equals_qcfs_at_T_equal_T_tilde():
    fig, ax = rp.plot_staircase(4, 4)
    np.testing.assert_array_equal(_line(ax, "parallel").get_ydata(), _line(ax, "qcfs").get_ydata())
    # and the IF neuron, for the same uneven input, misses the staircase somewhere
    assert (_line(ax, "if").get_ydata() != _line(ax, "qcfs").get_ydata()).any()


def test_staircase_T_not_T_tilde_is_the_level_T_staircase():
    fig, ax = rp.plot_staircase(4, 8, theta=2.0)
    z = _line(ax, "parallel").get_xdata() * 2.0
    parallel = _line(ax, "parallel").get_ydata()
    assert (parallel != _line(ax, "qcfs").get_ydata()).any()
    np.testing.assert_allclose(parallel, refsnn.qcfs(z, 2.0, 4) / 2.0)
    # nonnegative input never lets IF exceed the QCFS level (v_T >= 0)
    assert (_line(ax, "if").get_ydata() <= parallel).all()


def test_staircase_rejects_bad_pattern():
    with pytest.raises(ValueError, match="pattern"):
        rp.plot_staircase(4, 4, pattern=np.ones(3))
    with pytest.raises(ValueError, match="pattern"):
        rp.plot_staircase(4, 4, pattern=np.zeros(4))


# --------------------------------------------------------------------------- expected error


def test_expected_error_crosses_zero_at_half_theta():
    levels = [2, 3, 8]
    fig, ax = rp.plot_expected_error(4, levels, n_points=101)
    for Tt in levels:
        line = _line(ax, f"T_tilde={Tt}")
        x, y = line.get_xdata(), line.get_ydata()
        assert y[x == 0.5] == [0.0]
        assert y[0] * y[-1] < 0  # opposite signs on either side: a true crossing
        assert np.count_nonzero(y == 0) == 1


def test_expected_error_rejects_bad_levels():
    with pytest.raises(ValueError, match="T_tilde_list"):
        rp.plot_expected_error(4, [])
    with pytest.raises(TypeError, match="T_tilde_list"):
        rp.plot_expected_error(4, [2.5])


# --------------------------------------------------------------------------- binary search


@pytest.mark.parametrize("total, T", [(5.3, 16), (-1.0, 8), (100.0, 8), (0.7, 1)])
def test_binary_search_probes_in_order(total, T):
    fig, ax = rp.plot_binary_search(total, 1.0, 0.5, T)
    probes, first = binary_search_probes(total, 1.0, T, 0.5)
    np.testing.assert_array_equal(_line(ax, "probes").get_xdata(), [p for p, _ in probes])
    assert len(probes) <= math.ceil(math.log2(T + 1))
    numbers = [t.get_text() for t in ax.texts]
    assert numbers == [str(i) for i in range(1, len(probes) + 1)]
    assert ("silent" in ax.get_title()) == (first == T + 1)


def test_binary_search_rejects_bad_input():
    with pytest.raises(ValueError, match="theta"):
        rp.plot_binary_search(1.0, -1.0, 0.5, 4)
    with pytest.raises(ValueError, match="total"):
        rp.plot_binary_search(float("nan"), 1.0, 0.5, 4)


# --------------------------------------------------------------------------- networks


ROWS = [
    {"source": "qcfs", "method": "ann", "T": 4, "accuracy": 0.95, "agreement": 1.0, "rate_error": [], "seconds": 0.1},
    {"source": "qcfs", "method": "parallel", "T": 8, "accuracy": 0.93, "agreement": 0.9, "rate_error": [0.02, 0.03], "seconds": 1.0},
    {"source": "qcfs", "method": "parallel", "T": 2, "accuracy": 0.80, "agreement": 0.8, "rate_error": [0.05, 0.09], "seconds": 1.0},
    {"source": "qcfs", "method": "if", "T": 8, "accuracy": 0.60, "agreement": 0.6, "rate_error": [0.1, 0.2], "seconds": 2.0},
    {"source": "relu", "method": "ann", "T": 8, "accuracy": 0.97, "agreement": 1.0, "rate_error": [], "seconds": 0.1},
    {"source": "relu", "method": "training_free", "T": 8, "accuracy": 0.90, "agreement": 0.9, "rate_error": [0.01, 0.02], "seconds": 1.0},
]


def test_accuracy_vs_T_one_line_per_source_and_method():
    fig, ax = rp.plot_accuracy_vs_T(ROWS)
    line = _line(ax, "qcfs/parallel")
    np.testing.assert_array_equal(line.get_xdata(), [2, 8])  # sorted by T
    np.testing.assert_allclose(line.get_ydata(), [80.0, 93.0])
    np.testing.assert_allclose(_line(ax, "qcfs/ann").get_ydata(), [95.0, 95.0])  # horizontal
    gids = {line.get_gid() for line in ax.get_lines()}
    assert gids == {"qcfs/ann", "qcfs/parallel", "qcfs/if", "relu/ann", "relu/training_free"}


def test_accuracy_vs_T_keeps_the_lossless_point_apart_and_nothing_hidden():
    """A parallel row at T = T̃ (agreement 1, zero rate error) is a separate star, not a
    point of the T ≠ T̃ line; IF and training-free points at the same T are dodged apart;
    n_test puts the worth of one image in the title."""
    rows = ROWS + [
        {"source": "qcfs", "method": "parallel", "T": 4, "accuracy": 0.95, "agreement": 1.0, "rate_error": [0.0, 0.0]},
        {"source": "qcfs", "method": "if", "T": 8, "accuracy": 0.9},
        {"source": "relu", "method": "training_free", "T": 8, "accuracy": 0.9},
    ]
    fig, ax = rp.plot_accuracy_vs_T(rows, n_test=451)
    np.testing.assert_array_equal(_line(ax, "qcfs/parallel_lossless").get_xdata(), [4])
    assert 4 not in _line(ax, "qcfs/parallel").get_xdata()
    if_x = set(_line(ax, "qcfs/if").get_xdata())
    assert not if_x & set(_line(ax, "relu/training_free").get_xdata())
    assert "0.22 points" in ax.get_title()
    with pytest.raises(ValueError, match="n_test"):
        rp.plot_accuracy_vs_T(ROWS, n_test=0)


def test_accuracy_vs_T_rejects_bad_rows():
    with pytest.raises(ValueError, match="method"):
        rp.plot_accuracy_vs_T([dict(ROWS[1], method="magic")])
    with pytest.raises(ValueError, match="accuracy"):
        rp.plot_accuracy_vs_T([dict(ROWS[1], accuracy=93.0)])
    with pytest.raises(ValueError, match="keys"):
        rp.plot_accuracy_vs_T([{"source": "qcfs"}])
    with pytest.raises(ValueError, match="rows"):
        rp.plot_accuracy_vs_T([])


def test_cumulative_accuracy_curves():
    fig, ax = rp.plot_cumulative_accuracy(np.array([0.5, 0.7, 0.9]))
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [50, 70, 90])
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2, 3])
    fig, ax = rp.plot_cumulative_accuracy({"paper": [0.1, 0.9], "code": [0.8, 0.9, 0.9]})
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["paper", "code"]
    with pytest.raises(ValueError, match="labels"):
        rp.plot_cumulative_accuracy([[0.1, 0.2], [0.3, 0.4]], labels=["one"])
    with pytest.raises(ValueError, match="per_step_accuracy"):
        rp.plot_cumulative_accuracy([1.5, 0.2])


def test_channel_bias_shows_each_channel_before_and_after():
    before, after = [[0.1, -0.2], [0.3, 0.0, -0.1]], [[0.01, -0.02], [0.0, 0.0, 0.02]]
    fig, axes = rp.plot_channel_bias(before, after)
    assert len(axes) == 2
    np.testing.assert_array_equal(_line(axes[1], "before").get_xdata(), [1, 2, 3])  # channels from 1
    np.testing.assert_allclose(_line(axes[1], "after").get_ydata(), [0.0, 0.0, 0.02])
    assert "0.1333 → 0.0067" in axes[1].get_title()  # mean |bias|, signed values plotted
    with pytest.raises(ValueError, match="layer 0"):
        rp.plot_channel_bias([[0.1]], [[0.1, 0.2]])
    with pytest.raises(ValueError, match="before and after"):
        rp.plot_channel_bias([], [])


def test_calibration_bars():
    fig, ax = rp.plot_calibration([0.1, -0.2, 0.3], [0.01, 0.0, -0.02], layer_names=["a", "b", "c"])
    before = [p.get_height() for p in ax.containers[0]]
    after = [p.get_height() for p in ax.containers[1]]
    np.testing.assert_allclose(before, [0.1, -0.2, 0.3])
    np.testing.assert_allclose(after, [0.01, 0.0, -0.02])
    with pytest.raises(ValueError, match="errors_before"):
        rp.plot_calibration([0.1, 0.2], [0.1])


def test_rate_vs_activation_titles_hold_pearson_r():
    rng = np.random.default_rng(0)
    a = rng.random(500)
    layers_a = [a, a.reshape(20, 25), a]
    layers_r = [a, -a.reshape(20, 25), np.zeros(500)]
    fig, axes = rp.plot_rate_vs_activation(layers_a, layers_r)
    assert len(axes) == 3
    titles = [ax.get_title() for ax in axes]
    assert titles[0].endswith("r = 1.000") and titles[1].endswith("r = -1.000")
    assert titles[2].endswith("r = nan")  # constant rates: correlation undefined
    with pytest.raises(ValueError, match="layer 0"):
        rp.plot_rate_vs_activation([np.ones(3)], [np.ones(4)])


BENCH = {
    "copy_gbps": 10.0,
    "neuron": [
        {"kernel": "if", "T": 4, "N": 1000, "seconds": 0.1, "gbps": 2.0},
        {"kernel": "if", "T": 8, "N": 1000, "seconds": 0.2, "gbps": 2.5},
        {"kernel": "hadamard", "T": 4, "N": 1000, "seconds": 0.05, "gbps": 5.0},
        {"kernel": "hadamard", "T": 8, "N": 1000, "seconds": 0.06, "gbps": 6.0},
    ],
    "network": [
        {"mode": "sequential_if", "T": 4, "batch": 1, "seconds": 4.0},
        {"mode": "sequential_if", "T": 8, "batch": 1, "seconds": 8.0},
        {"mode": "faithful_parallel", "T": 4, "batch": 1, "seconds": 2.0},
        {"mode": "faithful_parallel", "T": 8, "batch": 1, "seconds": 2.0},
        {"mode": "collapsed_parallel", "T": 8, "batch": 1, "seconds": 0.5},
        {"mode": "ann_forward", "T": 8, "batch": 1, "seconds": 0.4},
    ],
}


def test_speedup_is_the_time_ratio():
    fig, axes = rp.plot_speedup(BENCH)
    assert len(axes) == 2
    line = _line(axes[0], "faithful_parallel/batch=1")
    np.testing.assert_allclose(line.get_ydata(), [2.0, 4.0])
    np.testing.assert_allclose(_line(axes[0], "collapsed_parallel/batch=1").get_ydata(), [16.0])
    np.testing.assert_allclose(_line(axes[0], "ann_forward/batch=1").get_ydata(), [20.0])
    assert axes[0].get_yscale() == "log"
    fig, axes = rp.plot_speedup(BENCH, bandwidth=False)
    assert len(axes) == 1


def test_speedup_is_the_benchmarks_own_where_it_gives_one():
    """``refsnn bench`` takes the ratio within each round: the figure shows that number,
    the one its table prints, rather than the ratio of the median times."""
    network = [dict(r, speedup=3.0) if r["mode"] == "collapsed_parallel" else r for r in BENCH["network"]]
    fig, axes = rp.plot_speedup(dict(BENCH, network=network), bandwidth=False)
    np.testing.assert_allclose(_line(axes[0], "collapsed_parallel/batch=1").get_ydata(), [3.0])
    np.testing.assert_allclose(_line(axes[0], "faithful_parallel/batch=1").get_ydata(), [2.0, 4.0])


def test_bandwidth_into_given_ax():
    fig, ax = plt.subplots()
    f, a = rp.plot_bandwidth(BENCH, ax=ax)
    assert f is fig and a is ax
    assert len(ax.get_lines()) == 3  # two kernels and the copy bandwidth


PEERS = {"threads": 1, "rows": [
    {"peer": "torch", "what": "collapsed_parallel", "T": 64, "batch": 1, "ratio": 2.0},
    {"peer": "torch", "what": "ann_forward", "T": None, "batch": 256, "ratio": 0.5},
    {"peer": "spikingjelly", "what": "if_neuron", "T": 64, "batch": 4096, "ratio": 30.0},
]}


def test_peers_bars_span_from_one_to_the_ratio():
    fig, ax = plt.subplots()
    f, a = rp.plot_peers(dict(BENCH, peers=PEERS), ax=ax)
    assert f is fig and a is ax and ax.get_xscale() == "log"
    bars = {p.get_gid(): p for p in ax.patches}
    faster = bars["torch/collapsed_parallel/T=64/batch=1"]
    assert faster.get_x() == 1 and faster.get_x() + faster.get_width() == pytest.approx(2.0)
    slower = bars["torch/ann_forward/T=None/batch=256"]  # torch faster: the bar runs from 0.5 to 1
    assert slower.get_x() == pytest.approx(0.5) and slower.get_x() + slower.get_width() == pytest.approx(1.0)
    assert [t.get_text() for t in ax.get_yticklabels()][2] == "IF neuron vs SpikingJelly, T = 64, N 4096"


def test_peers_plot_needs_measured_rows():
    with pytest.raises(ValueError, match="peers"):
        rp.plot_peers(BENCH)
    with pytest.raises(ValueError, match="peers"):
        rp.plot_peers(dict(BENCH, peers={"skipped": "torch not found"}))


def test_speedup_rejects_bad_bench():
    with pytest.raises(ValueError, match="sequential_if"):
        rp.plot_speedup(dict(BENCH, network=BENCH["network"][2:]))
    with pytest.raises(ValueError, match="copy_gbps"):
        rp.plot_speedup({"neuron": [], "network": []})
    with pytest.raises(ValueError, match="mode"):
        rp.plot_speedup(dict(BENCH, network=[dict(BENCH["network"][0], mode="gpu")]))


# --------------------------------------------------------------------------- experiments


def _experiment_rows():
    """Rows of a 'depth' experiment over two seeds and two depths, with known numbers."""
    rows = []
    for seed, shift in ((0, 0.0), (1, 0.02)):
        for depth in (2, 12):
            base = {"experiment": "depth", "data": "digits", "model": f"mlp{depth}x32", "depth": depth,
                    "seed": seed, "source": "qcfs"}
            rows.append({**base, "method": "ann", "T": None, "accuracy": 0.95 + shift, "agreement": 1.0,
                         "rate_error": []})
            rows.append({**base, "method": "parallel", "T": 4, "accuracy": 0.95 + shift, "agreement": 1.0,
                         "rate_error": [0.0] * depth})
            drop = 0.15 if depth == 12 else 0.0
            rows.append({**base, "method": "if", "T": 4, "accuracy": 0.95 - drop + shift, "agreement": 1 - drop,
                         "rate_error": list(np.linspace(0, 0.1 * depth / 12, depth))})
    return rows


def test_depth_plot_draws_means_and_seed_ranges():
    fig, axes = rp.plot_depth(_experiment_rows())
    assert isinstance(fig, Figure) and len(axes) == 2
    acc = {line.get_label(): line for line in axes[0].get_lines()}
    if4 = acc["IF SNN, T = 4"]
    np.testing.assert_allclose(if4.get_xdata(), [2, 12])
    np.testing.assert_allclose(if4.get_ydata(), [96.0, 81.0])  # means over the two seeds, in percent
    np.testing.assert_allclose(acc["parallel SNN, T = T̃ = 4"].get_ydata(), acc["QCFS ANN"].get_ydata())
    assert len(axes[0].collections) == 3  # one seed-range band per curve


def test_layer_rate_error_plot_and_seed_accuracy_vs_T():
    rows = _experiment_rows()
    fig, ax = rp.plot_layer_rate_error(rows)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert len(lines["IF SNN, T = 4"].get_xdata()) == 12 and not lines["parallel SNN, T = T̃ = 4"].get_ydata().any()
    fig, ax = plt.subplots()
    out_fig, out_ax = rp.plot_seed_accuracy_vs_T(rows, model="mlp12x32", ax=ax)
    assert out_ax is ax and "2 seeds" in ax.get_title()


def test_experiment_plots_reject_bad_rows():
    with pytest.raises(ValueError, match="rows"):
        rp.plot_depth([])
    with pytest.raises(ValueError, match="keys"):
        rp.plot_depth([{"accuracy": 1.0}])
    with pytest.raises(ValueError, match="depth"):
        rp.plot_depth([dict(r, experiment="resnet") for r in _experiment_rows()])


def test_labels_say_what_is_plotted():
    """The staircase names the IF neuron's input pattern; the rate axis names θ_post, the
    amplitude a calibrated spike carries (θ + φ_DA), not θ."""
    fig, ax = rp.plot_staircase(4, 4)
    assert "I_t ∝ t²" in _line(ax, "if").get_label()
    fig, axes = rp.plot_rate_vs_activation([np.linspace(0, 1, 20)], [np.linspace(0, 1, 20)])
    assert "θ_post" in np.atleast_1d(axes)[0].get_ylabel()


def test_raster_numbers_steps_and_neurons_from_one():
    spikes = np.zeros((4, 3), dtype=bool)
    spikes[0, 0] = True
    fig, ax = rp.plot_raster(spikes)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1", "2", "3"]
    assert list(ax.get_xticks()) == [1, 2, 3, 4] and "1..T" in ax.get_xlabel() and ax.get_ylabel() == "neuron"


def test_if_vs_parallel_numbers_neurons_alike_in_every_panel():
    """The heat map and both rasters number the same neuron the same way, from 1, and no
    axis calls the neurons N (N is the spike count)."""
    fig, axes = rp.plot_if_vs_parallel(np.full((4, 12), 0.5), 1.0)
    for ax in axes:
        assert [t.get_text() for t in ax.get_yticklabels()] == [str(n) for n in range(1, 13)]
        assert ax.get_ylabel() == "neuron"
