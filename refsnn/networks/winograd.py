"""Winograd's minimal filtering F(2×2, 3×3): the 3×3 convolutions of the deep layers with
2.25 times fewer multiplications.

A reader can skip this module: it computes what
:func:`~refsnn.networks.layers.conv2d_reference` computes, with other arithmetic. Lavin
and Gray ("Fast algorithms for convolutional neural networks", CVPR 2016) compute each
2×2 tile of a stride-1 3×3 convolution's output from the 4×4 tile d of the padded input
under it:

.. math::

    Y_{o} = A^\\top \\Big[\\sum_c (G\\, g_{o,c}\\, G^\\top) \\odot (B^\\top d_c\\, B)\\Big] A,
    \\qquad
    B^\\top = \\begin{pmatrix} 1 & 0 & -1 & 0 \\\\ 0 & 1 & 1 & 0 \\\\ 0 & -1 & 1 & 0 \\\\
              0 & 1 & 0 & -1 \\end{pmatrix},\\;
    G = \\begin{pmatrix} 1 & 0 & 0 \\\\ ½ & ½ & ½ \\\\ ½ & -½ & ½ \\\\ 0 & 0 & 1 \\end{pmatrix},\\;
    A^\\top = \\begin{pmatrix} 1 & 1 & 1 & 0 \\\\ 0 & 1 & -1 & -1 \\end{pmatrix}

with g_{o,c} the 3×3 kernel from input channel c to output channel o. The sum over
channels at each of the 16 positions (r, q) of the tile is a matrix product, U[rq] (O, C)
times V[rq] (C, tiles): 16 products of C·O multiply-adds per tile, against 36 per tile
of four outputs for the direct sum. The transforms are additions and halvings, which a
compiled loop does at the speed of memory.

Its arithmetic is not the direct sum's: a transformed input mixes four inputs, so Y agrees
with :func:`~refsnn.networks.layers.conv2d_reference` to float rounding (a few units in
the last place of the largest terms; ``tests/test_winograd.py`` allows 1e-5 relative to
the output's scale), and exactly when every intermediate is exact (small integers and
kernels in quarters). :func:`~refsnn.networks.fast_conv.forward` uses it only on the
layers where it is faster (:func:`applies`): 3×3, stride 1, even output sides, enough
channels and tiles, while no patches are kept for a backward pass. The networks of the
demo and the experiments (8×8 digits, maps of at most 8×8 with under 64 channels) never
use it: their trained results keep the direct convolution's arithmetic.

Each step has a readable twin here that its Numba kernel
(:mod:`~refsnn.networks.layer_kernels`) equals bit for bit; :func:`conv2d_winograd_reference`
chains the twins over the whole batch, :func:`forward` chains the kernels one block of
images at a time, with the 16 products in one stacked ``np.matmul``.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import threads
from . import layer_kernels

__all__ = ["applies", "applies_backward", "worthwhile", "forward", "input_gradient", "convolve", "block_images", "conv2d_winograd_reference", "filter_transform_reference",
           "input_transform_reference", "output_transform_reference", "FROM_CHANNELS", "FROM_TILES",
           "FROM_IMAGE_TILES", "DEEP_CHANNELS", "FROM_DEEP_TILES", "BLOCK_FLOATS", "MIN_COLUMNS"]

#: Fewest input and output channels of a layer that :func:`applies` to ...
FROM_CHANNELS = 16
#: ... fewest 2×2 output tiles in the batch (B·H_out·W_out/4) ...
FROM_TILES = 1024
#: ... and fewest tiles in one image (16×16 outputs): with fewer channels the 16 products
#: are too small for the BLAS to repay the transforms, on fewer tiles the transforms' rows
#: are too short.
FROM_IMAGE_TILES = 64
#: From this many channels in and out, :data:`FROM_DEEP_TILES` tiles in the batch are
#: enough, on maps of any size: the products are large.
DEEP_CHANNELS, FROM_DEEP_TILES = 64, 256
#: Floats of transformed inputs and products per block of images (512 KiB in float32, half
#: of a 1 MiB L2 cache; on this project's layers as fast as 256 KiB and 1 MiB, or faster) ...
BLOCK_FLOATS = 2**17
#: ... but at least this many tiles per block, batch permitting, so that each of the 16
#: products is wide enough.
MIN_COLUMNS = 256


def applies(layer, batch, height, width):
    """Whether :func:`~refsnn.networks.fast_conv.forward` computes the Conv2d ``layer`` on
    a (batch, C, height, width) input by :func:`forward`: a 3×3 kernel at stride 1 whose
    output is :func:`worthwhile`."""
    if layer.kernel_size != 3 or layer.stride != 1:
        return False
    return worthwhile(layer.in_channels, layer.out_channels, batch, *layer.output_shape(height, width))


def applies_backward(layer, batch, height, width):
    """Whether :func:`~refsnn.networks.fast_conv.backward` computes the input gradient of
    the Conv2d ``layer`` for a (batch, C, height, width) input by :func:`input_gradient`:
    a 3×3 kernel at stride 1 with padding at most 2 (the input gradient is then a
    stride-1 3×3 convolution of the output gradient, from O channels to C, whose output is
    the input's size), at least :data:`DEEP_CHANNELS` channels in and out, and
    :func:`worthwhile` for that convolution. (With fewer channels the direct backward pass,
    which multiplies and scatters each block's patch gradients while the block's
    patches are in the cache for the weight gradient, is as fast, as measured on
    ResNet-20's layers.)"""
    if layer.kernel_size != 3 or layer.stride != 1 or layer.padding > 2:
        return False
    if min(layer.in_channels, layer.out_channels) < DEEP_CHANNELS:
        return False
    return worthwhile(layer.out_channels, layer.in_channels, batch, height, width)


def worthwhile(in_channels, out_channels, batch, out_height, out_width):
    """Whether F(2×2, 3×3) is faster than the direct sum for a 3×3 stride-1 convolution
    from ``in_channels`` to ``out_channels`` with (batch, out_height, out_width) outputs:
    even output sides, and either at least :data:`DEEP_CHANNELS` input and output channels
    and :data:`FROM_DEEP_TILES` output tiles in the batch, or at least
    :data:`FROM_CHANNELS` channels, :data:`FROM_IMAGE_TILES` tiles in an image and
    :data:`FROM_TILES` in the batch. (Measured on the layers of ResNet-20 and VGG-16 at
    1 thread: below these, the direct convolution is as fast or faster.)"""
    if out_height % 2 or out_width % 2:
        return False
    channels, image_tiles = min(in_channels, out_channels), (out_height // 2) * (out_width // 2)
    if channels >= DEEP_CHANNELS:
        return batch * image_tiles >= FROM_DEEP_TILES
    return channels >= FROM_CHANNELS and image_tiles >= FROM_IMAGE_TILES and batch * image_tiles >= FROM_TILES


def filter_transform_reference(weight):
    """U = G g Gᵀ of every kernel g = weight[o, c] (module docstring), as (16, O, C) with
    U[4r + q, o, c] = (G g Gᵀ)[r, q]: readable twin of ``_winograd_filter_kernel``.

    Shapes: weight (O, C, 3, 3) → (16, O, C).
    """
    half = weight.dtype.type(0.5)

    def times_g(rows):  # G·(three rows along the second-last axis)
        g0, g1, g2 = rows[..., 0, :], rows[..., 1, :], rows[..., 2, :]
        return np.stack([g0, (g0 + g1 + g2) * half, (g0 - g1 + g2) * half, g2], axis=-2)

    gg = times_g(weight)  # G g: (O, C, 4, 3)
    u = np.swapaxes(times_g(np.swapaxes(gg, -1, -2)), -1, -2)  # (G g) Gᵀ: (O, C, 4, 4)
    return np.ascontiguousarray(u.reshape(*weight.shape[:2], 16).transpose(2, 0, 1))


def input_transform_reference(x, padding):
    """V = Bᵀ d B of every 4×4 input tile d (module docstring): the tiles of the padded
    input at rows 2i .. 2i + 3 and columns 2j .. 2j + 3, as (16, C, B·t_h·t_w) with
    V[4r + q, c, (b·t_h + i)·t_w + j] = (Bᵀ d B)[r, q]: readable twin of
    ``_winograd_input_kernel``.

    Shapes: x (B, C, H, W) with even H + 2·padding − 2 = 2·t_h, likewise W → (16, C, B·t_h·t_w).
    """
    B, C, H, W = x.shape
    th, tw = (H + 2 * padding - 2) // 2, (W + 2 * padding - 2) // 2
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    d = sliding_window_view(x_pad, (4, 4), axis=(2, 3))[:, :, ::2, ::2][:, :, :th, :tw]  # (B, C, t_h, t_w, 4, 4)

    def times_bt(rows):  # Bᵀ·(four rows along the second-last axis)
        d0, d1, d2, d3 = rows[..., 0, :], rows[..., 1, :], rows[..., 2, :], rows[..., 3, :]
        return np.stack([d0 - d2, d1 + d2, d2 - d1, d1 - d3], axis=-2)

    v = np.swapaxes(times_bt(np.swapaxes(times_bt(d), -1, -2)), -1, -2)  # Bᵀ d B
    return np.ascontiguousarray(v.reshape(B, C, th * tw, 16).transpose(3, 1, 0, 2).reshape(16, C, B * th * tw))


def output_transform_reference(M, bias, out_shape, extra=None):
    """Y = Aᵀ m A + b (+ e) of every tile m[r, q] = M[4r + q, o, (b·t_h + i)·t_w + j]
    (module docstring), the 2×2 output tile at rows 2i, 2i + 1 and columns 2j, 2j + 1:
    readable twin of ``_winograd_output_kernel``. ``extra`` e (O,) is added after the
    bias, as in :func:`~refsnn.networks.layers.conv_output_reference`; None for none.

    Shapes: M (16, O, B·t_h·t_w), bias (O,), ``out_shape`` (B, 2t_h, 2t_w) →
    (B, O, 2t_h, 2t_w).
    """
    O = M.shape[1]
    batch, th, tw = out_shape[0], out_shape[1] // 2, out_shape[2] // 2
    m = M.reshape(4, 4, O, batch, th, tw).transpose(3, 2, 4, 5, 0, 1)  # (B, O, t_h, t_w, 4, 4)

    def times_at(rows):  # Aᵀ·(four rows along the second-last axis)
        m0, m1, m2, m3 = rows[..., 0, :], rows[..., 1, :], rows[..., 2, :], rows[..., 3, :]
        return np.stack([m0 + m1 + m2, m1 - m2 - m3], axis=-2)

    y = np.swapaxes(times_at(np.swapaxes(times_at(m), -1, -2)), -1, -2)  # (B, O, t_h, t_w, 2, 2)
    y = y + bias[None, :, None, None, None, None]
    if extra is not None:
        y = y + np.asarray(extra, dtype=M.dtype)[None, :, None, None, None, None]
    return np.ascontiguousarray(y.transpose(0, 1, 2, 4, 3, 5).reshape(batch, O, 2 * th, 2 * tw))


def conv2d_winograd_reference(x, weight, bias, padding=1):
    """The stride-1 3×3 convolution of :func:`~refsnn.networks.layers.conv2d_reference` by
    F(2×2, 3×3) over the whole batch (module docstring): the twins of the three transforms
    and the 16 products U[rq]·V[rq].

    Shapes: x (B, C, H, W) with H + 2·padding − 2 and W + 2·padding − 2 even; weight (O, C, 3, 3), bias (O,) → (B, O, H + 2·padding − 2, W + 2·padding − 2).
    """
    x = np.asarray(x, dtype=weight.dtype)
    V = input_transform_reference(x, padding)
    M = filter_transform_reference(weight) @ V
    B, _, H, W = x.shape
    return output_transform_reference(M, bias, (B, H + 2 * padding - 2, W + 2 * padding - 2))


def block_images(batch, tiles, channels):
    """Images per block of :func:`forward` for a batch of ``batch`` images with ``tiles``
    output tiles each and ``channels`` = C + O transformed values per tile position: as
    many as fit in :data:`BLOCK_FLOATS` floats of transformed inputs and products, and at
    least enough for :data:`MIN_COLUMNS` tiles, at most the batch."""
    chunk = max(1, BLOCK_FLOATS // (16 * tiles * channels), -(-MIN_COLUMNS // tiles))
    return min(batch, chunk)


def _planes(rows, columns, dtype):
    """An empty (16, rows, columns) array whose 16 planes start 64 bytes past a multiple
    of 4 KiB from each other: the kernels write and read the 16 planes side by side, and
    planes a multiple of 4 KiB apart would compete for the same few lines of the L1 cache.
    The kernels take ``tuple`` of it, 16 C-contiguous planes, so that Numba compiles
    their loops for contiguous rows (for the strided (16, rows, columns) view it would
    compile them for any strides)."""
    itemsize = np.dtype(dtype).itemsize
    stride = (-(-rows * columns * itemsize // 4096) * 4096 + 64) // itemsize  # in items
    store = np.empty(16 * stride, dtype=dtype)
    return np.lib.stride_tricks.as_strided(store, (16, rows, columns), (stride * itemsize, columns * itemsize,
                                                                        itemsize))


def forward(layer, x, extra):
    """The output of the 3×3 stride-1 Conv2d ``layer`` on its checked, C-contiguous input x
    (B, C, H, W) by :func:`convolve`, plus ``extra`` (O,) per channel if not empty (as in
    :func:`~refsnn.networks.fast_conv.forward`)."""
    return convolve(x, layer.weight, layer.bias, layer.padding, extra)


def input_gradient(layer, g4):
    """dL/dx of the 3×3 stride-1 Conv2d ``layer`` for the output gradient g4 (B, O, H_out,
    W_out), by :func:`convolve`:

    .. math::  \\frac{\\partial L}{\\partial x_{b,c}} = \\sum_o g_{b,o} \\star \\tilde W_{c,o},
               \\qquad \\tilde W_{c,o,u,v} = W_{o,c,2-u,2-v},

    the correlation of g, padded by 2 − p, with the kernels transposed and turned by 180°.
    It equals col2im(Wᵀ g) (:func:`~refsnn.networks.layers.col2im_reference`) to float
    rounding. Shapes: g4 (B, O, H_out, W_out) → (B, C, H, W).
    """
    turned = np.ascontiguousarray(layer.weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    zeros = np.zeros(layer.in_channels, dtype=layer.weight.dtype)
    return convolve(np.ascontiguousarray(g4), turned, zeros, 2 - layer.padding, zeros[:0])


def convolve(x, weight, bias, padding, extra):
    """y = b + W ⋆ x_pad (+ extra) for a 3×3 kernel at stride 1 by F(2×2, 3×3) (module
    docstring), for a C-contiguous x (B, C, H, W) with even output sides: the weights
    transformed once, then one block of :func:`block_images` images at a time, its inputs
    transformed, multiplied and transformed back into the output. ``extra`` (O,) is added
    after the bias, or empty.

    With more than one thread (:func:`refsnn.threads.run_split`) each thread takes a run
    of the blocks; a batch of fewer blocks than threads (the deep layers' small maps)
    splits each step of a block instead: the input transform by input channels, the 16
    products by tile position, the output transform by output channels. Either way each
    value is computed as on one thread, so any number of threads gives the same bits.

    Shapes: x (B, C, H, W), weight (O, C, 3, 3), bias (O,) → (B, O, H + 2p − 2, W + 2p − 2).
    """
    p = padding
    B, C, H, W = x.shape
    O = weight.shape[0]
    Ho, Wo = H + 2 * p - 2, W + 2 * p - 2
    th, tw = Ho // 2, Wo // 2
    tiles = th * tw
    chunk = block_images(B, tiles, C + O)
    U = _planes(O, C, x.dtype)
    layer_kernels._winograd_filter_kernel(weight, x.dtype.type(0.5), U)
    out = np.empty((B, O, Ho, Wo), dtype=x.dtype)
    starts = range(0, B, chunk)
    within = len(starts) < threads.workers()  # too few blocks to share: split each block's steps

    def scratch():
        """One zero-padded plane and the Bᵀ d of a row of tiles, for the input transform."""
        return np.empty((2 * th + 2, 2 * tw + 2), dtype=x.dtype), np.empty((4, 2 * tw + 2), dtype=x.dtype)

    def block(start, V, M, padded, combos):
        """One block: V and M are (16, ·, ·) planes (:func:`_planes`) and their tuples of planes."""
        (V, V_planes), (M, M_planes) = V, M
        n = min(chunk, B - start)
        if not within:
            layer_kernels._winograd_input_kernel(x, start, p, padded, combos, V_planes)
            np.matmul(U, V, out=M)
            layer_kernels._winograd_output_kernel(M_planes, bias, extra, out[start:start + n])
            return

        def inputs(channels):
            layer_kernels._winograd_input_kernel(x[:, channels], start, p, *scratch(),
                                                 tuple(plane[channels] for plane in V_planes))

        def outputs(channels):
            layer_kernels._winograd_output_kernel(tuple(plane[channels] for plane in M_planes), bias[channels],
                                                  extra[channels] if extra.size else extra,
                                                  out[start:start + n, channels])

        threads.run_split(inputs, _slices(C))
        threads.run_split(lambda positions: np.matmul(U[positions], V[positions], out=M[positions]), _slices(16))
        threads.run_split(outputs, _slices(O))

    def planes(rows, columns):
        stacked = _planes(rows, columns, x.dtype)
        return stacked, tuple(stacked)

    def blocks(part):
        """The blocks that begin at ``part``, with their own scratch (one part of run_split)."""
        padded, combos = scratch()
        V, M = planes(C, chunk * tiles), planes(O, chunk * tiles)
        for start in part:
            if start + chunk > B:  # the last, shorter block: planes of its own width
                V, M = planes(C, (B - start) * tiles), planes(O, (B - start) * tiles)
            block(start, V, M, padded, combos)

    threads.run_split(blocks, [starts] if within else threads.split(starts))
    return out


def _slices(n):
    """0..n as one slice per thread (:func:`refsnn.threads.split`)."""
    return [slice(part.start, part.stop) for part in threads.split(range(n))]
