"""Tests for refsnn.networks.training: loss, optimizer, training loop and batched inference.

* cross_entropy equals a direct float64 formula, its gradient equals finite
  differences, and it stays finite for huge logits;
* Adam's first step moves every parameter by lr against the gradient's sign, and Adam
  minimises a quadratic;
* fit reduces the loss of ReLU and QCFS networks, is reproducible for a fixed seed and
  reports progress once per epoch;
* batched inference does not depend on the batch size.
"""

import numpy as np
import pytest

from refsnn.networks.data import load_digits
from refsnn.networks.activations import QCFS, ReLU
from refsnn.networks.containers import Sequential
from refsnn.networks.layers import AvgPool2d, Conv2d, Flatten, Linear
from refsnn.networks.conversion import to_if_snn, to_parallel_snn
from refsnn.networks.normalization import BatchNorm
from refsnn.networks.training import Adam, accuracy, cross_entropy, fit, forward_batches, predict


def blobs(n=120, seed=0):
    """Three Gaussian blobs in 2-D, one per class."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centres = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    return (centres[y] + 0.4 * rng.standard_normal((n, 2))).astype(np.float32), y


def mlp(act, seed=0):
    rng = np.random.default_rng(seed)
    return Sequential(Linear(2, 16, rng), act, Linear(16, 3, rng))


# --------------------------------------------------------------------------- loss


def test_cross_entropy_value_and_gradient():
    rng = np.random.default_rng(0)
    logits, y = rng.standard_normal((5, 4)), np.array([0, 3, 1, 1, 2])
    loss, grad = cross_entropy(logits, y)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(5), y])), rel=1e-12)
    eps, fd = 1e-6, np.zeros_like(logits)
    for i in np.ndindex(logits.shape):
        d = np.zeros_like(logits)
        d[i] = eps
        fd[i] = (cross_entropy(logits + d, y)[0] - cross_entropy(logits - d, y)[0]) / (2 * eps)
    np.testing.assert_allclose(grad, fd, atol=1e-8)


def test_cross_entropy_is_stable_for_huge_logits():
    loss, grad = cross_entropy(np.array([[1e4, 0.0], [0.0, 1e4]], np.float32), np.array([0, 0]))
    assert loss == pytest.approx(5e3) and np.isfinite(grad).all()
    assert grad.dtype == np.float32


@pytest.mark.parametrize("logits,y", [(np.zeros((3, 4)), np.array([0, 1, 4])),
                                      (np.zeros((3, 4)), np.array([0, 1])),
                                      (np.zeros(4), np.array([0]))])
def test_cross_entropy_rejects_bad_labels_and_shapes(logits, y):
    with pytest.raises(ValueError):
        cross_entropy(logits, y)


# --------------------------------------------------------------------------- Adam


def test_adam_first_step_is_lr_times_sign():
    p, g = np.array([1.0, -2.0, 3.0]), np.array([0.5, -4.0, 1e-3])
    Adam({"p": p}, {"p": g}, lr=0.1, eps=1e-12).step()
    np.testing.assert_allclose(p, [0.9, -1.9, 2.9])


def test_adam_minimises_a_quadratic():
    c = np.array([3.0, -1.0, 0.5])
    p, g = np.zeros(3), np.zeros(3)
    opt = Adam({"p": p}, {"p": g}, lr=0.05)
    for _ in range(2000):
        g[...] = p - c  # gradient of ½‖p − c‖², written in place as a layer would
        opt.step()
    np.testing.assert_allclose(p, c, atol=1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_step_equals_its_numpy_twin(dtype):
    """The compiled update equals step_reference bit for bit over many steps, for
    float32 and float64 arrays of several shapes, and a non-contiguous parameter takes
    the NumPy path and still updates in place."""
    rng = np.random.default_rng(0)
    shapes = {"w": (4, 3, 3, 3), "b": (4,), "theta": (1,)}
    params = {k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}
    grads = {k: np.zeros_like(p) for k, p in params.items()}
    twin_params = {k: p.copy() for k, p in params.items()}
    twin_grads = {k: np.zeros_like(p) for k, p in params.items()}
    fast = Adam(params, grads, lr=3e-3, betas=(0.8, 0.99), eps=1e-7)
    twin = Adam(twin_params, twin_grads, lr=3e-3, betas=(0.8, 0.99), eps=1e-7)
    for _ in range(25):
        for k in params:
            grads[k][...] = twin_grads[k][...] = rng.standard_normal(shapes[k]).astype(dtype)
        fast.step()
        twin.step_reference()
    for k in params:
        np.testing.assert_array_equal(params[k], twin_params[k], err_msg=k)
        np.testing.assert_array_equal(fast.m[k], twin.m[k])
        np.testing.assert_array_equal(fast.v[k], twin.v[k])
    assert fast.t == twin.t == 25
    strided = np.zeros((3, 4), dtype)[:, ::2]  # not contiguous
    Adam({"p": strided}, {"p": np.ones_like(strided)}, lr=0.5).step()
    np.testing.assert_allclose(strided, -0.5)


def test_adam_rejects_mismatched_dicts():
    with pytest.raises(ValueError, match="same keys"):
        Adam({"a": np.zeros(2)}, {"b": np.zeros(2)})
    with pytest.raises(ValueError, match="shape"):
        Adam({"a": np.zeros(2)}, {"a": np.zeros(3)})


# --------------------------------------------------------------------------- fit


@pytest.mark.parametrize("act", [ReLU, lambda: QCFS(theta=2.0, levels=4)], ids=["relu", "qcfs"])
def test_fit_reduces_loss_on_a_tiny_problem(act):
    X, y = blobs()
    net = mlp(act())
    calls = []
    history = fit(net, X, y, epochs=15, batch_size=16, lr=1e-2, rng=np.random.default_rng(0),
                  progress=lambda *args: calls.append(args))
    assert len(history) == 15 and history[-1] < 0.3 * history[0]
    assert [c[0] for c in calls] == list(range(1, 16)) and calls[-1][1] == history[-1]
    assert accuracy(net, X, y) > 0.95


def test_fit_learns_the_qcfs_threshold():
    X, y = blobs()
    net = mlp(QCFS(theta=8.0, levels=4))
    fit(net, X, y, epochs=5, batch_size=16, lr=1e-2, rng=np.random.default_rng(0))
    assert net[1].theta[0] != 8.0 and net[1].theta.dtype == np.float64


def test_fit_is_reproducible():
    X, y = blobs()
    runs = [fit(mlp(ReLU(), seed=3), X, y, epochs=3, batch_size=10, lr=1e-2,
                rng=np.random.default_rng(5)) for _ in range(2)]
    assert runs[0] == runs[1]


def test_fit_rejects_mismatched_data():
    with pytest.raises(ValueError, match="samples"):
        fit(mlp(ReLU()), np.zeros((10, 2)), np.zeros(9, int), 1, 4, 1e-3, np.random.default_rng(0))


@pytest.mark.parametrize("act", [ReLU, lambda: QCFS(theta=8.0, levels=4)], ids=["relu", "qcfs"])
def test_small_cnn_learns_the_digits(act):
    """A 1-conv CNN after 4 epochs (about 0.3 s): far above chance (10%)."""
    X_train, y_train, X_test, y_test = load_digits(seed=0)
    rng = np.random.default_rng(0)
    net = Sequential(Conv2d(1, 8, 3, padding=1, rng=rng), act(), AvgPool2d(2), Flatten(),
                     Linear(8 * 4 * 4, 10, rng))
    fit(net, X_train, y_train, epochs=4, batch_size=32, lr=3e-3, rng=rng)
    assert accuracy(net, X_test, y_test) > 0.8  # measured: 0.89 (ReLU), 0.88 (QCFS)


# --------------------------------------------------------------------------- inference


def test_batched_inference_does_not_depend_on_batch_size():
    X, y = blobs(n=50)
    net = mlp(ReLU())
    full = net.forward(X)
    for batch_size in (1, 7, 50, 1000):
        np.testing.assert_allclose(forward_batches(net, X, batch_size), full, rtol=1e-6)
    labels = predict(net, X, batch_size=7)
    assert labels.dtype == np.int64 and labels.shape == (50,)
    assert accuracy(net, X, y) == np.mean(full.argmax(axis=1) == y)


# --------------------------------------------------------------------------- bad input


def fit_blobs(X=None, y=None, **kwargs):
    Xb, yb = blobs(n=30)
    args = dict(epochs=1, batch_size=8, lr=1e-2, rng=np.random.default_rng(0))
    args.update(kwargs)
    net = mlp(ReLU())
    return net, fit(net, Xb if X is None else X, yb if y is None else y, **args)


@pytest.mark.parametrize("X, y, error, pattern", [
    (np.zeros((0, 2), np.float32), np.zeros(0, np.int64), ValueError, "X.*at least one sample"),
    (np.full((4, 2), np.nan, np.float32), np.zeros(4, np.int64), ValueError, "X.*finite"),
    (np.array([[np.inf, 0]] * 4, np.float32), np.zeros(4, np.int64), ValueError, "X.*finite"),
    (np.array([["a", "b"]] * 4), np.zeros(4, np.int64), TypeError, "X"),
    (np.zeros((4, 2), np.float32), np.zeros(4), TypeError, "y.*integer"),
    (np.zeros((4, 2), np.float32), np.zeros(4, bool), TypeError, "y.*integer"),
    (np.zeros((4, 2), np.float32), np.zeros((4, 1), np.int64), ValueError, "y.*1-D"),
    (np.zeros((4, 2), np.float32), np.array([0, 1, -1, 2]), ValueError, "y.*>= 0"),
    (np.zeros((4, 2), np.float32), np.array([0, 1, 3, 2]), ValueError, "y.*0..2.*3 outputs"),
    (np.zeros((4, 2), np.float32), np.zeros(3, np.int64), ValueError, "samples"),
])
def test_fit_rejects_bad_data(X, y, error, pattern):
    with pytest.raises(error, match=pattern):
        fit_blobs(X, y)


def test_fit_checks_the_label_range_before_changing_any_weight():
    X, y = blobs(n=30)
    y[-1] = 3  # out of range for 3 outputs, in the last batch
    net = mlp(ReLU())
    before = {k: v.copy() for k, v in net.params().items()}
    with pytest.raises(ValueError, match="y"):
        fit(net, X, y, epochs=1, batch_size=8, lr=1e-2, rng=np.random.default_rng(0))
    for k, v in net.params().items():
        np.testing.assert_array_equal(v, before[k])


@pytest.mark.parametrize("kwargs, error, pattern", [
    (dict(lr=float("nan")), ValueError, "lr"),
    (dict(lr=float("inf")), ValueError, "lr"),
    (dict(lr=0.0), ValueError, "lr"),
    (dict(lr=-1e-3), ValueError, "lr"),
    (dict(lr="0.01"), TypeError, "lr"),
    (dict(epochs=0), ValueError, "epochs"),
    (dict(epochs=1.5), TypeError, "epochs"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(batch_size=-1), ValueError, "batch_size"),
    (dict(batch_size=True), TypeError, "batch_size"),
])
def test_fit_rejects_bad_settings(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        fit_blobs(**kwargs)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow that the test provokes
def test_fit_stops_when_the_loss_diverges():
    """A huge learning rate makes the weights overflow; fit names lr instead of training on."""
    X, y = blobs(n=30)
    X = X * np.float32(1e18)
    with pytest.raises(ValueError, match="loss.*lr"):
        fit_blobs(X, y, lr=1e30, epochs=20)


def bn_mlp(seed=0):
    rng = np.random.default_rng(seed)
    return Sequential(Linear(2, 8, rng), BatchNorm(8), ReLU(), Linear(8, 3, rng))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow that the test provokes
def test_a_diverging_fit_leaves_the_running_statistics_as_before_that_batch():
    """Inputs near the float32 maximum overflow the first Linear layer: the first batch's
    loss is NaN, and every BatchNorm keeps the running statistics it had (finite)."""
    X, y = blobs(n=30)
    X = X * np.float32(1e38)
    net = bn_mlp()
    bn = net[1]
    bn.running_mean[...], bn.running_var[...] = 0.5, 2.0
    with pytest.raises(ValueError, match="loss.*lr"):
        fit(net, X, y, epochs=1, batch_size=8, lr=1e-2, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(bn.running_mean, 0.5)
    np.testing.assert_array_equal(bn.running_var, 2.0)


@pytest.mark.parametrize("fails", [False, True], ids=["returns", "fails"])
def test_fit_leaves_batchnorm_in_evaluation_mode(fails):
    X, y = blobs(n=30)
    if fails:
        y[-1] = 3  # out of range: fit fails on its first batch
    net = bn_mlp()
    assert net[1].training
    try:
        fit(net, X, y, epochs=1, batch_size=8, lr=1e-2, rng=np.random.default_rng(0))
    except ValueError:
        assert fails
    assert net[1].training is False


def test_fit_skips_a_last_batch_of_one_sample_with_batchnorm():
    """21 samples in batches of 10: the last batch holds one sample, whose batch
    statistics do not exist; fit skips it instead of failing."""
    X, y = blobs(n=21)
    history = fit(bn_mlp(), X, y, epochs=2, batch_size=10, lr=1e-2, rng=np.random.default_rng(0))
    assert len(history) == 2 and all(np.isfinite(history))


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(lr=float("nan")), "lr"), (dict(lr=0.0), "lr"), (dict(lr=float("inf")), "lr"),
    (dict(eps=float("nan")), "eps"), (dict(eps=0.0), "eps"),
    (dict(betas=(0.9, float("nan"))), "betas"), (dict(betas=(1.0, 0.999)), "betas"),
    (dict(betas=(0.9,)), "betas"), (dict(betas=(-0.1, 0.9)), "betas"),
])
def test_adam_rejects_bad_hyperparameters(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        Adam({"p": np.zeros(2)}, {"p": np.zeros(2)}, **kwargs)


@pytest.mark.parametrize("function", [forward_batches, predict, lambda net, X, batch_size:
                                      accuracy(net, X, np.zeros(len(X), np.int64), batch_size)])
@pytest.mark.parametrize("batch_size, error", [(0, ValueError), (-1, ValueError), (2.5, TypeError)])
def test_inference_rejects_bad_batch_size(function, batch_size, error):
    X, _ = blobs(n=10)
    with pytest.raises(error, match="batch_size"):
        function(mlp(ReLU()), X, batch_size=batch_size)


@pytest.mark.parametrize("function", [forward_batches, predict])
def test_inference_rejects_empty_or_non_finite_input(function):
    with pytest.raises(ValueError, match="X.*at least one sample"):
        function(mlp(ReLU()), np.zeros((0, 2), np.float32))
    with pytest.raises(ValueError, match="X.*finite"):
        function(mlp(ReLU()), np.full((3, 2), np.nan, np.float32))


@pytest.mark.parametrize("act", [ReLU, lambda: QCFS(theta=2.0, levels=4)], ids=["relu", "qcfs"])
def test_inference_names_the_layer_whose_parameters_are_not_finite(act):
    """A NaN weight before a QCFS layer, which refuses a non-finite input: the error names
    the Linear layer and its weight, as it does before a ReLU."""
    X, _ = blobs(n=10)
    net = mlp(act())
    net[0].weight[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"layer 0 \(Linear.*weight"):
        predict(net, X)


def test_accuracy_rejects_float_labels():
    X, y = blobs(n=10)
    with pytest.raises(TypeError, match="y.*integer"):
        accuracy(mlp(ReLU()), X, y.astype(float))


def test_fit_history_is_the_mean_loss_per_sample_of_each_epoch():
    """With 21 samples in batches of 10 the last batch holds one sample: the epoch's loss
    weighs each batch by its size. At a learning rate too small to move the weights, it
    is the loss of the untrained network on all 21 samples."""
    rng = np.random.default_rng(0)
    net = Sequential(Flatten(), Linear(4, 3, rng, dtype=np.float64))
    X = rng.normal(size=(21, 1, 2, 2))
    y = rng.integers(0, 3, 21)
    expected, _ = cross_entropy(net.forward(X), y)
    history = fit(net, X, y, epochs=1, batch_size=10, lr=1e-12, rng=rng)
    assert history == [pytest.approx(expected, rel=1e-9)]


def test_forward_batches_uses_the_running_statistics_and_restores_training_mode():
    """A network left in training mode still predicts with BatchNorm's running averages
    (y = a·x + c), not the batch's statistics, and is put back in training mode with
    its running averages unchanged."""
    rng = np.random.default_rng(0)
    bn = BatchNorm(3, dtype=np.float64)
    bn.running_mean[...] = [0.5, -1.0, 2.0]
    bn.running_var[...] = [0.25, 4.0, 1.0]
    net = Sequential(Linear(2, 3, rng, dtype=np.float64), bn)
    net[1].training = True
    X = rng.normal(size=(5, 2))
    a, c = bn.scale_and_shift()
    expected = net[0].forward(X) * a + c
    np.testing.assert_allclose(forward_batches(net, X), expected, rtol=1e-12)
    assert bn.training
    np.testing.assert_array_equal(bn.running_mean, [0.5, -1.0, 2.0])


@pytest.mark.parametrize("convert", [to_parallel_snn, to_if_snn])
@pytest.mark.parametrize("call", ["forward_batches", "predict", "accuracy", "fit"])
def test_a_spiking_network_is_refused_where_an_ann_is_expected(convert, call):
    """``snn.net`` (a Sequential holding neuron layers) run as an ANN would read its batch
    axis as time, and a SpikingNetwork has no forward pass: each is a TypeError that
    names SpikingNetwork (and the first neuron layer), before anything runs."""
    X, y = load_digits(seed=0)[:2]
    rng = np.random.default_rng(0)
    snn = convert(Sequential(Flatten(), Linear(64, 8, rng), QCFS(8.0, levels=4), Linear(8, 10, rng)), 4)
    run = {"forward_batches": lambda net: forward_batches(net, X[:8]),
           "predict": lambda net: predict(net, X[:8]),
           "accuracy": lambda net: accuracy(net, X[:8], y[:8]),
           "fit": lambda net: fit(net, X[:8], y[:8], epochs=1, batch_size=4, lr=1e-3, rng=rng)}[call]
    weights = [p.copy() for p in snn.net.params().values()]
    with pytest.raises(TypeError, match=r"layer 2 \((Parallel|IF)Neurons.*SpikingNetwork"):
        run(snn.net)
    with pytest.raises(TypeError, match=r"a SpikingNetwork.*snn\.predict"):
        run(snn)
    for before, after in zip(weights, snn.net.params().values()):
        np.testing.assert_array_equal(after, before)

