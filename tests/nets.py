"""Small networks with dyadic weights, so that SNN and ANN arithmetic is exact, and a
finite-difference gradient for the layer tests.

Weights and biases are multiples of 1/8 in [-1, 1], inputs multiples of 1/8 in [0, 1],
thresholds powers of two and T a power of two: every activation is a multiple of θ/T,
every product and sum has few significant bits, and float32 computes them exactly.
"""

import numpy as np

from refsnn.networks.activations import DAQCFS, QCFS
from refsnn.networks.containers import Sequential
from refsnn.networks.layers import AvgPool2d, Conv2d, Flatten, Linear


def dyadic(rng, shape, low=-8, high=8, scale=8):
    return (rng.integers(low, high + 1, size=shape) / scale).astype(np.float32)


def dyadic_mlp(seed, T, sizes=(6, 5, 4, 3), theta=1.0):
    """Linear → QCFS → Linear → QCFS → Linear, with dyadic weights."""
    rng = np.random.default_rng(seed)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = Linear(n_in, n_out, rng)
        lin.weight[...] = dyadic(rng, lin.weight.shape)
        lin.bias[...] = dyadic(rng, lin.bias.shape, -2, 4)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(QCFS(theta, T))
    X = dyadic(rng, (16, sizes[0]), 0, 8)
    return Sequential(*layers), X


def dyadic_cnn(seed, T, theta=2.0):
    """Conv → QCFS → AvgPool → Conv → QCFS → Flatten → Linear on 4×4 images."""
    rng = np.random.default_rng(seed)
    c1, c2 = Conv2d(1, 2, 3, padding=1, rng=rng), Conv2d(2, 3, 3, padding=1, rng=rng)
    fc = Linear(3 * 2 * 2, 3, rng)
    for layer in (c1, c2, fc):
        layer.weight[...] = dyadic(rng, layer.weight.shape)
        layer.bias[...] = dyadic(rng, layer.bias.shape, -2, 4)
    net = Sequential(c1, QCFS(theta, T), AvgPool2d(2), c2, QCFS(theta, T), Flatten(), fc)
    X = dyadic(rng, (8, 1, 4, 4), 0, 8)
    return net, X


def numerical_grad(f, x, eps=1e-6):
    """Central differences (f(x + eps e_i) - f(x - eps e_i)) / 2 eps of a scalar f, in place on x."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f()
        x[i] = old - eps
        down = f()
        x[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


def dyadic_daqcfs_mlp(seed, T, sizes=(6, 5, 4, 3)):
    """:func:`dyadic_mlp` with every QCFS replaced by a DA-QCFS at level T with dyadic,
    nonzero channel-wise ψ_DA (multiples of 1/32) and φ_DA (multiples of 1/8), so that
    the offset θ/2 + T·ψ_DA differs from θ/2 and the arithmetic stays exact."""
    net, X = dyadic_mlp(seed, T, sizes)
    rng = np.random.default_rng(seed + 1)
    layers = list(net)
    for i, layer in enumerate(layers):
        if isinstance(layer, QCFS):
            C = layers[i - 1].out_features
            psi_da = rng.choice([-3, -2, -1, 1, 2, 3], size=C) / 32
            phi_da = rng.integers(-2, 3, size=C) / 8
            layers[i] = DAQCFS(np.full(C, float(layer.theta[0])), T, psi_da, phi_da)
    return Sequential(*layers), X


def dyadic_resnet(seed, T, theta=2.0, source="QCFS"):
    """A ResNet-20-shaped net on 4×4 images (identity and projection shortcuts,
    BatchNorm after every convolution) whose arithmetic is exact in float32.

    Weights and biases are multiples of 1/8; every BatchNorm has running variance
    1 − ε with ε = 2⁻²⁰, so √(σ² + ε) = 1 and its map a·x + c has a = γ ∈ {½, 1} and a
    dyadic c. Activations are QCFS(θ, T) (or ReLU for ``source="ReLU"``).
    """
    from refsnn.networks.activations import ReLU
    from refsnn.networks.containers import iter_layers, set_training
    from refsnn.networks.models import resnet_mini
    from refsnn.networks.normalization import BatchNorm

    rng = np.random.default_rng(seed)
    factory = (lambda: QCFS(theta, T)) if source == "QCFS" else ReLU
    net = resnet_mini(factory, seed=rng, in_shape=(1, 4, 4), width=2, blocks=2)
    eps = 2.0 ** -20
    for _, layer in iter_layers(net):
        if isinstance(layer, (Conv2d, Linear)):
            layer.weight[...] = dyadic(rng, layer.weight.shape, -4, 4)
            layer.bias[...] = dyadic(rng, layer.bias.shape, -2, 4)
        elif isinstance(layer, BatchNorm):
            layer.eps = eps
            layer.running_var[...] = 1 - eps
            layer.weight[...] = rng.choice([0.5, 1.0], layer.channels)
            layer.running_mean[...] = dyadic(rng, layer.channels, -2, 2)
            layer.bias[...] = dyadic(rng, layer.channels, -2, 4)
    X = dyadic(rng, (8, 1, 4, 4), 0, 8)
    return set_training(net, False), X
