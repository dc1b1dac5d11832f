"""The blocked convolution that :class:`~refsnn.networks.layers.Conv2d` runs.

A reader can skip this module: it computes what :func:`~refsnn.networks.layers.conv2d_reference`
and :func:`~refsnn.networks.layers.col2im_reference` compute, arranged for the CPU's cache.
``tests/test_layers.py`` checks every step against its twin.

Forward
    The k×k patches of the zero-padded input are gathered into a matrix with columns
    (b, i, j) and rows (c, u, v) (the transpose of
    :func:`~refsnn.networks.layers.im2col_reference`'s matrix) and multiplied by the
    weights reshaped to (O, C·k·k), one block of images at a time
    (:data:`CONV_BLOCK_FLOATS` floats of patches per block, so that they stay in the
    cache, but at least :data:`GEMM_COLUMNS` columns, so that each product is wide enough
    to run at the speed of the arithmetic). Outputs narrower than :data:`NARROW_OUTPUT`
    gather a block's patches with the images innermost, so that each tap copies a long
    run. Each block's product is copied into the output with the bias added
    (:func:`~refsnn.networks.layers.conv_output_reference`). A 3×3 convolution with few
    output channels (:func:`by_positions`) that keeps no patches gathers them the other
    way round, one output position per row (im2col_reference's own matrix), and
    multiplies them by the transposed weights. A 3×3 convolution at stride 1 with at
    least 64 channels in and out that keeps no patches runs Winograd's F(2×2, 3×3)
    instead (:mod:`refsnn.networks.winograd`: 2.25 times fewer multiplications, equal to
    float rounding).
Backward
    Weight and bias gradients from the patches, input gradient by scattering the patch
    gradients back onto the input ("col2im"), or, where the forward pass would run
    Winograd's F(2×2, 3×3) on that convolution of the output gradient, by it
    (:func:`refsnn.networks.winograd.input_gradient`). While training (a forward pass that
    follows a backward pass), a batch of at most :data:`KEEP_PATCHES_FLOATS` patch
    floats keeps its patches from the forward pass for the backward pass, and multiplies
    those of the whole batch. A larger batch goes block by block, as the forward pass:
    it gathers each block's patches again, adds the block's share of the weight gradient
    and scatters the block's patch gradients while the block is in the cache.

Gather, copy and scatter are the Numba kernels of :mod:`refsnn.networks.layer_kernels`;
gather and scatter pad as they go. With more than one thread (:mod:`refsnn.threads`)
each thread takes a run of the blocks (:func:`refsnn.threads.run_split`) with a
one-thread BLAS, so the forward pass gives the same bits on any number of threads; the
block-by-block weight gradient adds each thread's sum in turn (float rounding). The
whole-batch products of a small training batch split their rows (or columns) between
the threads (:func:`refsnn.threads.matmul`), and a part may round its last bit otherwise
than the whole product (as a narrower product does, :data:`GEMM_COLUMNS`).
"""

import numpy as np

from .. import threads
from . import layer_kernels, winograd
from .base import keeps_for_backward

__all__ = ["forward", "backward", "block_images", "by_positions", "position_block_images", "CONV_BLOCK_FLOATS",
           "GEMM_COLUMNS", "NARROW_OUTPUT", "KEEP_PATCHES_FLOATS", "BACKWARD_COLUMNS", "POSITIONS_BELOW", "POSITIONS_FROM_INPUT",
           "POSITION_BLOCK_FLOATS"]

#: Floats in the patch matrix of one block of images in :func:`forward` (256 KiB in
#: float32): each block's patches are gathered and multiplied while they are in the
#: cache, instead of one patch matrix for the whole batch (k² times the input's size).
CONV_BLOCK_FLOATS = 2**16
#: Fewest columns (output positions) per block product in :func:`forward`, batch
#: permitting: a block of :data:`CONV_BLOCK_FLOATS` floats holds only one image of a deep
#: layer (C·k² = 4608 rows of patches at 512 channels), and a product with the 16
#: columns of a 4×4 map runs at half the speed of a wide one. (Each column's dot product
#: is rounded as the block size lets the BLAS round it: the last columns of a product can
#: differ in the last bit from a product with more columns.)
GEMM_COLUMNS = 128
#: Outputs narrower than this many columns gather their patches with the images innermost
#: (:func:`forward`): a row of W_out values is too short to copy fast, a run of the
#: block's images is not.
NARROW_OUTPUT = 8
#: A 3×3 convolution with fewer output channels than ``POSITIONS_BELOW`` and at least
#: ``POSITIONS_FROM_INPUT`` input channels multiplies position-major patches when it keeps
#: none and its output is not narrow (:func:`by_positions`).
POSITIONS_BELOW, POSITIONS_FROM_INPUT = 64, 8
#: Floats of position-major patches and their product per block (1 MiB in float32).
POSITION_BLOCK_FLOATS = 2**18
#: While training (a forward pass followed by a backward pass), a batch whose whole patch
#: matrix has at most this many floats (4 MiB in float32) keeps it from :func:`forward`
#: for :func:`backward` (the blocks are written into it); a larger batch's backward pass
#: gathers the patches again.
KEEP_PATCHES_FLOATS = 2**20
#: Fewest columns (output positions) per block in :func:`_backward_blocks`, batch
#: permitting: a block's share of the weight gradient is a (C·k², O) product summed over
#: its columns, as large as its inputs on a deep layer's small map unless the sum runs
#: over many positions.
BACKWARD_COLUMNS = 512


def forward(layer, x, offset=None):
    """The output of the Conv2d ``layer`` on its checked, C-contiguous input x (B, C, H, W),
    plus ``offset`` (O,) per output channel if given.

    The offset is added after the bias, in the same pass: y + offset with y the output
    without it, bit for bit. The collapsed SNN (:mod:`refsnn.networks.modes`) adds the
    bias T times, y + (T − 1)·b, this way. Keeps on the layer what :func:`backward`
    needs: the input, and the patches while training; nothing inside
    :class:`~refsnn.networks.base.no_backward`.
    """
    k, s, p = layer.kernel_size, layer.stride, layer.padding
    B, C, H, W = x.shape
    O = layer.out_channels
    Ho, Wo = layer.output_shape(H, W)
    rows, width = Ho * Wo, C * k * k
    chunk = block_images(B, rows, width)
    narrow = Wo < NARROW_OUTPUT
    # keep the patches for backward only while training: the last forward pass was
    # followed by a backward pass (inference reuses one cache-sized block instead)
    keeping = keeps_for_backward()  # False inside no_backward: keep nothing
    keep = keeping and layer._backward_ran and B * rows * width <= KEEP_PATCHES_FLOATS
    layer._backward_ran = False
    extra = _offset(layer, offset, x.dtype)
    layer._x = x if keeping else None
    if not keep and winograd.applies(layer, B, H, W):
        layer._patches = None
        return winograd.forward(layer, x, extra)
    if not keep and not narrow and by_positions(layer, C):
        layer._patches = None
        return _forward_positions(layer, x, extra)
    weight = layer.weight.reshape(O, width)
    out = np.empty((B, O, Ho, Wo), dtype=x.dtype)
    kept = np.empty((width, B * rows), dtype=x.dtype) if keep else None  # the whole batch's patches

    def blocks(starts):
        """The blocks that begin at ``starts``, with their own scratch (one part of run_split)."""
        cols = None if keep else np.empty((width, chunk * rows), dtype=x.dtype)  # one block's patches
        product = np.empty((O, chunk * rows), dtype=x.dtype)
        for start in starts:
            n = min(chunk, B - start)
            block = kept[:, start * rows:(start + n) * rows] if keep else cols[:, :n * rows]
            if narrow:  # columns (i, j, b): every tap copies a run of n images
                images = np.ascontiguousarray(x[start:start + n].transpose(1, 2, 3, 0))
                layer_kernels._im2col_images_inner_kernel(images, k, s, p, Ho, Wo, block)
            else:  # columns (b, i, j): every tap copies rows of the images
                layer_kernels._im2col_kernel(x, start, k, s, p, Ho, Wo, block)
            product_block = np.matmul(weight, block, out=product[:, :n * rows])
            # (O, columns) → (n, O, Ho·Wo) with the bias added on the way (conv_output_reference)
            layer_kernels._conv_output_kernel(product_block, layer.bias, extra, narrow,
                                              out[start:start + n].reshape(n, O, rows))

    # the blocks are independent: with more than one thread, each takes a run of them
    threads.run_split(blocks, threads.split(range(0, B, chunk)))
    layer._patches = (kept, chunk if narrow else None) if keep else None
    return out


def by_positions(layer, in_channels):
    """Whether :func:`forward` multiplies position-major patches (when it keeps none and
    the output is at least :data:`NARROW_OUTPUT` wide): a 3×3 kernel, fewer than
    :data:`POSITIONS_BELOW` output channels and at least :data:`POSITIONS_FROM_INPUT`
    input channels.

    The product of a block's patch columns with so few rows of weights packs a wide
    matrix for only a few products per value; the product of its patches, one output
    position per row, with the transposed weights does not. Both sum the same terms; the
    BLAS may order a sum otherwise in the other product, so the two agree to float
    rounding (on the layers of the demo's networks and of ResNet-20, as measured with
    OpenBLAS, bit for bit). The gather is slower, which the product repays from about
    eight input channels up.
    """
    return layer.kernel_size == 3 and layer.out_channels < POSITIONS_BELOW and in_channels >= POSITIONS_FROM_INPUT


def _forward_positions(layer, x, extra):
    """The output, one block of :func:`position_block_images` images at a time: the
    block's patches with one output position per row (the rows of im2col_reference's
    matrix), times the transposed weights (O, C·9), copied into the output with the bias
    (and ``extra``) added. With more than one thread each takes a run of the blocks."""
    s, p = layer.stride, layer.padding
    B, C, H, W = x.shape
    O = layer.out_channels
    Ho, Wo = layer.output_shape(H, W)
    rows, width = Ho * Wo, C * 9
    chunk = position_block_images(B, rows, width, O)
    weight_t = np.ascontiguousarray(layer.weight.reshape(O, width).T)  # (C·9, O): a few KiB
    out = np.empty((B, O, Ho, Wo), dtype=x.dtype)

    def blocks(starts):
        patches = np.empty((chunk * rows, width), dtype=x.dtype)
        padded = np.empty((C, H + 2 * p, W + 2 * p), dtype=x.dtype)
        product = np.empty((chunk * rows, O), dtype=x.dtype)
        for start in starts:
            n = min(chunk, B - start)
            block = patches[:n * rows]
            layer_kernels._im2col_positions_kernel(x, start, s, p, Ho, Wo, padded, block)
            product_block = np.matmul(block, weight_t, out=product[:n * rows])
            layer_kernels._conv_output_positions_kernel(product_block, layer.bias, extra,
                                                        out[start:start + n].reshape(n, O, rows))

    threads.run_split(blocks, threads.split(range(0, B, chunk)))
    return out


def position_block_images(batch, rows, width, out_channels):
    """Images per block of :func:`_forward_positions` for a batch of ``batch`` images with
    ``rows`` output positions, ``width`` = C·9 patch values and ``out_channels`` product
    values each: as many as fit in :data:`POSITION_BLOCK_FLOATS` floats of patches and
    product, at least one, and at least enough for :data:`GEMM_COLUMNS` positions, at
    most the batch."""
    chunk = max(1, POSITION_BLOCK_FLOATS // (rows * (width + out_channels)), -(-GEMM_COLUMNS // rows))
    return min(batch, chunk)


def block_images(batch, rows, width):
    """Images per block of :func:`forward` for a batch of ``batch`` images with ``rows``
    output positions and ``width`` = C·k² patch rows each: as many as fit in
    :data:`CONV_BLOCK_FLOATS` floats of patches, at least one, and at least enough for
    :data:`GEMM_COLUMNS` columns, at most the batch."""
    chunk = max(1, CONV_BLOCK_FLOATS // (rows * width), -(-GEMM_COLUMNS // rows))
    return min(batch, chunk)


def _offset(layer, offset, dtype):
    """``offset`` as a contiguous (O,) array in ``dtype``; empty for None."""
    if offset is None:
        return np.zeros(0, dtype=dtype)
    extra = np.asarray(offset, dtype=dtype)
    if extra.size != layer.out_channels:
        raise ValueError(f"{layer!r}: offset must have {layer.out_channels} values (one per output "
                         f"channel), got shape {extra.shape}")
    return np.ascontiguousarray(extra.reshape(layer.out_channels))


def backward(layer, g4):
    """The input gradient of the Conv2d ``layer`` for the output gradient g4 (B, O, H_out, W_out)
    of its last forward pass; writes the weight and bias gradients into the layer's arrays.

    A batch whose patch matrix would have at most :data:`KEEP_PATCHES_FLOATS` floats
    multiplies the patches of the whole batch (kept from the forward pass, or gathered
    again); a larger one goes block by block (:func:`_backward_blocks`). Patches kept
    from a narrow output are in (block, i, j, b) column order; the weight gradient then
    multiplies a copy of the output gradient in the same order (its sum over samples and
    positions runs in another order than over (b, i, j): equal to float rounding).
    """
    x = layer._x
    B, C, H, W = x.shape
    k, s, p = layer.kernel_size, layer.stride, layer.padding
    O = layer.out_channels
    Ho, Wo = layer.output_shape(H, W)
    g = g4.transpose(1, 0, 2, 3).reshape(O, B * Ho * Wo)  # (O, b·i·j), the layout of the patches
    layer._backward_ran = True
    np.sum(g, axis=1, out=layer.bias_grad)
    by_winograd = winograd.applies_backward(layer, B, H, W)
    if layer._patches is None and B * Ho * Wo * C * k * k > KEEP_PATCHES_FLOATS:
        dx = _backward_blocks(layer, x, g4, input_gradient=not by_winograd)
        return winograd.input_gradient(layer, g4) if by_winograd else dx
    if layer._patches is None:
        cols = np.empty((C * k * k, B * Ho * Wo), dtype=x.dtype)
        layer_kernels._im2col_kernel(x, 0, k, s, p, Ho, Wo, cols)
        g_cols = g
    else:
        cols, chunk = layer._patches
        if chunk is None:
            g_cols = g
        else:  # the column order of the kept narrow patches: (block, i, j, b)
            g_cols = np.concatenate([g4[start:start + chunk].transpose(1, 2, 3, 0).reshape(O, -1)
                                     for start in range(0, B, chunk)], axis=1)
    threads.matmul(g_cols, cols.T, out=layer.weight_grad.reshape(O, -1))
    if by_winograd:
        return winograd.input_gradient(layer, g4)
    dcols = threads.matmul(layer.weight.reshape(O, -1).T, g)
    dx = np.zeros((B, C, H, W), dtype=x.dtype)
    layer_kernels._col2im_kernel(dcols, k, s, p, Ho, Wo, dx)
    return dx


def _backward_blocks(layer, x, g4, input_gradient=True):
    """:func:`backward` one block of :func:`block_images` images (at least
    :data:`BACKWARD_COLUMNS` output positions) at a time, for a batch
    too large to keep its patches: each block's patches are gathered, multiplied by the
    block's output gradient and scattered back while they are in the cache.

    .. math::  \\nabla W^\\top = \\sum_{\\text{blocks}} \\mathrm{cols}_{blk}\\, g_{blk}^\\top, \\qquad
               \\mathrm{dcols}_{blk} = W^\\top g_{blk}

    The input gradient equals the whole-batch one (each image's entries come from its
    own columns, added in the same order); the weight gradient adds one product per
    block, so it equals the whole-batch product to float rounding. With more than one
    thread (:func:`refsnn.threads.run_split`) each thread sums its own run of blocks and
    the runs' sums are added in order. Without ``input_gradient`` the blocks skip the
    input gradient (its caller computes it otherwise) and the result is None.
    """
    B, C, H, W = x.shape
    k, s, p = layer.kernel_size, layer.stride, layer.padding
    O = layer.out_channels
    Ho, Wo = layer.output_shape(H, W)
    rows, width = Ho * Wo, C * k * k
    chunk = min(B, max(block_images(B, rows, width), -(-BACKWARD_COLUMNS // rows)))
    weight_t = layer.weight.reshape(O, width).T
    dx = np.zeros((B, C, H, W), dtype=x.dtype) if input_gradient else None
    parts = threads.split(range(0, B, chunk))
    sums = [np.zeros((width, O), dtype=x.dtype) for _ in parts]  # ∇Wᵀ of each run of blocks

    def blocks(part):
        index, starts = part
        cols = np.empty((width, chunk * rows), dtype=x.dtype)
        dcols = np.empty((width, chunk * rows), dtype=x.dtype) if input_gradient else None
        g_block = np.empty(O * chunk * rows, dtype=x.dtype)
        g_block_t = np.empty(chunk * rows * O, dtype=x.dtype)
        term = np.empty((width, O), dtype=x.dtype)
        for start in starts:
            n = min(chunk, B - start)
            block = cols[:, :n * rows]
            layer_kernels._im2col_kernel(x, start, k, s, p, Ho, Wo, block)
            grad = g4[start:start + n].reshape(n, O, rows)
            g = g_block[:O * n * rows].reshape(O, n, rows)
            np.copyto(g, grad.transpose(1, 0, 2))
            g = g.reshape(O, n * rows)  # (O, b·i·j), the layout of the block's patches
            g_t = g_block_t[:n * rows * O].reshape(n, rows, O)
            np.copyto(g_t, grad.transpose(0, 2, 1))
            # cols · gᵀ = (g · colsᵀ)ᵀ: the product with the long side first runs faster
            np.matmul(block, g_t.reshape(n * rows, O), out=term)
            sums[index] += term
            if input_gradient:
                np.matmul(weight_t, g, out=dcols[:, :n * rows])
                layer_kernels._col2im_kernel(dcols[:, :n * rows], k, s, p, Ho, Wo, dx[start:start + n])

    threads.run_split(blocks, list(enumerate(parts)))
    total = sums[0]
    for more in sums[1:]:
        total += more
    layer.weight_grad.reshape(O, width)[...] = total.T
    return dx
