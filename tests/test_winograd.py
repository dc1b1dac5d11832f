"""Winograd's F(2×2, 3×3) (refsnn.networks.winograd): each kernel equals its twin bit for
bit, the twins chained equal the direct convolution (exactly on small dyadic grids, to
float rounding otherwise), and fast_conv uses it only where ``applies`` says."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refsnn.networks import fast_conv, layer_kernels, winograd
from refsnn.networks.base import no_backward
from refsnn.networks.layers import Conv2d, col2im_reference, conv2d_reference
from refsnn.threads import limit_threads, max_threads

two_cores = pytest.mark.skipif(max_threads() < 2, reason="needs 2 cores")
dtypes = st.sampled_from([np.float32, np.float64])


def _even_geometry(draw_padding, draw_half_height, draw_half_width):
    """An input side for each padding so that the output side (H + 2p − 2) is even."""
    return 2 * draw_half_height + 2 - 2 * draw_padding, 2 * draw_half_width + 2 - 2 * draw_padding


@settings(max_examples=30)
@given(O=st.integers(1, 5), C=st.integers(1, 5), seed=st.integers(0, 99), dtype=dtypes)
def test_filter_kernel_equals_twin(O, C, seed, dtype):
    weight = np.random.default_rng(seed).standard_normal((O, C, 3, 3)).astype(dtype)
    U = np.empty((16, O, C), dtype=dtype)
    layer_kernels._winograd_filter_kernel(weight, dtype(0.5), U)
    np.testing.assert_array_equal(U, winograd.filter_transform_reference(weight))


@settings(max_examples=40)
@given(padding=st.integers(0, 2), half_h=st.integers(1, 4), half_w=st.integers(1, 5), C=st.integers(1, 3),
       n=st.integers(1, 3), start=st.integers(0, 2), seed=st.integers(0, 99), dtype=dtypes)
def test_input_kernel_equals_twin(padding, half_h, half_w, C, n, start, seed, dtype):
    """The kernel transforms images start .. start + n of the batch, padding as it goes."""
    H, W = _even_geometry(padding, half_h, half_w)
    if min(H, W) < 1:
        return
    x = np.random.default_rng(seed).standard_normal((start + n + 1, C, H, W)).astype(dtype)
    th, tw = half_h, half_w
    V = np.full((16, C, n * th * tw), np.nan, dtype=dtype)
    layer_kernels._winograd_input_kernel(x, start, padding, np.empty((2 * th + 2, 2 * tw + 2), dtype),
                                         np.empty((4, 2 * tw + 2), dtype), tuple(V))
    np.testing.assert_array_equal(V, winograd.input_transform_reference(x[start:start + n], padding))


@settings(max_examples=40)
@given(O=st.integers(1, 4), n=st.integers(1, 3), th=st.integers(1, 4), tw=st.integers(1, 5),
       with_extra=st.booleans(), seed=st.integers(0, 99), dtype=dtypes)
def test_output_kernel_equals_twin(O, n, th, tw, with_extra, seed, dtype):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((16, O, n * th * tw)).astype(dtype)
    bias = rng.standard_normal(O).astype(dtype)
    extra = rng.standard_normal(O).astype(dtype) if with_extra else None
    out = np.full((n, O, 2 * th, 2 * tw), np.nan, dtype=dtype)
    layer_kernels._winograd_output_kernel(tuple(M.copy()), bias, np.zeros(0, dtype) if extra is None else extra, out)
    np.testing.assert_array_equal(out, winograd.output_transform_reference(M, bias, (n, 2 * th, 2 * tw), extra))


@settings(max_examples=30)
@given(padding=st.integers(0, 2), half_h=st.integers(1, 4), half_w=st.integers(1, 4), C=st.integers(1, 4),
       O=st.integers(1, 4), B=st.integers(1, 3), seed=st.integers(0, 99))
def test_winograd_twin_is_the_convolution_exactly_on_a_dyadic_grid(padding, half_h, half_w, C, O, B, seed):
    """Integer inputs in [−4, 4], kernels in quarters, integer biases: every transform,
    product and sum is exact in float32, so F(2×2, 3×3) equals the direct sum, bit for bit
    (a wrong entry of Bᵀ, G or Aᵀ, or a misplaced tile, cannot pass)."""
    H, W = _even_geometry(padding, half_h, half_w)
    if min(H, W) < 1:
        return
    rng = np.random.default_rng(seed)
    x = rng.integers(-4, 5, (B, C, H, W)).astype(np.float32)
    weight = (rng.integers(-8, 9, (O, C, 3, 3)) / 4).astype(np.float32)
    bias = rng.integers(-3, 4, O).astype(np.float32)
    np.testing.assert_array_equal(winograd.conv2d_winograd_reference(x, weight, bias, padding),
                                  conv2d_reference(x, weight, bias, 1, padding))


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-5), (np.float64, 1e-13)])
def test_winograd_twin_agrees_with_the_convolution_to_float_rounding(dtype, rtol):
    """On normal data the transforms round: the difference stays a few units in the last
    place of the output's scale (measured: under 1e-6 of it in float32)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 64, 8, 8)).astype(dtype)
    weight = (rng.standard_normal((64, 64, 3, 3)) / 24).astype(dtype)
    bias = rng.standard_normal(64).astype(dtype)
    expected = conv2d_reference(x, weight, bias, 1, 1)
    got = winograd.conv2d_winograd_reference(x, weight, bias, 1)
    assert np.abs(got - expected).max() <= rtol * np.abs(expected).max()
    assert not np.array_equal(got, expected) or dtype == np.float64  # it is other arithmetic


def _always(monkeypatch, on=True):
    """Make ``applies`` hold for every 3×3 stride-1 layer with even outputs (or for none)."""
    for name in ("FROM_TILES", "FROM_DEEP_TILES", "FROM_IMAGE_TILES", "FROM_CHANNELS"):
        monkeypatch.setattr(winograd, name, 1 if on else 10**9)
    monkeypatch.setattr(winograd, "DEEP_CHANNELS", 1 if on else 10**9)


def _winograd_layer(seed=0, C=64, O=64, shape=(5, 4, 4)):
    rng = np.random.default_rng(seed)
    layer = Conv2d(C, O, 3, padding=1, rng=rng)
    layer.bias[:] = rng.standard_normal(O)
    x = rng.standard_normal((shape[0], C) + shape[1:]).astype(np.float32)
    return layer, x


@pytest.mark.parametrize("block_floats, min_columns", [(1, 1), (2**14, 8), (2**18, 256)])
def test_blocked_forward_equals_the_whole_batch_twin(monkeypatch, block_floats, min_columns):
    """fast_conv.forward on a layer Winograd applies to: one image a block, a few, the
    whole batch. Each block runs the twins' operations; its 16 products are narrower than
    the whole batch's, which the BLAS may round otherwise (to float rounding, as
    fast_conv's own blocks)."""
    _always(monkeypatch)
    monkeypatch.setattr(winograd, "BLOCK_FLOATS", block_floats)
    monkeypatch.setattr(winograd, "MIN_COLUMNS", min_columns)
    layer, x = _winograd_layer()
    assert winograd.applies(layer, *x.shape[:1], *x.shape[2:])
    with no_backward():
        out = layer.forward(x)
    expected = winograd.conv2d_winograd_reference(x, layer.weight, layer.bias, 1)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
    np.testing.assert_allclose(out, conv2d_reference(x, layer.weight, layer.bias, 1, 1), rtol=1e-5,
                               atol=1e-5 * np.abs(expected).max())
    assert out.flags.c_contiguous and out.dtype == x.dtype


def test_blocked_forward_is_exact_on_a_dyadic_grid(monkeypatch):
    """What the lossless tests rely on holds on the Winograd path too: small dyadic inputs
    and weights give the direct sum exactly, in any block size."""
    _always(monkeypatch)
    layer, _ = _winograd_layer(1)
    rng = np.random.default_rng(1)
    x = rng.integers(-4, 5, (6, 64, 6, 6)).astype(np.float32) / 4
    layer.weight[...] = rng.integers(-4, 5, layer.weight.shape) / 8
    layer.bias[...] = rng.integers(-4, 5, 64) / 2
    expected = conv2d_reference(x, layer.weight, layer.bias, 1, 1)
    for block_floats, min_columns in ((1, 1), (2**18, 256)):
        monkeypatch.setattr(winograd, "BLOCK_FLOATS", block_floats)
        monkeypatch.setattr(winograd, "MIN_COLUMNS", min_columns)
        with no_backward():
            np.testing.assert_array_equal(layer.forward(x), expected)


def test_winograd_forward_with_offset_is_forward_plus_offset(monkeypatch):
    """The offset is added after the bias, as fast_conv's other paths add it: bit for bit."""
    _always(monkeypatch)
    monkeypatch.setattr(winograd, "MIN_COLUMNS", 1)
    monkeypatch.setattr(winograd, "BLOCK_FLOATS", 1)
    layer, x = _winograd_layer(2)
    offset = np.float32(3) * layer.bias
    with no_backward():
        expected = layer.forward(x)
        expected += offset.reshape(64, 1, 1)
        np.testing.assert_array_equal(fast_conv.forward(layer, x, offset), expected)


@two_cores
def test_winograd_forward_on_two_threads_equals_one_thread_bit_for_bit(monkeypatch):
    _always(monkeypatch)
    monkeypatch.setattr(winograd, "MIN_COLUMNS", 1)
    monkeypatch.setattr(winograd, "BLOCK_FLOATS", 1)  # one image a block
    layer, x = _winograd_layer(3, shape=(7, 4, 6))
    outs = []
    for threads in (1, 2):
        with limit_threads(threads), no_backward():
            outs.append(layer.forward(x))
    np.testing.assert_array_equal(outs[0], outs[1])


@pytest.mark.parametrize("C, O, k, stride, padding, batch, H, expected", [
    (64, 64, 3, 1, 1, 16, 8, True),      # deep: 16 images of 16 tiles, 256
    (64, 64, 3, 1, 1, 15, 8, False),     # 240 tiles
    (512, 512, 3, 1, 1, 64, 4, True),    # deep, small maps: 256 tiles
    (64, 64, 3, 1, 1, 1, 32, True),      # one image of 256 tiles
    (16, 16, 3, 1, 1, 4, 32, True),      # shallow: 4 images of 256 tiles, 1024
    (16, 16, 3, 1, 1, 3, 32, False),     # 768 tiles
    (32, 32, 3, 1, 1, 16, 16, True),     # 16 images of 64 tiles
    (32, 32, 3, 1, 1, 256, 14, False),   # 49 tiles an image (7×7): too few in one image
    (16, 32, 3, 1, 1, 256, 4, False),    # the demo's second layer: 4 tiles an image
    (15, 16, 3, 1, 1, 64, 32, False),    # too few input channels
    (64, 15, 3, 1, 1, 64, 32, False),    # too few output channels
    (63, 64, 3, 1, 1, 64, 8, False),     # not deep: 16 tiles an image
    (64, 64, 3, 2, 1, 64, 16, False),    # stride 2
    (64, 64, 1, 1, 0, 64, 8, False),     # 1×1
    (64, 64, 3, 1, 0, 64, 9, False),     # an odd output side (7)
    (64, 64, 3, 1, 0, 64, 10, True),     # padding 0, output side 8
])
def test_which_convolutions_run_winograd(C, O, k, stride, padding, batch, H, expected):
    layer = Conv2d(C, O, k, stride, padding, rng=np.random.default_rng(0))
    assert winograd.applies(layer, batch, H, H) == expected


def test_the_demo_networks_never_run_winograd():
    """The demo's CNN and the experiments' small networks (8×8 digits) have maps too small
    for their channels, at any batch: their trained results keep the direct
    convolution's arithmetic."""
    from refsnn.networks.activations import QCFS
    from refsnn.networks.containers import iter_layers
    from refsnn.networks.models import build_cnn, resnet_mini, vgg_mini

    nets = [build_cnn(QCFS, np.random.default_rng(0)), resnet_mini(QCFS), vgg_mini(QCFS)]
    convs = [layer for net in nets for _, layer in iter_layers(net) if isinstance(layer, Conv2d)]
    assert len(convs) > 5
    assert max(min(layer.in_channels, layer.out_channels) for layer in convs) >= winograd.FROM_CHANNELS
    for layer in convs:  # inputs of at most 8×8 (the first layers'); the later ones are smaller
        assert not winograd.applies(layer, 10**6, 8, 8), layer


def test_backward_after_a_winograd_forward_is_the_direct_paths(monkeypatch):
    """A training forward pass that does not keep its patches may run Winograd; the
    backward pass gathers the patches again, so its gradients are those after a direct
    forward pass, bit for bit (the input gradient here by col2im in both)."""
    monkeypatch.setattr(winograd, "applies_backward", lambda *args: False)
    layer, x = _winograd_layer(4)
    g = np.random.default_rng(4).standard_normal((5, 64, 4, 4)).astype(np.float32)
    grads = []
    for on in (True, False):
        _always(monkeypatch, on)
        monkeypatch.setattr(fast_conv, "KEEP_PATCHES_FLOATS", 0)
        layer.forward(x)
        assert (layer._patches is None)
        dx = layer.backward(g)
        grads.append((dx, layer.weight_grad.copy(), layer.bias_grad.copy()))
    for first, second in zip(*grads):
        np.testing.assert_array_equal(first, second)


def test_planes_are_apart_by_a_cache_line_past_4_kib():
    """The 16 planes are one array (16, rows, columns) whose planes start 64 bytes past a
    multiple of 4 KiB apart, for any rows and columns."""
    for rows, columns, dtype in ((64, 512, np.float32), (3, 5, np.float64), (512, 256, np.float32)):
        planes = winograd._planes(rows, columns, dtype)
        assert planes.shape == (16, rows, columns) and planes.dtype == dtype
        assert planes.strides[0] % 4096 == 64
        assert planes.strides[0] >= rows * columns * np.dtype(dtype).itemsize + 64


@settings(max_examples=60)
@given(batch=st.integers(1, 300), tiles=st.integers(1, 300), channels=st.integers(2, 1024))
def test_blocks_hold_the_budget_or_enough_tiles(batch, tiles, channels):
    n = winograd.block_images(batch, tiles, channels)
    assert 1 <= n <= batch
    if 16 * n * tiles * channels > winograd.BLOCK_FLOATS and n > 1:  # over the budget only for the columns
        assert (n - 1) * tiles < winograd.MIN_COLUMNS


def _col2im_gradient(layer, g4):
    """col2im(Wᵀ g): the input gradient of the direct path's twins."""
    B, O, Ho, Wo = g4.shape
    dcols = g4.transpose(0, 2, 3, 1).reshape(B * Ho * Wo, O) @ layer.weight.reshape(O, -1)
    shape = (B, layer.in_channels, Ho + 2 - 2 * layer.padding, Wo + 2 - 2 * layer.padding)
    return col2im_reference(dcols, shape, 3, 1, layer.padding)


@pytest.mark.parametrize("padding", [0, 1, 2])
def test_input_gradient_is_col2im_exactly_on_a_dyadic_grid(padding):
    """The input gradient by F(2×2, 3×3) (the output gradient correlated with the turned,
    transposed kernels) is col2im(Wᵀ g), bit for bit when every sum is exact: a kernel not
    turned, not transposed, or padded wrongly cannot pass."""
    rng = np.random.default_rng(padding)
    layer = Conv2d(3, 5, 3, padding=padding, rng=rng)
    layer.weight[...] = rng.integers(-8, 9, layer.weight.shape) / 4
    Ho = 6 + 2 * padding - 2
    g4 = rng.integers(-4, 5, (2, 5, Ho, Ho)).astype(np.float32)
    np.testing.assert_array_equal(winograd.input_gradient(layer, g4), _col2im_gradient(layer, g4))


def test_input_gradient_agrees_with_col2im_to_float_rounding():
    layer, _ = _winograd_layer(5, shape=(2, 8, 8))
    g4 = np.random.default_rng(5).standard_normal((2, 64, 8, 8)).astype(np.float32)
    expected = _col2im_gradient(layer, g4)
    np.testing.assert_allclose(winograd.input_gradient(layer, g4), expected, rtol=1e-5,
                               atol=1e-5 * np.abs(expected).max())


@pytest.mark.parametrize("keep", [0, 2**20])  # patches gathered again block by block, or kept
def test_backward_by_winograd_matches_finite_differences(monkeypatch, keep):
    """Conv2d.backward with its input gradient by F(2×2, 3×3), in float64, against central
    differences; the weight and bias gradients are the direct path's."""
    from nets import numerical_grad

    _always(monkeypatch)
    monkeypatch.setattr(fast_conv, "KEEP_PATCHES_FLOATS", keep)
    rng = np.random.default_rng(6)
    layer = Conv2d(3, 4, 3, padding=1, rng=rng, dtype=np.float64)  # deep enough under _always
    layer.bias[:] = rng.standard_normal(4)
    x = rng.standard_normal((2, 3, 4, 6))
    R = rng.standard_normal((2, 4, 4, 6))
    used = []
    original = winograd.input_gradient
    monkeypatch.setattr(winograd, "input_gradient", lambda *a: used.append(1) or original(*a))
    layer.forward(x)
    layer.backward(R)  # a training pass: the next forward pass keeps patches if they fit
    layer.forward(x)
    dx = layer.backward(R)
    assert len(used) == 2
    loss = lambda: float(np.sum(layer.forward(x) * R))  # noqa: E731
    np.testing.assert_allclose(dx, numerical_grad(loss, x), rtol=1e-6, atol=1e-8)
    grads = {k: g.copy() for k, g in layer.grads().items()}
    for name, p in layer.params().items():
        np.testing.assert_allclose(grads[name], numerical_grad(loss, p), rtol=1e-6, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("C, O, padding, batch, H, expected", [
    (64, 64, 1, 16, 8, True),      # the forward pass's rule, channels swapped
    (64, 32, 1, 64, 16, False),    # not deep: the direct backward pass is as fast
    (128, 64, 1, 1, 32, True),     # one image of 256 tiles
    (64, 64, 1, 15, 8, False),
    (64, 64, 3, 64, 8, False),     # padding 3: the gradient's convolution would need padding −1
    (16, 16, 1, 64, 8, False),     # 16 tiles an image, not deep
])
def test_which_input_gradients_run_winograd(C, O, padding, batch, H, expected):
    layer = Conv2d(C, O, 3, 1, padding, rng=np.random.default_rng(0))
    assert winograd.applies_backward(layer, batch, H, H) == expected


@two_cores
@pytest.mark.parametrize("batch", [1, 3])  # one block; fewer blocks than threads, or as many
def test_winograd_steps_split_within_a_block_give_the_same_bits(monkeypatch, batch):
    """A batch of fewer blocks than threads splits each block's transforms by channel and
    its products by tile position: the same bits as one thread."""
    _always(monkeypatch)
    monkeypatch.setattr(winograd, "MIN_COLUMNS", 10**6)  # the whole batch in one block
    layer, x = _winograd_layer(7, C=5, O=7, shape=(batch, 6, 4))
    offset = np.arange(7, dtype=np.float32)
    outs = []
    for threads in (1, 2):
        with limit_threads(threads), no_backward():
            outs.append(fast_conv.forward(layer, x, offset))
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_allclose(outs[0], conv2d_reference(x, layer.weight, layer.bias, 1, 1) + offset[:, None, None],
                               rtol=1e-5, atol=1e-5)
