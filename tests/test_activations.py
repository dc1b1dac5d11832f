"""Tests for refsnn.networks.activations: the ReLU, ClipReLU, QCFS and DAQCFS layers.

* the activation layers compute exactly the functions of refsnn.neurons.quantization;
* the QCFS straight-through gradient is the stated formula;
* bad parameters and inputs raise errors naming the layer or parameter.
"""

import numpy as np
import pytest
from nets import numerical_grad

from refsnn import threads
from refsnn.networks.activations import DAQCFS, QCFS, ClipReLU, ReLU, qcfs_backward_reference
from refsnn.networks.base import no_backward
from refsnn.neurons.quantization import clip_relu, da_qcfs, qcfs
from refsnn.threads import max_threads


@pytest.mark.parametrize("shape", [(3, 4, 5, 5), (6, 4)])
def test_activation_layers_equal_core_functions(shape):
    rng = np.random.default_rng(5)
    z = (rng.standard_normal(shape) * 2).astype(np.float32)
    theta = np.array([0.5, 1.0, 1.5, 3.0])
    view = theta.reshape(-1, 1, 1) if len(shape) == 4 else theta
    psi_da, phi_da = rng.normal(0, 0.1, 4), rng.normal(0, 0.1, 4)
    pview = (lambda p: p.reshape(-1, 1, 1)) if len(shape) == 4 else (lambda p: p)

    out = QCFS(theta=1.7, levels=4).forward(z)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, qcfs(z, 1.7, 4))
    np.testing.assert_array_equal(ClipReLU(theta).forward(z), clip_relu(z, view))
    np.testing.assert_array_equal(
        DAQCFS(theta, 8, psi_da, phi_da).forward(z), da_qcfs(z, view, 8, pview(psi_da), pview(phi_da))
    )
    np.testing.assert_array_equal(ReLU().forward(z), np.maximum(z, 0))


def test_daqcfs_without_calibration_is_qcfs():
    z = np.random.default_rng(6).standard_normal((2, 3, 4, 4)).astype(np.float32)
    np.testing.assert_array_equal(DAQCFS(np.full(3, 1.25), 4).forward(z), QCFS(1.25, 4).forward(z))


def test_qcfs_straight_through_gradient():
    """θ = 2, L = 4: z = -1, 0.3, 1.0, 2.5 give q = y/θ = 0, 0.25, 0.5, 1.

    dy/dz = [0 ≤ z ≤ θ] = 0, 1, 1, 0 and dy/dθ = [z > θ] + [0 ≤ z ≤ θ](q − z/θ)
    = 0, 0.25 − 0.15, 0.5 − 0.5, 1, whose sum is 1.1.
    """
    layer = QCFS(theta=2.0, levels=4)
    z = np.array([[-1.0, 0.3, 1.0, 2.5]])
    np.testing.assert_array_equal(layer.forward(z), [[0.0, 0.5, 1.0, 2.0]])
    np.testing.assert_array_equal(layer.backward(np.ones_like(z)), [[0, 1, 1, 0]])
    assert layer.theta.shape == (1,) and layer.theta.dtype == np.float64
    np.testing.assert_allclose(layer.grads()["theta"], [1.1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_qcfs_backward_kernel_equals_twin(dtype, seed):
    """The compiled backward pass equals qcfs_backward_reference bit for bit (dx and the
    θ-gradient), on inputs that hit 0 and θ exactly, and on a non-contiguous gradient."""
    rng = np.random.default_rng(seed)
    theta = 1.5
    z = (rng.normal(0.7, 1.2, (4, 3, 5, 5)) / 4).astype(dtype) * 4
    z.flat[::7] = 0.0
    z.flat[3::11] = theta
    g = rng.standard_normal((4, 5, 5, 3)).astype(dtype).transpose(0, 3, 1, 2)  # not contiguous
    layer = QCFS(theta, 4)
    out = layer.forward(z)
    dx = layer.backward(g)
    dx_ref, theta_grad_ref = qcfs_backward_reference(z, out, g, theta)
    assert dx.dtype == dtype and dx.shape == z.shape
    np.testing.assert_array_equal(dx, dx_ref)
    assert layer.theta_grad[0] == theta_grad_ref


def test_qcfs_theta_gradient_is_clip_gradient_on_the_grid():
    """Where z sits on a quantization level, q = z/θ and dy/dθ reduces to d clip(z, 0, θ)/dθ."""
    theta, L = 2.0, 4
    z = np.array([[-0.5, 0.5, 1.0, 1.5, 3.0, 4.5]])  # levels, away from the kinks at 0 and θ
    layer = QCFS(theta, L)
    layer.forward(z)
    layer.backward(np.ones_like(z))
    t = np.array([theta])
    fd = numerical_grad(lambda: float(np.sum(np.clip(z, 0, t[0]))), t)
    np.testing.assert_allclose(layer.theta_grad, fd, atol=1e-8)


def test_clip_relu_and_relu_backward_masks():
    z = np.array([[-1.0, 0.5, 2.0], [0.2, 3.0, -0.1]])
    clip = ClipReLU([1.0, 1.0, 1.0])
    clip.forward(z)
    np.testing.assert_array_equal(clip.backward(np.ones_like(z)), [[0, 1, 0], [1, 0, 0]])
    relu = ReLU()
    relu.forward(z)
    np.testing.assert_array_equal(relu.backward(np.ones_like(z)), [[0, 1, 1], [1, 1, 0]])


def test_daqcfs_backward_says_why_it_is_not_available():
    layer = DAQCFS([1.0], 4)
    layer.forward(np.zeros((1, 1)))
    with pytest.raises(NotImplementedError, match="calibrated"):
        layer.backward(np.zeros((1, 1)))


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("layer,x,pattern", [
    (ClipReLU([1.0, 2.0]), np.zeros((1, 3, 4, 4)), r"ClipReLU.*2 channels.*\(1, 3, 4, 4\)"),
    (ClipReLU([1.0, 2.0]), np.zeros((1, 2, 4)), r"ClipReLU"),
    (DAQCFS([1.0, 2.0], 4), np.zeros((5, 3)), r"DAQCFS.*2 channels"),
])
def test_wrong_input_shape_raises_value_error_naming_the_layer(layer, x, pattern):
    with pytest.raises(ValueError, match=pattern):
        layer.forward(x)


@pytest.mark.parametrize("make", [
    lambda: QCFS(theta=0.0), lambda: QCFS(theta=-1.0), lambda: QCFS(theta=float("nan")),
    lambda: QCFS(levels=0), lambda: ClipReLU([1.0, 0.0]), lambda: DAQCFS([1.0, -2.0], 4),
    lambda: DAQCFS([1.0, 2.0], 4, psi_da=[0.0]), lambda: ClipReLU(1.0),
])
def test_bad_parameters_raise_value_error(make):
    with pytest.raises(ValueError):
        make()

def test_a_negative_spike_amplitude_is_refused():
    """θ + φ_DA is the spike amplitude of a converted DA-QCFS layer: φ_DA < −θ would make it
    negative. φ_DA = −θ (amplitude 0) is allowed."""
    with pytest.raises(ValueError, match=r"DAQCFS.*channel 1.*phi_da = -2\.5.*theta = 2\.0.*amplitude"):
        DAQCFS([1.0, 2.0], 4, phi_da=[0.5, -2.5])
    np.testing.assert_array_equal(DAQCFS([1.0, 2.0], 4, phi_da=[-1.0, 0.0]).phi_da, [-1.0, 0.0])


@pytest.mark.parametrize("make", [
    lambda: QCFS(levels=2.5), lambda: QCFS(levels=True), lambda: DAQCFS([1.0], 4.0),
])
def test_non_integer_levels_raise_type_error(make):
    with pytest.raises(TypeError):
        make()


def test_threshold_driven_to_zero_is_caught_at_forward():
    layer = QCFS(1.0, 4)
    layer.theta[0] = -0.1  # e.g. by an optimizer step
    with pytest.raises(ValueError, match="QCFS.*> 0"):
        layer.forward(np.zeros((1, 2)))


def test_relu_and_clip_relu_derivatives_are_zero_at_the_kinks():
    """ReLU's derivative is 1 only where z > 0, ClipReLU's only where 0 < z < θ: at z = 0
    and z = θ exactly the (sub)gradient taken is 0, as documented."""
    z = np.array([[-1.0, 0.0, 0.5, 1.0, 1.5]], dtype=np.float32)
    g = np.ones_like(z)
    relu = ReLU()
    relu.forward(z)
    np.testing.assert_array_equal(relu.backward(g), [[0, 0, 1, 1, 1]])
    clip = ClipReLU(np.ones(5))
    clip.forward(z)
    np.testing.assert_array_equal(clip.backward(g), [[0, 0, 1, 0, 0]])


@pytest.mark.parametrize("layer", [ReLU(), ClipReLU([1.0, 2.0]), QCFS(2.0, levels=4)])
def test_no_backward_keeps_no_input(layer):
    """Inside no_backward an activation computes the same output and keeps neither its
    input nor (QCFS) its output for a backward pass."""
    z = np.random.default_rng(0).normal(0, 2, (5, 2)).astype(np.float32)
    outside = layer.forward(z)
    with no_backward():
        inside = layer.forward(z)
    np.testing.assert_array_equal(inside, outside)
    assert layer._z is None and getattr(layer, "_out", None) is None
    with pytest.raises(RuntimeError, match="no_backward"):
        layer.backward(np.ones_like(z))


@pytest.mark.skipif(max_threads() < 2, reason="needs 2 cores")
def test_qcfs_on_two_threads_gives_the_bits_of_one(monkeypatch):
    """With 2 threads each thread takes a run of the values of QCFS's elementwise passes."""
    monkeypatch.setattr(threads, "GRAIN", 1)
    rng = np.random.default_rng(22)
    z = rng.uniform(-1, 3, (4, 3, 5, 5)).astype(np.float32)
    g = rng.standard_normal(z.shape).astype(np.float32)
    results = []
    for count in (1, 2):
        layer = QCFS(2.0, 4)
        with threads.limit_threads(count):
            out = layer.forward(z)
            dx = layer.backward(g)
        results.append((out, dx, layer.theta_grad.copy()))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)
