"""Tests for refsnn.networks.layers (the activation layers: tests/test_activations.py).

Invariants, one test each where possible:

* every backward pass equals central finite differences of its forward pass (float64);
* Conv2d's im2col forward equals a naive six-fold loop;
* every compiled kernel (im2col, col2im, average pooling) equals its readable twin bit for
  bit, and the blocked convolution equals the whole-batch one (float rounding apart),
  forward and backward, on one thread or two (the forward pass the same bits);
* average pooling commutes with the mean over time, max pooling does not (why refsnn has
  no max pooling);
* the same seed builds the same network, and bad input raises ValueError naming the layer.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nets import numerical_grad

from refsnn.networks import fast_conv, layer_kernels
from refsnn.networks.activations import QCFS, ReLU
from refsnn.networks.base import no_backward
from refsnn.networks.containers import Sequential
from refsnn.networks.layers import (
    AvgPool2d, Conv2d, Flatten, Linear, avg_pool2d_reference, col2im_reference, conv2d_reference,
    conv_output_reference, im2col_reference,
)
from refsnn.threads import limit_threads, max_threads

F64 = np.float64


def check_layer_grads(layer, x, seed=0):
    """Compare backward() with finite differences of L = Σ out·R for input and parameters."""
    rng = np.random.default_rng(seed)
    R = rng.standard_normal(layer.forward(x).shape)
    loss = lambda: float(np.sum(layer.forward(x) * R))  # noqa: E731
    layer.forward(x)
    dx = layer.backward(R)
    grads = {k: g.copy() for k, g in layer.grads().items()}
    np.testing.assert_allclose(dx, numerical_grad(loss, x), rtol=1e-6, atol=1e-8)
    for name, p in layer.params().items():
        np.testing.assert_allclose(grads[name], numerical_grad(loss, p), rtol=1e-6, atol=1e-8,
                                   err_msg=name)


# --------------------------------------------------------------------------- gradients


def test_linear_gradients():
    rng = np.random.default_rng(1)
    layer = Linear(5, 3, rng, dtype=F64)
    layer.bias[:] = rng.standard_normal(3)
    check_layer_grads(layer, rng.standard_normal((4, 5)))


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), (1, 1), (3, 2)])
def test_conv2d_gradients(stride, padding):
    rng = np.random.default_rng(2)
    layer = Conv2d(2, 3, 3, stride=stride, padding=padding, rng=rng, dtype=F64)
    layer.bias[:] = rng.standard_normal(3)
    check_layer_grads(layer, rng.standard_normal((2, 2, 7, 6)))


@pytest.mark.parametrize("shape", [(2, 3, 4, 6), (1, 2, 5, 7)])  # the second drops a row and a column
def test_avgpool_gradients(shape):
    check_layer_grads(AvgPool2d(2), np.random.default_rng(3).standard_normal(shape))


def test_sequential_gradients():
    """A whole ReLU CNN in float64: chaining the backward passes is the chain rule."""
    rng = np.random.default_rng(4)
    net = Sequential(Conv2d(1, 3, 3, padding=1, rng=rng, dtype=F64), ReLU(), AvgPool2d(2),
                     Flatten(), Linear(3 * 3 * 3, 4, rng, dtype=F64))
    check_layer_grads(net, rng.standard_normal((2, 1, 6, 6)))


# --------------------------------------------------------------------------- convolution


def naive_conv2d(x, w, b, stride, padding):
    """y[b,o,i,j] = b[o] + Σ_{c,u,v} w[o,c,u,v] · xpad[b,c,s·i+u,s·j+v], as loops."""
    B, C, H, W = x.shape
    O, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    Ho, Wo = (H + 2 * padding - k) // stride + 1, (W + 2 * padding - k) // stride + 1
    y = np.zeros((B, O, Ho, Wo))
    for n in range(B):
        for o in range(O):
            for i in range(Ho):
                for j in range(Wo):
                    patch = xp[n, :, stride * i:stride * i + k, stride * j:stride * j + k]
                    y[n, o, i, j] = b[o] + np.sum(w[o] * patch)
    return y


@settings(max_examples=30)
@given(k=st.integers(1, 4), stride=st.integers(1, 3), padding=st.integers(0, 2),
       H=st.integers(4, 9), W=st.integers(4, 9), C=st.integers(1, 3), seed=st.integers(0, 99))
def test_conv2d_forward_equals_naive_loops(k, stride, padding, H, W, C, seed):
    rng = np.random.default_rng(seed)
    layer = Conv2d(C, 2, k, stride=stride, padding=padding, rng=rng, dtype=F64)
    layer.bias[:] = rng.standard_normal(2)
    x = rng.standard_normal((2, C, H, W))
    expected = naive_conv2d(x, layer.weight, layer.bias, stride, padding)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)
    assert layer.forward(x).shape[2:] == layer.output_shape(H, W)


# --------------------------------------------------------------------------- kernels and twins

conv_geometry = dict(k=st.integers(1, 4), stride=st.integers(1, 3), padding=st.integers(0, 2),
                     H=st.integers(4, 9), W=st.integers(4, 9), C=st.integers(1, 3), seed=st.integers(0, 99))


@settings(max_examples=40)
@given(**conv_geometry, dtype=st.sampled_from([np.float32, np.float64]), start=st.integers(0, 2))
def test_im2col_kernel_equals_twin(k, stride, padding, H, W, C, seed, dtype, start):
    """The compiled gather writes the transpose of im2col_reference's matrix, for the
    images start.. of the batch, padding with zeros as it goes."""
    x = np.random.default_rng(seed).standard_normal((3, C, H, W)).astype(dtype)
    Ho, Wo = (H + 2 * padding - k) // stride + 1, (W + 2 * padding - k) // stride + 1
    n = 3 - start
    cols = np.full((C * k * k, n * Ho * Wo), np.nan, dtype=dtype)  # every entry must be written
    layer_kernels._im2col_kernel(x, start, k, stride, padding, Ho, Wo, cols)
    np.testing.assert_array_equal(cols, im2col_reference(x[start:], k, stride, padding).T)


@settings(max_examples=40)
@given(k=st.integers(1, 4), padding=st.integers(0, 2), H=st.integers(1, 9), W=st.integers(12, 40),
       C=st.integers(1, 3), seed=st.integers(0, 99), start=st.integers(0, 2))
def test_long_row_im2col_equals_twin(k, padding, H, W, C, seed, start):
    """At stride 1 with output rows of LONG_ROW values or more, the gather copies the
    taps inside the image as one run per row: the same matrix as im2col_reference's,
    transposed (rows just below LONG_ROW take the per-value path and agree too)."""
    H = max(H, k - 2 * padding)
    x = np.random.default_rng(seed).standard_normal((3, C, H, W)).astype(np.float32)
    Ho, Wo = H + 2 * padding - k + 1, W + 2 * padding - k + 1
    expected = im2col_reference(x[start:], k, 1, padding).T
    for kernel in (layer_kernels._im2col_kernel, layer_kernels._im2col_long_rows):
        cols = np.full((C * k * k, (3 - start) * Ho * Wo), np.nan, dtype=np.float32)
        if kernel is layer_kernels._im2col_kernel:
            kernel(x, start, k, 1, padding, Ho, Wo, cols)
        else:
            kernel(x, start, k, padding, Ho, Wo, cols)
        np.testing.assert_array_equal(cols, expected)


@settings(max_examples=40)
@given(**conv_geometry, dtype=st.sampled_from([np.float32, np.float64]))
def test_col2im_kernel_equals_twin(k, stride, padding, H, W, C, seed, dtype):
    """Bit for bit: the same terms added in the same (tap) order, on random floats."""
    rng = np.random.default_rng(seed)
    B = 2
    Ho, Wo = (H + 2 * padding - k) // stride + 1, (W + 2 * padding - k) // stride + 1
    dcols = rng.standard_normal((B * Ho * Wo, C * k * k)).astype(dtype)
    dx = np.zeros((B, C, H, W), dtype=dtype)
    layer_kernels._col2im_kernel(np.ascontiguousarray(dcols.T), k, stride, padding, Ho, Wo, dx)
    np.testing.assert_array_equal(dx, col2im_reference(dcols, (B, C, H, W), k, stride, padding))


@settings(max_examples=30)
@given(k=st.integers(1, 4), H=st.integers(4, 11), W=st.integers(4, 11), seed=st.integers(0, 99),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_avg_pool_kernel_equals_twin(k, H, W, seed, dtype):
    """AvgPool2d.forward (the compiled kernel) equals the sum of strided slices / k², bit
    for bit, also when rows and columns are left over."""
    x = np.random.default_rng(seed).standard_normal((2, 3, H, W)).astype(dtype)
    out = AvgPool2d(k).forward(x)
    expected = avg_pool2d_reference(x, k)
    assert out.dtype == expected.dtype == dtype
    np.testing.assert_array_equal(out, expected)
    # and the mean of each window (a different summation order: float rounding apart)
    Ho, Wo = H // k, W // k
    means = x[:, :, :Ho * k, :Wo * k].reshape(2, 3, Ho, k, Wo, k).mean(axis=(3, 5))
    np.testing.assert_allclose(out, means, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)


@settings(max_examples=30)
@given(H=st.integers(2, 11), W=st.integers(2, 11), seed=st.integers(0, 99),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_avg_pool_2x2_kernel_equals_general_kernel_and_twin(H, W, seed, dtype):
    """The unrolled 2×2 kernel (which multiplies by ¼) equals the general kernel (which
    divides by 4) and the twin bit for bit, with leftover rows and columns, zeros of
    both signs and numbers that a division by 4 makes subnormal."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, H, W)).astype(dtype)
    x.flat[::5] = 0.0
    x.flat[1::7] = -0.0
    x.flat[2::11] *= np.finfo(dtype).tiny  # the quarter of these is subnormal
    Ho, Wo = H // 2, W // 2
    unrolled = np.full((2, 3, Ho, Wo), np.nan, dtype=dtype)
    general = np.full((2, 3, Ho, Wo), np.nan, dtype=dtype)
    layer_kernels._avg_pool_2x2_kernel(x, dtype(0.25), unrolled)
    layer_kernels._avg_pool_kernel(x, 2, dtype(4), general)
    np.testing.assert_array_equal(unrolled, general)
    np.testing.assert_array_equal(unrolled, avg_pool2d_reference(x, 2))
    np.testing.assert_array_equal(AvgPool2d(2).forward(x), unrolled)


@settings(max_examples=40)
@given(O=st.integers(1, 5), n=st.integers(1, 6), R=st.integers(1, 17), images_inner=st.booleans(),
       with_extra=st.booleans(), seed=st.integers(0, 99), dtype=st.sampled_from([np.float32, np.float64]))
def test_conv_output_kernel_equals_twin(O, n, R, images_inner, with_extra, seed, dtype):
    """The copy of a block's matrix product into the output, bias (and an extra offset)
    added, equals conv_output_reference bit for bit in both column orders, and fills
    every entry."""
    rng = np.random.default_rng(seed)
    product = rng.standard_normal((O, n * R)).astype(dtype)
    bias = rng.standard_normal(O).astype(dtype)
    extra = (rng.standard_normal(O) * 1000).astype(dtype) if with_extra else None
    out = np.full((n, O, R), np.nan, dtype=dtype)
    layer_kernels._conv_output_kernel(product, bias, np.zeros(0, dtype) if extra is None else extra, images_inner, out)
    np.testing.assert_array_equal(out, conv_output_reference(product, bias, n, images_inner, extra))
    # the twin itself: entry (b, o, r) comes from column b·R + r, or r·n + b
    b, o, r = n - 1, O - 1, R - 1
    column = r * n + b if images_inner else b * R + r
    assert out[b, o, r] == (product[o, column] + bias[o]) + (0 if extra is None else extra[o])


@settings(max_examples=40)
@given(stride=st.integers(1, 3), padding=st.integers(0, 2), H=st.integers(3, 9), W=st.integers(3, 9),
       C=st.integers(1, 3), seed=st.integers(0, 99), dtype=st.sampled_from([np.float32, np.float64]),
       start=st.integers(0, 2))
def test_position_major_im2col_kernel_equals_twin(stride, padding, H, W, C, seed, dtype, start):
    """The position-major gather (k = 3) writes im2col_reference's rows themselves, for the
    images start.. of the batch, and every entry of them; its scratch may hold anything."""
    x = np.random.default_rng(seed).standard_normal((3, C, H, W)).astype(dtype)
    Ho, Wo = (H + 2 * padding - 3) // stride + 1, (W + 2 * padding - 3) // stride + 1
    patches = np.full(((3 - start) * Ho * Wo, C * 9), np.nan, dtype=dtype)
    padded = np.full((C, H + 2 * padding, W + 2 * padding), np.nan, dtype=dtype)
    layer_kernels._im2col_positions_kernel(x, start, stride, padding, Ho, Wo, padded, patches)
    np.testing.assert_array_equal(patches, im2col_reference(x[start:], 3, stride, padding))


@settings(max_examples=40)
@given(O=st.integers(1, 5), n=st.integers(1, 4), R=st.integers(1, 19), with_extra=st.booleans(),
       seed=st.integers(0, 99), dtype=st.sampled_from([np.float32, np.float64]))
def test_position_major_output_kernel_equals_twin(O, n, R, with_extra, seed, dtype):
    """The copy of a position-major product (n·R, O) into the output, eight positions at a
    time and the rest one by one, equals conv_output_reference of its transpose bit for
    bit, and fills every entry."""
    rng = np.random.default_rng(seed)
    product = rng.standard_normal((n * R, O)).astype(dtype)
    bias = rng.standard_normal(O).astype(dtype)
    extra = (rng.standard_normal(O) * 1000).astype(dtype) if with_extra else None
    out = np.full((n, O, R), np.nan, dtype=dtype)
    layer_kernels._conv_output_positions_kernel(product, bias, np.zeros(0, dtype) if extra is None else extra, out)
    np.testing.assert_array_equal(out, conv_output_reference(product.T, bias, n, False, extra))


@pytest.mark.parametrize("in_channels, out_channels, kernel, expected", [
    (8, 16, 3, True), (16, 63, 3, True), (7, 16, 3, False), (16, 64, 3, False), (16, 16, 1, False)])
def test_which_convolutions_multiply_position_major_patches(in_channels, out_channels, kernel, expected):
    layer = Conv2d(in_channels, out_channels, kernel, rng=np.random.default_rng(0))
    assert fast_conv.by_positions(layer, in_channels) == expected


@pytest.mark.parametrize("dyadic", [False, True])
@pytest.mark.parametrize("block_floats", [1, 2**12, 2**18])  # blocks of 1 image, of a few, the whole batch
def test_position_major_forward_equals_the_patch_columns_one(monkeypatch, dyadic, block_floats):
    """A convolution that multiplies position-major patches (8 → 4 channels) gives what the
    patch-column product gives: to float rounding (the BLAS may order a row's terms
    otherwise), exactly when every sum is exact; and what conv2d_reference gives."""
    monkeypatch.setattr(fast_conv, "POSITION_BLOCK_FLOATS", block_floats)
    monkeypatch.setattr(fast_conv, "GEMM_COLUMNS", 1)
    monkeypatch.setattr(fast_conv, "NARROW_OUTPUT", 3)  # these small outputs are not narrow
    gathers = []
    kernel = layer_kernels._im2col_positions_kernel
    monkeypatch.setattr(layer_kernels, "_im2col_positions_kernel", lambda *a: gathers.append(1) or kernel(*a))
    for stride in (1, 2):
        layer, x, _ = _conv_case(13, dyadic=dyadic, shape=(5, 8, 7, 6), stride=stride)
        assert fast_conv.by_positions(layer, 8)
        with no_backward():
            out = layer.forward(x)
            assert gathers, "the position-major path did not run"
            gathers.clear()
            monkeypatch.setattr(fast_conv, "POSITIONS_BELOW", 0)  # the patch columns instead
            columns = layer.forward(x)
            assert not gathers
            monkeypatch.setattr(fast_conv, "POSITIONS_BELOW", 64)
        if dyadic:
            np.testing.assert_array_equal(out, columns)
        np.testing.assert_allclose(out, columns, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(out, conv2d_reference(x, layer.weight, layer.bias, stride, 1), rtol=1e-5, atol=1e-5)
        assert out.flags.c_contiguous and out.dtype == x.dtype


@pytest.mark.parametrize("narrow_output, in_channels", [(0, 2), (100, 2), (0, 8)])  # the last: position-major
def test_conv_forward_with_offset_is_forward_plus_offset(monkeypatch, narrow_output, in_channels):
    """fast_conv.forward(layer, x, e) is forward(x) + e per channel, bit for bit (the
    offset is added after the bias, as a second pass would add it); a wrong number of
    offsets is a ValueError naming the layer."""
    monkeypatch.setattr(fast_conv, "NARROW_OUTPUT", narrow_output)
    monkeypatch.setattr(fast_conv, "CONV_BLOCK_FLOATS", 100)  # several blocks
    monkeypatch.setattr(fast_conv, "POSITION_BLOCK_FLOATS", 100)
    monkeypatch.setattr(fast_conv, "GEMM_COLUMNS", 1)
    rng = np.random.default_rng(3)
    layer = Conv2d(in_channels, 3, 3, padding=1, rng=rng)
    layer.bias[:] = rng.standard_normal(3)
    x = rng.standard_normal((5, in_channels, 6, 6)).astype(np.float32)
    offset = np.float32(63) * layer.bias
    expected = layer.forward(x)
    expected += offset.reshape(3, 1, 1)
    np.testing.assert_array_equal(fast_conv.forward(layer, x, offset), expected)
    np.testing.assert_array_equal(fast_conv.forward(layer, x), layer.forward(x))
    with pytest.raises(ValueError, match=r"Conv2d.*offset must have 3 values"):
        fast_conv.forward(layer, x, np.ones(4))


@settings(max_examples=40)
@given(**conv_geometry, dtype=st.sampled_from([np.float32, np.float64]), n=st.integers(1, 3))
def test_images_inner_im2col_kernel_equals_twin(k, stride, padding, H, W, C, seed, dtype, n):
    """The gather for narrow outputs writes im2col_reference's entries, transposed, with
    the columns in (i, j, b) order; the images come with the batch axis last."""
    x = np.random.default_rng(seed).standard_normal((n, C, H, W)).astype(dtype)
    Ho, Wo = (H + 2 * padding - k) // stride + 1, (W + 2 * padding - k) // stride + 1
    cols = np.full((C * k * k, Ho * Wo * n), np.nan, dtype=dtype)
    layer_kernels._im2col_images_inner_kernel(np.ascontiguousarray(x.transpose(1, 2, 3, 0)), k, stride, padding,
                                              Ho, Wo, cols)
    expected = im2col_reference(x, k, stride, padding).T.reshape(-1, n, Ho * Wo).transpose(0, 2, 1)
    np.testing.assert_array_equal(cols, expected.reshape(-1, Ho * Wo * n))


@pytest.mark.parametrize("narrow_output", [0, 100])  # the (b, i, j) and the images-inner gather
@pytest.mark.parametrize("block_floats", [1, 40, 2**16])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocked_conv2d_equals_whole_batch_reference(monkeypatch, block_floats, dtype, narrow_output):
    """The forward pass in blocks of images (1 image, a few, all at once) equals the
    whole-batch matrix product of conv2d_reference to float rounding (BLAS may order a
    row's products differently in a smaller matrix), and the backward pass is unchanged."""
    monkeypatch.setattr(fast_conv, "CONV_BLOCK_FLOATS", block_floats)
    monkeypatch.setattr(fast_conv, "GEMM_COLUMNS", 1)  # blocks of one image too
    monkeypatch.setattr(fast_conv, "NARROW_OUTPUT", narrow_output)
    rng = np.random.default_rng(5)
    layer = Conv2d(3, 4, 3, stride=1, padding=1, rng=rng, dtype=dtype)
    layer.bias[:] = rng.standard_normal(4)
    x = rng.standard_normal((7, 3, 5, 6)).astype(dtype)
    out = layer.forward(x)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, conv2d_reference(x, layer.weight, layer.bias, 1, 1), rtol=tol, atol=tol)
    assert out.dtype == dtype and out.flags.c_contiguous


two_cores = pytest.mark.skipif(max_threads() < 2, reason="needs 2 cores")


def _conv_case(seed, dtype=np.float32, dyadic=False, shape=(9, 3, 7, 7), stride=1):
    """A Conv2d (3 → 4 channels, k = 3), an input batch and an output gradient; with
    ``dyadic`` every value is a small multiple of 1/8, so that every sum is exact."""
    rng = np.random.default_rng(seed)
    layer = Conv2d(shape[1], 4, 3, stride=stride, padding=1, rng=rng, dtype=dtype)
    draw = (lambda size: rng.integers(-8, 9, size) / 8) if dyadic else rng.standard_normal
    layer.weight[...] = draw(layer.weight.shape)
    layer.bias[...] = draw(4)
    x = draw(shape).astype(dtype)
    Ho, Wo = layer.output_shape(*shape[2:])
    return layer, x, draw((shape[0], 4, Ho, Wo)).astype(dtype)


@two_cores
@pytest.mark.parametrize("narrow_output", [0, 100])
@pytest.mark.parametrize("keep", [0, 2**20])
@pytest.mark.parametrize("in_channels", [3, 8])  # patch columns; position-major patches unless kept
def test_conv_forward_on_two_threads_equals_one_thread_bit_for_bit(monkeypatch, narrow_output, keep, in_channels):
    """With 2 threads each thread takes a run of the blocks and multiplies them as one
    thread would: the output, and the patches kept for training, are the same bits."""
    monkeypatch.setattr(fast_conv, "CONV_BLOCK_FLOATS", 40)  # several blocks of one image
    monkeypatch.setattr(fast_conv, "POSITION_BLOCK_FLOATS", 40)
    monkeypatch.setattr(fast_conv, "GEMM_COLUMNS", 1)
    monkeypatch.setattr(fast_conv, "NARROW_OUTPUT", narrow_output)
    monkeypatch.setattr(fast_conv, "KEEP_PATCHES_FLOATS", keep)
    layer, x, g = _conv_case(11, shape=(9, in_channels, 7, 7))
    results = []
    for threads in (1, 2):
        with limit_threads(threads):
            layer.forward(x)
            layer.backward(g)  # so that the next forward pass is a training one
            out = layer.forward(x)
            patches = None if layer._patches is None else layer._patches[0].copy()
            results.append((out, patches))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert (results[0][1] is None) == (keep == 0)
    if keep:
        np.testing.assert_array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dyadic", [False, True])
@pytest.mark.parametrize("stride, block_floats", [(1, 100), (2, 100), (1, 2**12)])  # 1 image a block, or 2
def test_backward_in_blocks_equals_the_whole_batch_product(monkeypatch, threads, dyadic, stride, block_floats):
    """A batch too large to keep its patches goes backward block by block, on 1 or 2
    threads: the input and bias gradients equal the whole-batch pass of a batch small
    enough to keep them, bit for bit; the weight gradient (one product per block, added
    up) equals it to float rounding, and exactly when every sum is exact (dyadic)."""
    if threads > max_threads():
        pytest.skip("needs 2 cores")
    monkeypatch.setattr(fast_conv, "CONV_BLOCK_FLOATS", block_floats)
    monkeypatch.setattr(fast_conv, "GEMM_COLUMNS", 1)
    monkeypatch.setattr(fast_conv, "BACKWARD_COLUMNS", 1)
    layer, x, g = _conv_case(12, dyadic=dyadic, shape=(7, 3, 8, 8), stride=stride)
    assert fast_conv.block_images(7, 64 // stride**2, 27) == (1 if block_floats == 100 else 2)
    results = {}
    for keep in (2**20, 0):  # the whole batch, then in blocks
        monkeypatch.setattr(fast_conv, "KEEP_PATCHES_FLOATS", keep)
        with limit_threads(threads):
            layer.forward(x)
            dx = layer.backward(g)
        results[keep] = (dx, layer.weight_grad.copy(), layer.bias_grad.copy())
    (dx, dw, db), (dx_blocks, dw_blocks, db_blocks) = results[2**20], results[0]
    np.testing.assert_array_equal(dx_blocks, dx)
    np.testing.assert_array_equal(db_blocks, db)
    if dyadic:
        np.testing.assert_array_equal(dw_blocks, dw)
    else:
        np.testing.assert_allclose(dw_blocks, dw, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dx, conv_backward_reference(layer, x, g)[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dw, conv_backward_reference(layer, x, g)[1], rtol=1e-5, atol=1e-5)


def conv_backward_reference(layer, x, g):
    """Input and weight gradients of a Conv2d from the readable twins: dcols = g·W,
    ∇W = gᵀ·cols (rows (b, i, j)), dx = col2im(dcols)."""
    k, s, p = layer.kernel_size, layer.stride, layer.padding
    O = layer.out_channels
    g_rows = g.transpose(0, 2, 3, 1).reshape(-1, O).astype(np.float64)  # rows (b, i, j)
    cols = im2col_reference(x.astype(np.float64), k, s, p)
    dcols = g_rows @ layer.weight.reshape(O, -1).astype(np.float64)
    return col2im_reference(dcols, x.shape, k, s, p), (g_rows.T @ cols).reshape(layer.weight.shape)


@pytest.mark.parametrize("narrow_output", [0, 100])
@pytest.mark.parametrize("block_floats", [40, 2**16])
def test_backward_with_kept_patches_equals_backward_with_gathered_ones(monkeypatch, block_floats, narrow_output):
    """While training (forward after a backward), a small batch keeps its patch matrix
    from forward for backward (written block by block); a large one gathers it again,
    and inference (forward without backward) keeps nothing. Gradients are the same bit
    for bit, and a batch never reuses an earlier batch's patches."""
    monkeypatch.setattr(fast_conv, "CONV_BLOCK_FLOATS", block_floats)
    monkeypatch.setattr(fast_conv, "GEMM_COLUMNS", 1)  # blocks of one image too
    monkeypatch.setattr(fast_conv, "NARROW_OUTPUT", narrow_output)
    rng = np.random.default_rng(8)
    layer = Conv2d(3, 4, 3, stride=2, padding=1, rng=rng)
    x = rng.standard_normal((6, 3, 7, 7)).astype(np.float32)
    g = rng.standard_normal((6, 4, 4, 4)).astype(np.float32)
    results = []
    for keep in (0, 2**20):
        monkeypatch.setattr(fast_conv, "KEEP_PATCHES_FLOATS", keep)
        layer.forward(rng.standard_normal((2, 3, 7, 7)).astype(np.float32))  # an earlier, other batch
        layer.forward(x)
        assert layer._patches is None  # inference: the last forward had no backward
        layer.backward(g)
        layer.forward(x)  # training
        assert (layer._patches is None) == (keep == 0)
        dx = layer.backward(g)
        results.append((dx, layer.weight_grad.copy(), layer.bias_grad.copy()))
    (dx_gathered, w_gathered, b_gathered), (dx_kept, w_kept, b_kept) = results
    np.testing.assert_array_equal(dx_kept, dx_gathered)
    np.testing.assert_array_equal(b_kept, b_gathered)
    # a narrow output (W_out = 4) keeps its patches in (block, i, j, b) order: the weight
    # gradient sums the same products in another order
    np.testing.assert_allclose(w_kept, w_gathered, rtol=1e-5, atol=1e-6)


@settings(max_examples=40)
@given(k=st.integers(1, 4), padding=st.integers(0, 2), H=st.integers(1, 9), W=st.integers(12, 40),
       C=st.integers(1, 3), seed=st.integers(0, 99))
def test_long_row_col2im_equals_twin(k, padding, H, W, C, seed):
    """Bit for bit at stride 1 with long rows too: each row's taps are added as one run,
    every input position receiving its terms in the same (tap) order as in the twin."""
    H = max(H, k - 2 * padding)
    rng = np.random.default_rng(seed)
    Ho, Wo = H + 2 * padding - k + 1, W + 2 * padding - k + 1
    dcols = rng.standard_normal((2 * Ho * Wo, C * k * k)).astype(np.float32)
    expected = col2im_reference(dcols, (2, C, H, W), k, 1, padding)
    for kernel in (layer_kernels._col2im_kernel, layer_kernels._col2im_long_rows):
        dx = np.zeros((2, C, H, W), dtype=np.float32)
        if kernel is layer_kernels._col2im_kernel:
            kernel(np.ascontiguousarray(dcols.T), k, 1, padding, Ho, Wo, dx)
        else:
            kernel(np.ascontiguousarray(dcols.T), k, padding, Ho, Wo, dx)
        np.testing.assert_array_equal(dx, expected)


@settings(max_examples=60)
@given(batch=st.integers(1, 300), rows=st.integers(1, 1100), width=st.integers(1, 5000))
def test_blocks_hold_the_cache_budget_or_enough_columns(batch, rows, width):
    """Images per block: between 1 and the batch; within CONV_BLOCK_FLOATS floats of
    patches, or, where that leaves fewer than GEMM_COLUMNS columns, the fewest images
    that give GEMM_COLUMNS columns (batch permitting). A block that fits the budget with
    GEMM_COLUMNS columns or more is left as the budget makes it (so the columns minimum
    changes no product of the small networks)."""
    n = fast_conv.block_images(batch, rows, width)
    by_budget = max(1, min(batch, fast_conv.CONV_BLOCK_FLOATS // (rows * width)))
    assert 1 <= n <= batch
    if by_budget * rows >= fast_conv.GEMM_COLUMNS or by_budget == batch:
        assert n == by_budget
    else:
        assert n == min(batch, -(-fast_conv.GEMM_COLUMNS // rows))
        assert n * rows >= fast_conv.GEMM_COLUMNS or n == batch
        assert (n - 1) * rows < fast_conv.GEMM_COLUMNS


def test_dyadic_convolution_is_exact_in_any_block_size(monkeypatch):
    """With small dyadic weights and inputs every sum is exact, so block size and BLAS
    order cannot matter: equality, not closeness (what the lossless tests rely on)."""
    rng = np.random.default_rng(6)
    x = rng.integers(-4, 5, (9, 2, 6, 6)).astype(np.float32) / 4
    layer = Conv2d(2, 3, 3, padding=1, rng=rng)
    layer.weight[...] = rng.integers(-4, 5, layer.weight.shape) / 8
    layer.bias[...] = rng.integers(-4, 5, 3) / 2
    expected = conv2d_reference(x, layer.weight, layer.bias, 1, 1)
    for block_floats in (1, 200, 2**16):
        for narrow_output in (0, 100):
            monkeypatch.setattr(fast_conv, "CONV_BLOCK_FLOATS", block_floats)
            monkeypatch.setattr(fast_conv, "GEMM_COLUMNS", 1)
            monkeypatch.setattr(fast_conv, "NARROW_OUTPUT", narrow_output)
            np.testing.assert_array_equal(layer.forward(x), expected)


def test_conv2d_accepts_a_non_contiguous_input():
    rng = np.random.default_rng(7)
    layer = Conv2d(2, 3, 3, padding=1, rng=rng, dtype=F64)
    x = rng.standard_normal((3, 6, 6, 2)).transpose(0, 3, 1, 2)  # (B, C, H, W) view, not contiguous
    np.testing.assert_allclose(layer.forward(x), naive_conv2d(x, layer.weight, layer.bias, 1, 1), rtol=1e-12)


def test_average_pooling_commutes_with_time_mean_but_max_pooling_does_not():
    """mean_t AvgPool(s_t) = AvgPool(mean_t s_t); the max version fails on spike trains."""
    rng = np.random.default_rng(7)
    spikes = (rng.random((8, 2, 3, 4, 4)) < 0.4).astype(np.float64)  # (T, B, C, H, W)
    pool = AvgPool2d(2)
    per_step = np.mean([pool.forward(s) for s in spikes], axis=0)
    np.testing.assert_allclose(per_step, pool.forward(spikes.mean(axis=0)), atol=1e-15)

    def maxpool(x):
        B, C, H, W = x.shape
        return x.reshape(B, C, H // 2, 2, W // 2, 2).max(axis=(3, 5))
    assert not np.allclose(np.mean([maxpool(s) for s in spikes], axis=0), maxpool(spikes.mean(axis=0)))


# --------------------------------------------------------------------------- construction


def build(seed):
    rng = np.random.default_rng(seed)
    return Sequential(Conv2d(1, 4, 3, padding=1, rng=rng), QCFS(), AvgPool2d(2), Flatten(),
                      Linear(4 * 4 * 4, 10, rng))


def test_seeded_construction_is_reproducible():
    a, b, c = build(0).params(), build(0).params(), build(1).params()
    assert list(a) == ["0.weight", "0.bias", "1.theta", "4.weight", "4.bias"]
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["0.weight"], c["0.weight"])


def test_kaiming_scale_and_float32():
    rng = np.random.default_rng(0)
    conv = Conv2d(16, 64, 3, rng=rng)
    assert conv.weight.dtype == np.float32 and conv.weight.shape == (64, 16, 3, 3)
    assert abs(conv.weight.std() - np.sqrt(2 / (16 * 9))) < 0.01
    assert np.all(conv.bias == 0)
    assert conv.forward(np.zeros((1, 16, 5, 5))).dtype == np.float32  # input cast to float32


def test_sequential_container_protocol():
    net = build(0)
    assert len(net) == 5 and isinstance(net[1], QCFS) and list(net)[3] is net[3]
    assert set(net.params()) == set(net.grads())
    assert all(net.params()[k].shape == net.grads()[k].shape for k in net.params())
    assert net.forward(np.zeros((2, 1, 8, 8), np.float32)).shape == (2, 10)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("layer,x,pattern", [
    (Conv2d(3, 4, 3, rng=np.random.default_rng(0)), np.zeros((1, 1, 8, 8)), r"Conv2d\(3->4.*\(1, 1, 8, 8\)"),
    (Conv2d(1, 4, 3, rng=np.random.default_rng(0)), np.zeros((1, 8, 8)), r"Conv2d"),
    (Conv2d(1, 4, 5, rng=np.random.default_rng(0)), np.zeros((1, 1, 3, 3)), r"smaller than the kernel"),
    (Linear(10, 2, np.random.default_rng(0)), np.zeros((4, 9)), r"Linear\(10->2\).*\(B, 10\).*\(4, 9\)"),
    (AvgPool2d(2), np.zeros((4, 9)), r"AvgPool2d"),
    (AvgPool2d(4), np.zeros((1, 1, 3, 8)), r"smaller than the 4x4 window"),
])
def test_wrong_input_shape_raises_value_error_naming_the_layer(layer, x, pattern):
    with pytest.raises(ValueError, match=pattern):
        layer.forward(x)


@pytest.mark.parametrize("make", [
    lambda: Linear(3, 2, rng=0), lambda: Conv2d(1, 2, 3, rng=None),
])
def test_missing_rng_raises_type_error(make):
    with pytest.raises(TypeError):
        make()


def test_backward_before_forward_and_wrong_grad_shape():
    layer = Linear(3, 2, np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="forward"):
        layer.backward(np.zeros((1, 2)))
    layer.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"grad_out has shape \(4, 3\)"):
        layer.backward(np.zeros((4, 3)))


@pytest.mark.parametrize("dtype", [np.int64, np.float16, bool, "complex128"])
def test_weights_must_be_float32_or_float64(dtype):
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="dtype"):
        Linear(3, 2, rng, dtype=dtype)
    with pytest.raises(TypeError, match="dtype"):
        Conv2d(1, 2, 3, rng=rng, dtype=dtype)


def test_flatten_accepts_an_empty_batch():
    assert Flatten().forward(np.zeros((0, 2, 3, 4), np.float32)).shape == (0, 24)


def test_sequential_refuses_non_finite_input():
    net = build(0)
    x = np.zeros((2, 1, 8, 8), np.float32)
    x[1, 0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="input.*finite"):
        net.forward(x)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow that the test provokes
def test_check_output_names_the_first_non_finite_layer():
    net = build(0)
    x = np.ones((2, 1, 8, 8), np.float32)
    net.check_output(x, net.forward(x))  # finite: nothing to say
    net[4].weight[0, 0] = np.inf
    with pytest.raises(ValueError, match=r"layer 4 \(Linear\(64->10\)\).*weight hold NaN or infinity"):
        net.check_output(x, net.forward(x))
    net[4].weight[...] = 1e38  # the Linear input sums to about 25: 2.5e39 > float32 max
    with pytest.raises(ValueError, match=r"layer 4 .*overflowed"):
        net.check_output(x, net.forward(x))


def test_every_layer_kernel_has_a_twin_in_the_table():
    """The table in refsnn.networks.layer_kernels names a readable twin for every Numba
    kernel of the file, so a new kernel cannot ship without one (each row's agreement is
    tested beside its layer)."""
    import re

    from numba.core.registry import CPUDispatcher

    kernels = {name for name, value in vars(layer_kernels).items() if isinstance(value, CPUDispatcher)}
    rows = dict(re.findall(r"^``(_\w+)``\s+(:\w+:`[^`]+`)", layer_kernels.__doc__, flags=re.MULTILINE))
    assert kernels and set(rows) == kernels, (sorted(kernels - set(rows)), sorted(set(rows) - kernels))


def test_moved_names_resolve_from_their_old_path_with_a_warning():
    """``Sequential`` and the activations are defined in ``containers`` and
    ``activations``; the old path through ``layers`` gives the same class and says where
    it lives, and an unknown name is still an AttributeError."""
    from refsnn.networks import activations, containers, layers

    with pytest.warns(DeprecationWarning, match="refsnn.networks.containers"):
        assert layers.Sequential is containers.Sequential
    with pytest.warns(DeprecationWarning, match="refsnn.networks.activations"):
        from refsnn.networks.layers import QCFS
    assert QCFS is activations.QCFS
    with pytest.raises(AttributeError, match="Softmax"):
        layers.Softmax


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 3, 5, 4), (1, 2, 5, 5)])
def test_avg_pool_gives_zero_gradient_to_the_rows_and_columns_it_drops(shape):
    """Rows or columns that do not fill a window get exactly zero gradient, whichever of
    height and width is the one that does not divide. NaN is written to memory of the
    gradient's size just before, so that an uninitialised gradient would show it."""
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    pool = AvgPool2d(2)
    g = np.ones(pool.forward(x).shape, np.float32)
    for _ in range(3):
        stale = np.full(shape, np.nan, np.float32)  # memory that np.empty may hand back
        del stale
        dx = pool.backward(g)
        H, W = shape[2] // 2 * 2, shape[3] // 2 * 2
        assert (dx[:, :, H:, :] == 0).all() and (dx[:, :, :, W:] == 0).all()
        np.testing.assert_array_equal(dx[:, :, :H, :W], 0.25)


def kept_arrays(layer):
    """The private attributes of ``layer`` that hold arrays (what forward keeps for backward)."""
    return sorted(name for name, value in vars(layer).items() if name.startswith("_") and any(
        isinstance(v, np.ndarray) for v in (value if isinstance(value, tuple) else (value,))))


@pytest.mark.parametrize("make", [
    lambda rng: (Linear(5, 3, rng), (4, 5)),
    lambda rng: (Conv2d(2, 3, 3, padding=1, rng=rng), (4, 2, 5, 5)),
    lambda rng: (AvgPool2d(2), (4, 2, 4, 4)),
    lambda rng: (Flatten(), (4, 2, 3)),
])
def test_no_backward_keeps_nothing_and_changes_no_output(make):
    """Inside no_backward a forward pass gives the same output bit for bit, keeps nothing
    for a backward pass and forgets what a training pass kept (a Conv2d's patches too),
    so a backward pass after it is refused instead of using a stale input. Outside, the
    layer trains as before."""
    rng = np.random.default_rng(0)
    layer, shape = make(rng)
    x = rng.standard_normal(shape).astype(np.float32)
    out = layer.forward(x)
    layer.backward(np.ones_like(out))
    trained = layer.forward(x)  # a training pass: a Conv2d keeps its patches
    with no_backward():
        inferred = layer.forward(x)
    np.testing.assert_array_equal(inferred, trained)
    assert kept_arrays(layer) == [] and getattr(layer, "_x_shape", None) is None
    with pytest.raises(RuntimeError, match="no_backward"):
        layer.backward(np.ones_like(out))
    layer.forward(x)
    assert layer.backward(np.ones_like(out)).shape == x.shape


def test_conv_and_batchnorm_do_not_depend_on_the_number_of_threads():
    """The compiled gathers, scatters and BatchNorm passes split channels (or images)
    between Numba's threads, each sum inside one thread: one thread and all of them give
    the same outputs and gradients bit for bit."""
    import numba

    from refsnn.networks.normalization import BatchNorm

    rng = np.random.default_rng(9)
    conv = Conv2d(3, 5, 3, padding=1, rng=rng)
    bn = BatchNorm(5)
    x = rng.standard_normal((4, 3, 20, 20)).astype(np.float32)
    g = rng.standard_normal((4, 5, 20, 20)).astype(np.float32)
    results = []
    previous = numba.get_num_threads()
    try:
        for threads in (1, numba.config.NUMBA_NUM_THREADS):
            numba.set_num_threads(threads)
            y = bn.forward(conv.forward(x))
            dx = conv.backward(bn.backward(g))
            results.append((y, dx, conv.weight_grad.copy(), bn.weight_grad.copy()))
    finally:
        numba.set_num_threads(previous)
    for one, many in zip(*results):
        np.testing.assert_array_equal(one, many)


@settings(max_examples=60)
@given(padding=st.integers(0, 3), tap=st.integers(0, 4), size=st.integers(1, 9), out_size=st.integers(0, 12))
def test_inside_taps_are_the_outputs_whose_tap_lands_in_the_image(padding, tap, size, out_size):
    """The shared bounds of the long-row gather and scatter: the outputs i with
    0 ≤ i + tap − padding < size, as one run lo..hi (empty as lo = hi)."""
    lo, hi = layer_kernels._inside(padding, tap, size, out_size)
    inside = [i for i in range(out_size) if 0 <= i + tap - padding < size]
    assert list(range(lo, hi)) == inside and 0 <= lo <= hi <= out_size
