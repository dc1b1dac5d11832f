"""Tests for refsnn.networks.containers: the residual block and walking nested networks."""

import contextlib

import numpy as np
import pytest
from test_layers import check_layer_grads

from refsnn.networks.activations import ReLU
from refsnn.networks.containers import (Residual, Sequential, children, evaluation_mode, iter_layers, leaves,
                                        map_children, run, set_training)
from refsnn.networks.layers import Conv2d, Linear
from refsnn.networks.normalization import BatchNorm
from refsnn.networks.training import predict

F64 = np.float64


def block(rng, shortcut=True, dtype=F64):
    main = Sequential(Conv2d(2, 3, 3, padding=1, rng=rng, dtype=dtype), BatchNorm(3, dtype=dtype), ReLU(),
                      Conv2d(3, 3, 3, padding=1, rng=rng, dtype=dtype))
    short = Sequential(Conv2d(2, 3, 1, rng=rng, dtype=dtype), BatchNorm(3, dtype=dtype)) if shortcut else None
    return Residual(main, short, ReLU())


def test_forward_is_activation_of_main_plus_shortcut():
    rng = np.random.default_rng(0)
    res = block(rng)
    set_training(res, False)
    x = rng.normal(0, 1, (4, 2, 5, 5))
    expected = np.maximum(res.main.forward(x) + res.shortcut.forward(x), 0)
    np.testing.assert_array_equal(res.forward(x), expected)
    identity = Residual(Sequential(Linear(3, 3, rng, dtype=F64)))
    x = rng.normal(0, 1, (4, 3))
    np.testing.assert_array_equal(identity.forward(x), identity.main.forward(x) + x)


@pytest.mark.parametrize("shortcut", [True, False])
def test_residual_gradients(shortcut):
    """backward() against central differences, for the input and every parameter, with
    a projection shortcut and with the identity (the gradient of x then adds directly)."""
    rng = np.random.default_rng(1)
    res = block(rng, shortcut)
    if not shortcut:
        res.main.layers[0] = Conv2d(2, 2, 3, padding=1, rng=rng, dtype=F64)
        res.main.layers[1] = BatchNorm(2, dtype=F64)
        res.main.layers[3] = Conv2d(2, 2, 3, padding=1, rng=rng, dtype=F64)
    for _, layer in iter_layers(res):
        if isinstance(layer, BatchNorm):
            layer.momentum = 1e-12
    check_layer_grads(res, rng.normal(0.2, 1, (3, 2, 4, 4)))


def test_nested_params_have_paths_and_the_walk_is_in_forward_order():
    rng = np.random.default_rng(2)
    net = Sequential(Conv2d(2, 2, 3, padding=1, rng=rng), block(rng))
    paths = [path for path, _ in iter_layers(net)]
    assert paths == ["0", "1.main.0", "1.main.1", "1.main.2", "1.main.3", "1.shortcut.0", "1.shortcut.1",
                     "1.activation"]
    assert "1.main.0.weight" in net.params() and "1.shortcut.1.bias" in net.params()
    assert set(net.params()) == set(net.grads())
    assert [name for name, _ in children(net[1])] == ["main", "shortcut", "activation"]


def test_leaves_are_the_walk_without_paths():
    """leaves(net) lists the layers of iter_layers(net), the same objects in the same
    order, for nested blocks with and without shortcuts; a leaf is its own list."""
    rng = np.random.default_rng(4)
    net = Sequential(block(rng), Sequential(block(rng, shortcut=False), ReLU()), Linear(2, 2, rng))
    assert [id(layer) for layer in leaves(net)] == [id(layer) for _, layer in iter_layers(net)]
    relu = ReLU()
    assert leaves(relu) == [relu]


def test_map_children_copies_the_container_and_replaces_children():
    rng = np.random.default_rng(3)
    res = block(rng)
    mapped = map_children(res, lambda child: ReLU() if isinstance(child, ReLU) else child)
    assert mapped is not res and mapped.main is res.main and mapped.activation is not res.activation


def test_set_training_reaches_every_batchnorm():
    net = Sequential(block(np.random.default_rng(4)), BatchNorm(3))
    set_training(net, False)
    assert all(not layer.training for _, layer in iter_layers(net) if isinstance(layer, BatchNorm))
    with pytest.raises(TypeError, match="training"):
        set_training(net, "no")


@pytest.mark.parametrize("fails", [False, True], ids=["returns", "raises"])
def test_evaluation_mode_puts_each_batchnorm_back_in_its_own_mode(fails):
    """Inside the block every BatchNorm is in evaluation mode; afterwards (also after an
    exception) each has the mode it had before, training or not."""
    net = Sequential(block(np.random.default_rng(4)), BatchNorm(3))
    norms = [layer for _, layer in iter_layers(net) if isinstance(layer, BatchNorm)]
    norms[0].training = False  # one in evaluation mode, the others in training mode
    with pytest.raises(RuntimeError) if fails else contextlib.nullcontext():
        with evaluation_mode(net):
            assert not any(layer.training for layer in norms)
            if fails:
                raise RuntimeError("inside the block")
    assert [layer.training for layer in norms] == [False, True, True]


def test_run_hook_replaces_leaves_and_falls_back_to_forward():
    """The hook sees every leaf in forward order; returning None keeps the leaf's forward."""
    rng = np.random.default_rng(5)
    res = block(rng)
    set_training(res, False)
    x = rng.normal(0, 1, (2, 2, 3, 3))
    seen = []
    out = run(res, x, lambda layer, z: seen.append(type(layer).__name__))
    np.testing.assert_array_equal(out, res.forward(x))
    assert seen == ["Conv2d", "BatchNorm", "ReLU", "Conv2d", "Conv2d", "BatchNorm", "ReLU"]
    zeroed = run(res, x, lambda layer, z: np.zeros_like(z) if isinstance(layer, ReLU) else None)
    assert not zeroed.any()


def test_bad_parts():
    with pytest.raises(TypeError, match="main"):
        Residual(None)
    with pytest.raises(TypeError, match="shortcut"):
        Residual(ReLU(), shortcut=object())
    with pytest.raises(TypeError, match=r"activation.*the class ReLU.*ReLU\(\)"):
        Residual(ReLU(), activation=ReLU)  # the class, not a layer


def test_a_residual_sum_changes_neither_the_input_nor_the_main_paths_output():
    """The residual sum is a new array: a main path that returns a view of its input
    (Flatten) must not have the identity shortcut added into the caller's input, and a
    layer that keeps its output for backward (QCFS) must keep the output it returned."""
    from refsnn.networks.activations import QCFS
    from refsnn.networks.layers import Flatten

    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    before = x.copy()
    out = Residual(Flatten()).forward(x)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(out, 2 * before)
    g = np.ones_like(x)
    alone = QCFS(8.0, levels=4)
    alone.forward(x)
    alone.backward(g)
    block = Residual(QCFS(8.0, levels=4))
    block.forward(x)
    block.backward(g)  # θ's gradient reads the output that QCFS kept
    assert block.main.theta_grad[0] == alone.theta_grad[0]


def test_find_nonfinite_names_the_layer_that_overflows_to_infinity():
    """An infinite output (no NaN yet) is already the first non-finite one: layer 0
    overflows to +inf, and layer 1 turns inf - inf into NaN."""
    from refsnn.networks.containers import find_nonfinite

    rng = np.random.default_rng(0)
    first, second = Linear(1, 2, rng), Linear(2, 1, rng)
    first.weight[...] = 3e38
    first.bias[...] = 0
    second.weight[...] = [[1, -1]]
    net = Sequential(first, second)
    with np.errstate(over="ignore", invalid="ignore"):
        error = find_nonfinite(net, np.full((1, 1), 2, np.float32))  # 6e38 > float32 max
    assert error is not None and "layer 0 " in str(error) and "overflowed" in str(error)


def mismatched_blocks(rng):
    """Residual blocks whose main path and shortcut give different shapes, with an input:
    one output feature against four, and eight channels against one (identity)."""
    return [(Residual(Linear(4, 1, rng)), rng.normal(0, 1, (3, 4)).astype(np.float32), r"\(3, 1\).*\(3, 4\)"),
            (Residual(Conv2d(1, 8, 3, padding=1, rng=rng)), rng.normal(0, 1, (3, 1, 4, 4)).astype(np.float32),
             r"\(3, 8, 4, 4\).*\(3, 1, 4, 4\)")]


def test_residual_refuses_paths_of_different_shapes():
    """main(x) + shortcut(x) must not broadcast: a (B, 1) main path plus a (B, 4) identity
    would give (B, 4). A ValueError names the block and both shapes, in forward, in
    run (every mode of a spiking network runs it) and in batched inference."""
    for res, x, shapes in mismatched_blocks(np.random.default_rng(7)):
        for call in (lambda: res.forward(x), lambda: run(res, x), lambda: Sequential(res).forward(x),
                     lambda: predict(Sequential(res), x)):
            with pytest.raises(ValueError, match=r"Residual block \(main: (Linear|Conv2d).*shortcut: identity\).*"
                                                 + shapes):
                call()

