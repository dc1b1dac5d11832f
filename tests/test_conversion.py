"""Network-level tests of the three-stage pipeline and the IF baseline."""

import warnings

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from nets import dyadic, dyadic_cnn, dyadic_mlp

from refsnn import clip_relu, da_qcfs, qcfs_level
from refsnn.networks.conversion import activation_outputs, calibrate, record_thresholds, to_if_snn, to_parallel_snn
from refsnn.networks.base import Layer
from refsnn.networks.activations import DAQCFS, QCFS, ClipReLU, ReLU
from refsnn.networks.containers import Sequential
from refsnn.networks.layers import Conv2d, Flatten, Linear
from refsnn.networks.spiking import IFNeurons, ParallelNeurons
from refsnn.neurons.quantization import da_qcfs_shift
from refsnn.networks.training import predict

powers_of_two = st.sampled_from([1, 2, 4, 8, 16])


@given(seed=st.integers(0, 10_000), T=powers_of_two, cnn=st.booleans(), mode=st.sampled_from(["faithful", "collapsed"]))
def test_lossless_at_T_equal_T_tilde(seed, T, cnn, mode):
    """Theorem 4.1 at network level: at T = T̃ every layer's time-mean output equals the
    QCFS ANN's activation exactly, and the predictions are identical (exact networks)."""
    net, X = (dyadic_cnn if cnn else dyadic_mlp)(seed, T)
    snn = to_parallel_snn(net, T)
    for rate, act in zip(snn.layer_rates(X, mode=mode), activation_outputs(net, X)):
        np.testing.assert_array_equal(rate, act)
    np.testing.assert_array_equal(snn.predict(X, mode=mode), predict(net, X))


def _if_differs(seed):
    net, X = dyadic_mlp(seed, 4)
    snn = to_if_snn(net, 4)
    return any((r != a).any() for r, a in zip(snn.layer_rates(X), activation_outputs(net, X)))


def test_if_snn_is_not_lossless():
    """The IF SNN at the same T is not lossless: Hypothesis finds an exact network whose
    IF rates differ from the QCFS activations (seed 0 is one; asserted concretely),
    while the parallel SNN of the same network matches."""
    seed = find(st.integers(0, 1000), _if_differs, settings=settings(derandomize=True, database=None))
    assert _if_differs(seed)
    assert _if_differs(0)
    net, X = dyadic_mlp(0, 4)
    first_layer_if, second_layer_if = to_if_snn(net, 4).layer_rates(X)
    first_layer, second_layer = activation_outputs(net, X)
    np.testing.assert_array_equal(first_layer_if, first_layer)  # constant input: IF ≡ QCFS
    assert (second_layer_if != second_layer).any()  # uneven spike input: unevenness error
    for r, a in zip(to_parallel_snn(net, 4).layer_rates(X), activation_outputs(net, X)):
        np.testing.assert_array_equal(r, a)


def _one_layer(theta=1.0):
    """Conv1x1(w=1, b=0) → ClipReLU → Conv1x1 (w=1, b=0) → ClipReLU → Flatten."""
    rng = np.random.default_rng(0)
    c1, c2 = Conv2d(1, 1, 1, rng=rng), Conv2d(1, 1, 1, rng=rng)
    for c in (c1, c2):
        c.weight[...] = 1
        c.bias[...] = 0
    return Sequential(c1, ClipReLU([theta]), c2, ClipReLU([theta]), Flatten())


def _half_normal(n=4000, scale=0.3, seed=0):
    z = np.abs(np.random.default_rng(seed).normal(0, scale, size=n)).astype(np.float32)
    return z.reshape(n, 1, 1, 1)


def test_calibration_psi_converges_to_the_true_input_shift():
    """ψ_DA of the second layer converges to the mean shift between the teacher's and the
    student's pre-activations, which the quantized first layer causes (DA-QCFS calibration).
    Full-batch updates make the running averages deterministic."""
    X, T = _half_normal(), 4
    cal = calibrate(_one_layer(), X, T, alpha=0.05, epochs=600, batch_size=len(X))
    first, second = cal[1], cal[3]
    assert abs(first.psi_da[0]) < 1e-12  # both paths get the same input: no shift
    z = X.reshape(-1).astype(np.float32)
    true_shift = np.mean(clip_relu(z, 1.0) - da_qcfs(z, 1.0, T, first.psi_da, first.phi_da), dtype=np.float64)
    assert abs(true_shift) > 1e-3
    assert abs(second.psi_da[0] - true_shift) < 1e-5


@pytest.mark.parametrize("rule", ["ema_residual", "accumulate"])
def test_phi_fixed_points(rule):
    """φ_DA's fixed point: the code's EMA of residuals stops at φ* = (E[y_t] − θE[s])/(1 + E[s]),
    leaving a mean residual φ* (``tutorials/00_notation.md``, "Calibration details");
    ``accumulate`` drives the residual to zero."""
    X, T = _half_normal(), 4
    net = Sequential(*list(_one_layer())[:2], Flatten())
    # accumulate contracts by 1 − α·E[s] per step, the EMA by 1 − α(1 + E[s]): give it a larger α
    alpha = 0.5 if rule == "accumulate" else 0.05
    cal = calibrate(net, X, T, alpha=alpha, epochs=600, batch_size=len(X), phi_update=rule)
    layer = cal[1]
    z = X.reshape(-1)
    y_teacher = clip_relu(z, 1.0)
    y_student = da_qcfs(z, 1.0, T, layer.psi_da, layer.phi_da)
    residual = np.mean(y_teacher - y_student, dtype=np.float64)
    if rule == "accumulate":
        assert abs(residual) < 1e-6
    else:
        s = np.mean(y_student / (1.0 + layer.phi_da[0]), dtype=np.float64)
        phi_star = (np.mean(y_teacher, dtype=np.float64) - s) / (1 + s)
        assert abs(layer.phi_da[0] - phi_star) < 1e-5
        assert abs(residual - phi_star) < 1e-5 and abs(residual) > 1e-4


def test_a_silenced_channel_loses_its_bias_too():
    """Channel 1 never sees positive input on X in [1, 2) (its input is 0.5 − x), but it
    has a positive bias: silencing zeroes weight and bias, so it outputs 0 everywhere,
    also on input where 0.5 alone would pass the ClipReLU."""
    rng = np.random.default_rng(0)
    conv = Conv2d(1, 2, 1, rng=rng)
    conv.weight[...] = np.array([1, -1], dtype=np.float32).reshape(2, 1, 1, 1)
    conv.bias[...] = [0.0, 0.5]
    net = Sequential(conv, ReLU(), Flatten())
    X = 1 + rng.random((10, 1, 2, 2)).astype(np.float32)
    with pytest.warns(RuntimeWarning, match=r"channels \[1\]"):
        clip_net = record_thresholds(net, X)
    assert clip_net[0].weight[1].sum() == 0 and clip_net[0].bias[1] == 0
    assert not clip_net.forward(np.zeros_like(X)).reshape(10, 2, 4)[:, 1].any()
    assert conv.bias[1] == 0.5  # the input network is untouched


def test_calibration_teaches_each_layer_with_the_teacher_path():
    """With α = 1 and one batch, ψ_DA = e_pre and φ_DA = e_post of that batch, computed
    here by running the two paths by hand: the teacher path is the ClipReLU network, the
    student path feeds each DA-QCFS (φ_DA still 0) the student outputs before it. From
    the second activation on the paths differ, and the teacher layer must see the
    teacher path's input."""
    rng = np.random.default_rng(5)
    relu = Sequential(Linear(4, 6, rng), ReLU(), Linear(6, 5, rng), ReLU(), Linear(5, 4, rng), ReLU(),
                      Linear(4, 2, rng))
    for layer in relu.layers[0:5:2]:
        layer.bias[...] = 0.5  # no silent channel
    X = rng.random((40, 4)).astype(np.float32)
    clip_net = record_thresholds(relu, X)
    T = 2
    calibrated = calibrate(clip_net, X, T, alpha=1.0, epochs=1, batch_size=len(X))
    xt = xs = X
    expected_psi, expected_phi = [], []
    for layer in clip_net.layers:
        if isinstance(layer, ClipReLU):
            psi = (xt - xs).mean(axis=0, dtype=np.float64)
            ys, yt = DAQCFS(layer.theta, T, psi_da=psi).forward(xs), layer.forward(xt)
            expected_psi.append(psi)
            expected_phi.append((yt - ys).mean(axis=0, dtype=np.float64))
            xt, xs = yt, ys
        else:
            xt, xs = layer.forward(xt), layer.forward(xs)
    students = [layer for layer in calibrated.layers if isinstance(layer, DAQCFS)]
    assert len(students) == 3 and np.abs(expected_phi[1]).max() > 1e-3
    for student, psi, phi in zip(students, expected_psi, expected_phi):
        np.testing.assert_allclose(student.psi_da, psi, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(student.phi_da, phi, rtol=1e-6, atol=1e-7)


def test_record_thresholds_records_channel_maxima():
    """θ_c is the maximum ReLU input per channel over all batches (running max)."""
    rng = np.random.default_rng(0)
    net = Sequential(Conv2d(1, 3, 3, padding=1, rng=rng), ReLU(), Flatten(), Linear(48, 2, rng))
    net[0].bias[...] = 0.5  # every channel sees positive input somewhere
    X = rng.random((50, 1, 4, 4)).astype(np.float32)
    clip_net = record_thresholds(net, X, batch_size=7)
    expected = net[0].forward(X).max(axis=(0, 2, 3))
    np.testing.assert_allclose(clip_net[1].theta, expected, rtol=1e-6)
    assert isinstance(clip_net[1], ClipReLU) and isinstance(net[1], ReLU)  # input untouched
    np.testing.assert_array_equal(clip_net.thresholds_[0], clip_net[1].theta)


def test_silent_channels_warn_and_stay_silent():
    rng = np.random.default_rng(0)
    conv = Conv2d(1, 2, 1, rng=rng)
    conv.weight[...] = np.array([1, -1], dtype=np.float32).reshape(2, 1, 1, 1)
    conv.bias[...] = 0
    net = Sequential(conv, ReLU(), Flatten())
    X = rng.random((10, 1, 2, 2)).astype(np.float32)
    with pytest.warns(RuntimeWarning, match=r"channels \[1\]"):
        clip_net = record_thresholds(net, X)
    assert clip_net[1].theta[1] == 1.0
    snn = to_parallel_snn(calibrate(clip_net, X, 4), 4)
    assert snn.spike_trains(-X, 0)[:, :, 1].sum() == 0  # silent even for unseen input
    assert snn.spike_trains(X, 0)[:, :, 1].sum() == 0


def test_pipeline_end_to_end_rates_track_activations():
    """ReLU → ClipReLU → DA-QCFS → parallel SNN on a tiny CNN: at T = 16 each layer's SNN
    rate correlates with the ClipReLU activation it replaces (SNN Toolbox's oracle)."""
    rng = np.random.default_rng(1)
    net = Sequential(Conv2d(1, 4, 3, padding=1, rng=rng), ReLU(), Conv2d(4, 4, 3, padding=1, rng=rng),
                     ReLU(), Flatten(), Linear(64, 3, rng))
    X = rng.random((64, 1, 4, 4)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        clip_net = record_thresholds(net, X)
    cal = calibrate(clip_net, X, 16, epochs=3, batch_size=8)
    assert all(isinstance(cal[i], DAQCFS) for i in (1, 3))
    snn = to_parallel_snn(cal, 16)
    for rate, act in zip(snn.layer_rates(X), activation_outputs(clip_net, X)):
        assert np.corrcoef(rate.ravel(), act.ravel())[0, 1] > 0.95
    assert (snn.predict(X) == predict(clip_net, X)).mean() >= 0.9


def test_dual_thresholds_and_offset_merge():
    """DA-QCFS(θ, ψ_DA, φ_DA) → ParallelNeurons(θ_pre = θ, θ_post = θ + φ_DA, ψ = θ/2 + T·ψ_DA),
    and its rate equals the DA-QCFS activation (DA-QCFS)."""
    net = Sequential(Linear(3, 2, np.random.default_rng(0)), DAQCFS([1.0, 2.0], 4, [0.125, -0.25], [0.5, -0.25]))
    snn = to_parallel_snn(net, 4)
    layer = snn.layers[1]
    assert isinstance(layer, ParallelNeurons)
    np.testing.assert_array_equal(layer.theta_post, [1.5, 1.75])
    np.testing.assert_array_equal(layer.psi, [0.5 + 4 * 0.125, 1.0 - 4 * 0.25])
    X = dyadic(np.random.default_rng(1), (20, 3), 0, 8)
    net[0].weight[...] = dyadic(np.random.default_rng(2), (2, 3))
    snn = to_parallel_snn(net, 4)
    np.testing.assert_array_equal(snn.layer_rates(X)[0], activation_outputs(net, X)[0])


@pytest.mark.parametrize("convert", [to_parallel_snn, to_if_snn])
def test_a_calibration_that_makes_the_spike_amplitude_negative_is_refused(convert):
    """φ_DA moved below −θ after construction (as a calibration's running averages may):
    converting names the layer and the channel instead of firing negative spikes."""
    net = Sequential(Linear(3, 2, np.random.default_rng(0)), DAQCFS([1.0, 2.0], 4))
    net[1].phi_da[1] = -3.0
    with pytest.raises(ValueError, match=r"layer 1 \(DAQCFS.*channel 1.*phi_da = -3\.0.*amplitude"):
        convert(net, 4)


def test_calibrate_linear_false_leaves_2d_layers_plain():
    net, X = dyadic_mlp(0, 4)
    cal = calibrate(net, X, 2, calibrate_linear=False)
    assert all((cal[i].psi_da == 0).all() and (cal[i].phi_da == 0).all() for i in (1, 3))
    cal = calibrate(net, X, 2)
    assert any((cal[i].psi_da != 0).any() for i in (1, 3))


def test_bad_input():
    net, X = dyadic_mlp(0, 4)
    relu_net = Sequential(Linear(6, 3, np.random.default_rng(0)), ReLU())
    with pytest.raises(TypeError, match="Sequential"):
        to_parallel_snn([net], 4)
    with pytest.raises(ValueError, match="nothing to convert"):
        to_parallel_snn(Sequential(Linear(2, 2, np.random.default_rng(0))), 4)
    with pytest.raises(ValueError, match="nothing to convert"):
        to_if_snn(Sequential(Flatten()), 4)
    with pytest.raises(ValueError, match="record_thresholds"):
        to_parallel_snn(relu_net, 4)
    with pytest.raises(ValueError, match="record_thresholds"):
        to_if_snn(relu_net, 4)
    with pytest.raises(ValueError, match="record_thresholds"):
        calibrate(relu_net, X, 4)
    with pytest.raises(ValueError, match="nothing to record"):
        record_thresholds(net, X)
    for T in (0, -1):
        for func in (to_parallel_snn, to_if_snn):
            with pytest.raises(ValueError, match="T"):
                func(net, T)
        with pytest.raises(ValueError, match="T"):
            calibrate(net, X, T)
    with pytest.raises(ValueError, match="X"):
        calibrate(net, X[:0], 4)
    with pytest.raises(ValueError, match="X"):
        record_thresholds(relu_net, X[:0])
    with pytest.raises(ValueError, match="shape"):
        calibrate(net, np.zeros((4, 5), np.float32), 4)  # 5 features, the network wants 6
    with pytest.raises(ValueError, match="phi_update"):
        calibrate(net, X, 4, phi_update="average")
    with pytest.raises(ValueError, match="alpha"):
        calibrate(net, X, 4, alpha=0.0)
    with pytest.raises(ValueError, match="level 2"):
        to_parallel_snn(calibrate(net, X, 2), 4)
    with pytest.raises(ValueError, match="cannot be converted"):
        to_parallel_snn(Sequential(Linear(6, 3, np.random.default_rng(0)), QCFS(1.0, 4), MaxPool2d()), 4)


class MaxPool2d(Layer):
    """Stands in for max pooling, which does not commute with the sum over time."""

    def forward(self, x):
        return x

    def backward(self, grad_out):
        return grad_out


def test_teacher_level_can_be_overridden():
    """teacher=L makes QCFS teachers run at level L (the authors' code hard-codes 8):
    the calibrated shifts change; teacher=None uses each layer's trained level."""
    net, X = dyadic_mlp(4, 4)
    own = calibrate(net, X, 2, epochs=3)
    same = calibrate(net, X, 2, teacher=4, epochs=3)
    other = calibrate(net, X, 2, teacher=8, epochs=3)
    for i in (1, 3):
        np.testing.assert_array_equal(own[i].psi_da, same[i].psi_da)
        np.testing.assert_array_equal(own[i].phi_da, same[i].phi_da)
    assert any((own[i].phi_da != other[i].phi_da).any() for i in (1, 3))
    with pytest.raises(TypeError, match="teacher"):
        calibrate(net, X, 2, teacher="qcfs")
    with pytest.raises(ValueError, match="teacher"):
        calibrate(net, X, 2, teacher=0)


# --------------------------------------------------------------------------- DA-QCFS in the IF baseline


def _one_daqcfs_layer(T):
    """Flatten → DA-QCFS(θ, ψ_DA, φ_DA) at level T, and constant inputs on the grid 1/16."""
    theta, psi_da, phi_da = np.array([1.0, 2.0]), np.array([0.125, -0.25]), np.array([0.5, -0.25])
    net = Sequential(Flatten(), DAQCFS(theta, T, psi_da, phi_da))
    z = np.arange(-8, 41) / 16
    X = np.stack([z, z], axis=1).astype(np.float32)
    return net, X, theta, psi_da, phi_da


def test_if_snn_adds_psi_da_to_its_input():
    """Direct-encoded input gives the first IF layer the constant current z + ψ_DA, so its
    count is exactly the DA-QCFS level clip(floor((T z + θ/2 + T ψ_DA)/θ), 0, T).
    Dropping ψ_DA, or subtracting it, changes these counts."""
    T = 4
    net, X, theta, psi_da, _ = _one_daqcfs_layer(T)
    snn = to_if_snn(net, T)
    _, records = snn.run(X, record=True)
    expected = qcfs_level(X, theta, T, psi=da_qcfs_shift(theta, T, psi_da))
    np.testing.assert_array_equal(records[0]["counts"], expected)
    assert (qcfs_level(X, theta, T) != expected).any()  # without ψ_DA
    assert (qcfs_level(X, theta, T, psi=da_qcfs_shift(theta, T, -psi_da)) != expected).any()  # with −ψ_DA


def test_if_snn_spikes_carry_theta_plus_phi_da():
    """Each IF spike of a converted DA-QCFS carries θ + φ_DA, so the rate equals the
    DA-QCFS output ((θ + φ_DA)/T)·level exactly."""
    T = 4
    net, X, theta, _, phi_da = _one_daqcfs_layer(T)
    snn = to_if_snn(net, T)
    out, records = snn.run(X, record=True)
    assert set(np.unique(out[:, :, 0])) <= {0.0, 1.5} and set(np.unique(out[:, :, 1])) <= {0.0, 1.75}
    np.testing.assert_array_equal(out.sum(axis=0), records[0]["counts"] * (theta + phi_da))
    np.testing.assert_array_equal(snn.layer_rates(X)[0], activation_outputs(net, X)[0])


def test_to_if_snn_refuses_daqcfs_at_another_level():
    net, X = dyadic_mlp(0, 4)
    with pytest.raises(ValueError, match="level 2"):
        to_if_snn(calibrate(net, X, 2), 4)
    assert isinstance(to_if_snn(calibrate(net, X, 4), 4).layers[1], IFNeurons)


# --------------------------------------------------------------------------- calibration


@pytest.mark.parametrize("rule, z, phi", [
    ("ema_residual", 0.125, 0.09375), ("accumulate", 0.125, 0.125),  # student below teacher: φ > 0
    ("ema_residual", 0.375, -0.078125), ("accumulate", 0.375, -0.109375),  # above: φ < 0
])
def test_phi_da_moves_towards_the_teacher(rule, z, phi):
    """θ = 1, T = 2, α = ½, two full-batch epochs. z = 1/8 has level floor(2/8 + ½) = 0,
    so the student outputs 0 < 1/8 and φ_DA grows: e = 1/8 twice, EMA ½·(½·e) + ½·e = 3/32,
    accumulate ½e + ½e = 1/8. z = 3/8 has level 1: the student outputs (1 + φ)/2 = ½ > 3/8,
    e = −1/8 then −3/32, EMA −5/64, accumulate −7/64. ψ_DA stays 0 (same input)."""
    net = Sequential(Flatten(), ClipReLU([1.0]))
    X = np.full((4, 1), z, np.float32)
    cal = calibrate(net, X, 2, alpha=0.5, epochs=2, batch_size=4, phi_update=rule)
    assert cal[1].psi_da[0] == 0
    assert cal[1].phi_da[0] == phi


@pytest.mark.parametrize("alpha, error", [("x", TypeError), (True, TypeError), (None, TypeError),
                                          (float("nan"), ValueError), (1.5, ValueError), (-0.1, ValueError)])
def test_calibrate_alpha_must_be_a_real_number_in_0_1(alpha, error):
    net, X = dyadic_mlp(0, 4)
    with pytest.raises(error, match="alpha"):
        calibrate(net, X, 4, alpha=alpha)


@pytest.mark.parametrize("batch_size, error", [(0, ValueError), (-1, ValueError), (2.5, TypeError)])
def test_activation_outputs_checks_batch_size(batch_size, error):
    net, X = dyadic_mlp(0, 4)
    with pytest.raises(error, match="batch_size"):
        activation_outputs(net, X, batch_size=batch_size)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NaN that the test provokes
def test_activation_outputs_names_a_non_finite_layer():
    net, X = dyadic_mlp(0, 4)
    net[2].weight[1, 1] = np.nan
    with pytest.raises(ValueError, match=r"layer 2 \(Linear\(5->4\)\).*weight"):
        activation_outputs(net, X)


# --------------------------------------------------------------------------- residual networks


def test_record_thresholds_walks_into_residual_blocks():
    """Every ReLU of a ResNet, inside blocks and after residual sums, becomes a ClipReLU
    at the channel maximum of its input; on the recording data the clipped network
    computes exactly what the ReLU network computes."""
    from nets import dyadic_resnet

    from refsnn.networks.containers import iter_layers

    net, X = dyadic_resnet(5, 4, source="ReLU")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # silent channels are tested elsewhere
        clip = record_thresholds(net, X)
    relu_paths = [p for p, layer in iter_layers(net) if isinstance(layer, ReLU)]
    clip_paths = [p for p, layer in iter_layers(clip) if isinstance(layer, ClipReLU)]
    assert relu_paths == clip_paths and len(clip.thresholds_) == len(relu_paths) == 13
    assert "3.activation" in clip_paths and "4.main.2" in clip_paths
    np.testing.assert_array_equal(predict(clip, X), predict(net, X))
    for theta, act in zip(clip.thresholds_, activation_outputs(net, X)):
        axes = (0,) + tuple(range(2, act.ndim))
        seen = act.max(axis=axes)
        np.testing.assert_array_equal(theta[seen > 0], seen[seen > 0])  # the maximum of ReLU(z) is max z


def test_calibration_and_conversion_through_residual_blocks():
    """calibrate(epochs=0) gives DA-QCFS at level T with ψ_DA = φ_DA = 0 at every
    activation; on an exact ResNet the parallel SNN then equals that DA-QCFS network
    exactly. One calibration epoch changes ψ_DA and φ_DA and keeps faithful ≡ collapsed
    predictions."""
    from nets import dyadic_resnet

    from refsnn.networks.containers import iter_layers

    net, X = dyadic_resnet(6, 4, source="ReLU")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        clip = record_thresholds(net, X)
    plain = calibrate(clip, X, 8, epochs=0)
    students = [layer for _, layer in iter_layers(plain) if isinstance(layer, DAQCFS)]
    assert len(students) == 13 and all(s.levels == 8 and not s.psi_da.any() and not s.phi_da.any()
                                       for s in students)
    snn = to_parallel_snn(plain, 8)
    pred, rates = snn.predict_and_rates(X, mode="collapsed")
    np.testing.assert_array_equal(pred, predict(plain, X))
    for rate, act in zip(rates, activation_outputs(plain, X)):
        np.testing.assert_allclose(rate, act, rtol=0, atol=1e-6)
    calibrated = calibrate(clip, X, 8, epochs=1, batch_size=4)
    moved = [layer for _, layer in iter_layers(calibrated) if isinstance(layer, DAQCFS)]
    assert any(layer.psi_da.any() for layer in moved) and any(layer.phi_da.any() for layer in moved)
    snn = to_parallel_snn(calibrated, 8)
    np.testing.assert_array_equal(snn.predict(X, mode="faithful"), snn.predict(X, mode="collapsed"))


def test_conversion_uses_evaluation_mode_and_leaves_the_input_alone():
    """A network left in training mode converts with its running statistics, and the
    caller's network keeps its mode."""
    from nets import dyadic_resnet

    from refsnn.networks.containers import iter_layers, set_training
    from refsnn.networks.normalization import BatchNorm

    net, X = dyadic_resnet(7, 4)
    expected = to_parallel_snn(net, 4).predict(X)
    set_training(net, True)
    np.testing.assert_array_equal(to_parallel_snn(net, 4).predict(X), expected)
    assert all(layer.training for _, layer in iter_layers(net) if isinstance(layer, BatchNorm))


def test_a_channel_whose_largest_input_is_exactly_zero_is_silenced():
    """θ_c = 0 is as unusable as θ_c < 0: channel 1's input −x is at most 0, reached on
    the sample x = 0, and it is silenced with a warning like a never-positive channel."""
    rng = np.random.default_rng(0)
    linear = Linear(1, 2, rng)
    linear.weight[...] = [[1.0], [-1.0]]
    linear.bias[...] = 0
    X = np.array([[0.0], [0.25], [0.5], [1.0]], dtype=np.float32)
    with pytest.warns(RuntimeWarning, match=r"channels \[1\] never receive positive input; they are made silent"):
        clip_net = record_thresholds(Sequential(linear, ReLU()), X)
    assert clip_net[0].weight[1, 0] == 0
    np.testing.assert_array_equal(clip_net.thresholds_[0], [1.0, 1.0])
    assert not clip_net.forward(-X)[:, 1].any()  # silent also where −x > 0


def test_calibration_reports_each_epochs_own_mean_residual():
    """``progress(epoch, errors)`` gets the mean |e_post| of that epoch's batches only. With
    α = 1 and one batch per epoch, φ_DA after epoch 0 is that epoch's residual e_0, so
    epoch 1's residual is the teacher minus a DA-QCFS with φ_DA = e_0, computed here by hand
    (the first layer's student and teacher inputs agree, so ψ_DA stays 0)."""
    X, T = _half_normal(n=400), 4
    net = Sequential(*list(_one_layer())[:2], Flatten())
    reported = []
    calibrate(net, X, T, alpha=1.0, epochs=2, batch_size=len(X), progress=lambda e, errors: reported.append(errors))
    z = X.reshape(-1)
    e0 = np.mean(clip_relu(z, 1.0) - da_qcfs(z, 1.0, T, 0.0, 0.0), dtype=np.float64)
    e1 = np.mean(clip_relu(z, 1.0) - da_qcfs(z, 1.0, T, 0.0, e0), dtype=np.float64)
    assert abs(e0 - e1) > 1e-4  # else the test could not tell the epochs apart
    assert reported[0] == [pytest.approx(abs(e0), rel=1e-6)]
    assert reported[1] == [pytest.approx(abs(e1), rel=1e-6)]


def test_code_order_reaches_the_neurons_of_a_qcfs_network():
    """``to_parallel_snn(..., order="code")`` of a QCFS network fires the first N steps where
    the paper's order fires the last N: the first layer's trains are the paper's reversed
    in time."""
    net, X = dyadic_mlp(3, 4)
    paper = to_parallel_snn(net, 4).spike_trains(X, 0)
    code = to_parallel_snn(net, 4, order="code").spike_trains(X, 0)
    assert not np.array_equal(code, paper)
    np.testing.assert_array_equal(code, paper[::-1])


def test_activation_outputs_use_the_running_statistics_of_a_network_in_training_mode():
    """activation_outputs runs BatchNorm with its running statistics even when the network
    is in training mode, and leaves the network's mode and statistics as they were."""
    from refsnn.networks.containers import set_training
    from refsnn.networks.normalization import BatchNorm

    rng = np.random.default_rng(0)
    bn = BatchNorm(3)
    bn.running_mean[...] = [0.5, -0.25, 1.0]
    bn.running_var[...] = [0.5, 2.0, 1.0]
    net = Sequential(Linear(4, 3, rng), bn, QCFS(2.0, 4))
    X = rng.random((6, 4), dtype=np.float32)
    set_training(net, False)
    expected = activation_outputs(net, X)
    set_training(net, True)
    found = activation_outputs(net, X)
    np.testing.assert_array_equal(found[0], expected[0])
    assert bn.training
    np.testing.assert_array_equal(bn.running_mean, [0.5, -0.25, 1.0])


def test_no_function_of_the_pipeline_is_longer_than_fifty_lines():
    """The conversion module reads in one sitting: every function, docstring included, fits
    in 50 lines (the same rule holds for the demo program, ``tests/test_demo.py``)."""
    import ast
    import inspect

    from refsnn.networks import conversion

    tree = ast.parse(inspect.getsource(conversion))
    long = [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 > 50]
    assert not long, long
