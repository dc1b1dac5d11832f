"""Tests for refsnn.networks.normalization: BatchNorm and folding it into the layer before."""

import numpy as np
import pytest
from test_layers import check_layer_grads

from refsnn.networks.activations import ReLU
from refsnn.networks.base import no_backward
from refsnn.networks.containers import Sequential, iter_layers, set_training
from refsnn.networks.layers import Conv2d, Linear
from refsnn.networks.models import resnet_mini
from refsnn import threads
from refsnn.networks.normalization import BatchNorm, fold_batchnorm
from refsnn.threads import max_threads

F64 = np.float64


def randomised(bn, rng):
    """A BatchNorm with non-trivial γ, β and running statistics."""
    bn.weight[...] = rng.uniform(0.5, 2, bn.channels)
    bn.bias[...] = rng.normal(0, 1, bn.channels)
    bn.running_mean[...] = rng.normal(0, 1, bn.channels)
    bn.running_var[...] = rng.uniform(0.5, 2, bn.channels)
    return bn


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 2, 3)])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients(shape, training):
    """backward() against central differences, through the batch statistics in training
    mode and through the fixed affine map in evaluation mode."""
    rng = np.random.default_rng(len(shape))
    bn = randomised(BatchNorm(3, dtype=F64), rng)
    bn.training = training
    x = rng.normal(0.5, 2, shape)
    if training:  # forward updates the running averages; the gradient does not depend on them
        bn.momentum = 1e-12
    check_layer_grads(bn, x)


def test_training_normalises_and_updates_running_averages():
    rng = np.random.default_rng(0)
    bn = BatchNorm(2, momentum=0.5, dtype=F64)
    x = rng.normal([[3.0], [-1.0]], [[2.0], [0.5]], (2, 64)).T  # (B=64, C=2)
    y = bn.forward(x)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), 1, rtol=1e-4)
    np.testing.assert_allclose(bn.running_mean, 0.5 * x.mean(axis=0))
    np.testing.assert_allclose(bn.running_var, 0.5 + 0.5 * x.var(axis=0, ddof=1))  # unbiased, as PyTorch


def test_evaluation_mode_is_the_affine_map_of_the_running_statistics():
    rng = np.random.default_rng(1)
    bn = randomised(BatchNorm(3, dtype=F64), rng)
    bn.training = False
    x = rng.normal(0, 1, (5, 3, 2, 2))
    a, c = bn.scale_and_shift()
    expected = (x - bn.running_mean.reshape(3, 1, 1)) / np.sqrt(bn.running_var.reshape(3, 1, 1) + bn.eps)
    expected = expected * bn.weight.reshape(3, 1, 1) + bn.bias.reshape(3, 1, 1)
    np.testing.assert_allclose(bn.forward(x), expected, rtol=1e-12)
    np.testing.assert_allclose(bn.forward(x), a.reshape(3, 1, 1) * x + c.reshape(3, 1, 1), rtol=1e-12)
    before = bn.running_mean.copy()
    bn.forward(x)
    np.testing.assert_array_equal(bn.running_mean, before)  # evaluation does not update


def test_fold_batchnorm_equals_the_network_in_evaluation_mode():
    """A ResNet with BatchNorm everywhere, folded: the same logits up to float rounding,
    with no BatchNorm left (every one follows a convolution)."""
    rng = np.random.default_rng(2)
    net = resnet_mini(ReLU, seed=3, blocks=2)
    for _, layer in iter_layers(net):
        if isinstance(layer, BatchNorm):
            randomised(layer, rng)
    set_training(net, False)
    X = rng.random((6, 1, 8, 8), dtype=np.float32)
    folded = fold_batchnorm(net)
    assert not any(isinstance(layer, BatchNorm) for _, layer in iter_layers(folded))
    np.testing.assert_allclose(folded.forward(X), net.forward(X), rtol=1e-4, atol=1e-4)
    assert any(isinstance(layer, BatchNorm) for _, layer in iter_layers(net))  # the input is untouched


def test_fold_batchnorm_exact_on_a_dyadic_linear_layer():
    """With power-of-two scales the fold is exact: W' = a·W, b' = a·b + c."""
    rng = np.random.default_rng(4)
    lin = Linear(3, 2, rng, dtype=F64)
    bn = BatchNorm(2, eps=0.0 + 1e-300, dtype=F64)
    bn.weight[...] = [2.0, 0.5]
    bn.running_var[...] = [1.0, 4.0]
    bn.running_mean[...] = [0.25, -1.0]
    bn.bias[...] = [1.0, 0.0]
    lin.bias[...] = [0.75, -3.0]  # a bias of its own, which the fold scales by a
    set_training(Sequential(bn), False)
    net = Sequential(lin, bn)
    (folded,) = fold_batchnorm(net).layers
    np.testing.assert_array_equal(folded.weight, lin.weight * np.array([[2.0], [0.25]]))
    np.testing.assert_array_equal(folded.bias, [2.0 * 0.75 + 0.5, 0.25 * -3.0 + 0.25])


@pytest.mark.parametrize("before", [lambda rng: Linear(3, 2, rng), lambda rng: Linear(3, 1, rng),
                                    lambda rng: Conv2d(1, 2, 1, rng=rng)])
def test_fold_batchnorm_refuses_a_batchnorm_of_other_channels(before):
    """A BatchNorm(3) after a layer of 2 (or 1) outputs is an error naming both layers,
    not a broadcast (1 output channel times 3 scales would give 3 rows)."""
    layer = before(np.random.default_rng(0))
    net = set_training(Sequential(layer, BatchNorm(3)), False)
    with pytest.raises(ValueError, match=rf"BatchNorm\(3.*follows.*{layer.weight.shape[0]} output channels"):
        fold_batchnorm(net)


def test_a_batchnorm_without_a_layer_before_it_is_kept():
    net = Sequential(BatchNorm(3), ReLU(), BatchNorm(3))
    assert [type(layer) for layer in fold_batchnorm(net)] == [BatchNorm, ReLU, BatchNorm]


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(channels=0), ValueError, "channels"),
    (dict(channels=3, eps=0.0), ValueError, "eps"),
    (dict(channels=3, momentum=1.5), ValueError, "momentum"),
    (dict(channels=3, momentum="x"), TypeError, "momentum"),
    (dict(channels=3, dtype=np.int64), TypeError, "dtype"),
])
def test_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        BatchNorm(**kwargs)


def test_bad_input():
    bn = BatchNorm(3)
    with pytest.raises(ValueError, match="channels"):
        bn.forward(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="shape"):
        bn.forward(np.zeros((4, 3, 2)))
    with pytest.raises(ValueError, match="more than one value"):
        bn.forward(np.zeros((1, 3)))
    with pytest.raises(TypeError, match="net"):
        fold_batchnorm(Conv2d(1, 1, 1, rng=np.random.default_rng(0)))


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_training_passes_equal_their_numpy_twins(shape, dtype):
    """The compiled training-mode forward and backward equal batchnorm_train_reference and
    batchnorm_backward_reference to float rounding (the kernels sum in float64, the twins
    in float32), on channels with different scales and offsets."""
    from refsnn.networks.normalization import batchnorm_backward_reference, batchnorm_train_reference

    rng = np.random.default_rng(len(shape))
    scales = np.array([0.5, 3.0, 20.0]).reshape((1, 3) + (1,) * (len(shape) - 2))
    x = (rng.standard_normal(shape) * scales + 4).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    bn = BatchNorm(3, dtype=dtype)
    bn.weight[...] = [0.5, 1.5, -2.0]
    bn.bias[...] = [0.1, -0.3, 2.0]
    out = bn.forward(x)
    dx = bn.backward(g)
    ref_out, ref_hat, mean, var, inv_std = batchnorm_train_reference(x, bn.weight, bn.bias, bn.eps)
    ref_dx, sum_g, sum_gx = batchnorm_backward_reference(g, ref_hat, bn.weight, inv_std)
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-12}
    for got, want in ((out, ref_out), (bn._x_hat, ref_hat), (bn._inv_std, inv_std), (dx, ref_dx),
                      (bn.bias_grad, sum_g), (bn.weight_grad, sum_gx)):
        assert got.dtype == dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, **tol)
    np.testing.assert_allclose(bn.running_mean, 0.9 * 0 + 0.1 * mean, **tol)


@pytest.mark.parametrize("training", [True, False])
def test_no_backward_keeps_neither_input_nor_normalised_input(training):
    """Inside no_backward BatchNorm computes the same output (and, in training mode, the
    same running statistics) and keeps neither x nor x̂ for a backward pass."""
    rng = np.random.default_rng(3)
    bn, twin = BatchNorm(3), BatchNorm(3)
    bn.training = twin.training = training
    x = rng.normal(0, 1, (6, 3, 2, 2)).astype(np.float32)
    with no_backward():
        out = bn.forward(x)
    np.testing.assert_array_equal(out, twin.forward(x))
    np.testing.assert_array_equal(bn.running_var, twin.running_var)
    assert bn._x is None and bn._x_hat is None and twin._x is not None
    with pytest.raises(RuntimeError, match="no_backward"):
        bn.backward(np.ones_like(out))


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_evaluation_pass_equals_its_numpy_twin_bit_for_bit(shape, dtype):
    """Evaluation mode computes a·x + c in one compiled pass, rounding the product and
    then the sum as batchnorm_eval_reference does: equal bit for bit (a fused multiply-add
    would differ on random floats); a non-contiguous input takes the twin itself."""
    from refsnn.networks.normalization import batchnorm_eval_reference

    rng = np.random.default_rng(7)
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    bn = BatchNorm(3, dtype=dtype)
    bn.weight[...], bn.bias[...] = [0.7, -1.3, 2.1], [0.1, -0.3, 2.0]
    bn.running_mean[...], bn.running_var[...] = [0.2, -1.0, 3.0], [0.5, 2.0, 9.0]
    bn.training = False
    a, c = bn.scale_and_shift()
    out = bn.forward(x)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, batchnorm_eval_reference(x, a, c))
    np.testing.assert_array_equal(bn.forward(np.asfortranarray(x)), out)


@pytest.mark.skipif(max_threads() < 2, reason="needs 2 cores")
@pytest.mark.parametrize("training", [False, True])
def test_two_threads_give_the_bits_of_one(monkeypatch, training):
    """With 2 threads each thread takes a run of the channels (every pass is per channel):
    outputs, gradients and running statistics are the same bits as on one thread."""
    monkeypatch.setattr(threads, "GRAIN", 1)  # split even this small batch
    monkeypatch.setattr(threads, "SUM_GRAIN", 1)
    rng = np.random.default_rng(21)
    x = rng.standard_normal((6, 5, 4, 3)).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    results = []
    for count in (1, 2):
        bn = BatchNorm(5)
        bn.weight[...] = np.linspace(0.5, 1.5, 5)
        bn.running_var[...] = np.linspace(0.5, 2, 5)
        bn.training = training
        with threads.limit_threads(count):
            out = bn.forward(x)
            dx = bn.backward(g)
        results.append([out, dx, bn.weight_grad.copy(), bn.bias_grad.copy(), bn.running_mean.copy(),
                        bn.running_var.copy()])
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)
