"""Numba kernels of the network layers (:mod:`refsnn.networks.layers`,
:mod:`refsnn.networks.activations`).

Each kernel has a readable NumPy twin that it equals bit for bit (the BatchNorm kernels
to float rounding: they sum in float64, the twins in float32), tested in
``tests/test_layers.py``, ``tests/test_activations.py``, ``tests/test_training.py``,
``tests/test_normalization.py`` and ``tests/test_winograd.py``:

=================================  ===========================================================
kernel                             twin
=================================  ===========================================================
``_im2col_kernel``                 :func:`~refsnn.networks.layers.im2col_reference`
``_im2col_long_rows``              :func:`~refsnn.networks.layers.im2col_reference`, stride 1, long rows
``_inside``                        :func:`~refsnn.networks.layers.im2col_reference`'s padding, stride 1
``_im2col_images_inner_kernel``    :func:`~refsnn.networks.layers.im2col_reference`, columns (i, j, b)
``_im2col_positions_kernel``       :func:`~refsnn.networks.layers.im2col_reference` (rows, k = 3)
``_col2im_kernel``                 :func:`~refsnn.networks.layers.col2im_reference`
``_col2im_long_rows``              :func:`~refsnn.networks.layers.col2im_reference`, stride 1, long rows
``_conv_output_kernel``            :func:`~refsnn.networks.layers.conv_output_reference`
``_conv_output_positions_kernel``  :func:`~refsnn.networks.layers.conv_output_reference` of the transpose
``_avg_pool_kernel``               :func:`~refsnn.networks.layers.avg_pool2d_reference`
``_avg_pool_2x2_kernel``           :func:`~refsnn.networks.layers.avg_pool2d_reference`, k = 2
``_qcfs_backward_kernel``          :func:`~refsnn.networks.activations.qcfs_backward_reference`
``_adam_kernel``                   :meth:`~refsnn.networks.training.Adam.step_reference`
``_batchnorm_eval_kernel``         :func:`~refsnn.networks.normalization.batchnorm_eval_reference`
``_batchnorm_train_kernel``        :func:`~refsnn.networks.normalization.batchnorm_train_reference`
``_batchnorm_backward_kernel``     :func:`~refsnn.networks.normalization.batchnorm_backward_reference`
``_winograd_filter_kernel``        :func:`~refsnn.networks.winograd.filter_transform_reference`
``_winograd_input_kernel``         :func:`~refsnn.networks.winograd.input_transform_reference`
``_winograd_output_kernel``        :func:`~refsnn.networks.winograd.output_transform_reference`
=================================  ===========================================================

Why kernels: the NumPy twins pad the input with ``np.pad`` (a copy per call), gather the
patches through a 6-D strided view (a slow copy), copy the matrix product into the
output through a transposed view, sum the pooling windows as k² strided slices (k²
passes over the output), and the QCFS backward pass and an Adam update take eight
array passes each. The kernels read their input once and write the result once,
padding with zeros as they go.
They live in one file because Numba's on-disk cache tracks only the defining file.
Nothing compiles at import; each kernel compiles on its first call (cached on disk).
"""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _im2col_kernel(x, start, kernel_size, stride, padding, out_height, out_width, cols):  # pragma: no cover
    """cols[(c·k + u)·k + v, (b·H_out + i)·W_out + j] = x_pad[start + b, c, s·i + u, s·j + v].

    The transpose of :func:`~refsnn.networks.layers.im2col_reference`'s matrix: ``cols``
    has shape (C·k·k, n·H_out·W_out) for the n images ``start .. start + n`` of ``x``
    (B, C, H, W), so that the innermost loop (over j) reads a row of the image and
    writes a row of ``cols``, both contiguous. ``x_pad`` is ``x`` with ``padding`` zeros
    on every side, never built: taps that land in the padding are written as 0.
    Rows of at least :data:`LONG_ROW` values at stride 1 are copied by :func:`_im2col_long_rows`.
    """
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    k, s, p = kernel_size, stride, padding
    n = cols.shape[1] // (out_height * out_width)
    if s == 1 and out_width >= LONG_ROW:
        _im2col_long_rows(x, start, k, p, out_height, out_width, cols)
        return
    for c in range(C):
        for u in range(k):
            for v in range(k):
                target = cols[(c * k + u) * k + v]
                for b in range(n):
                    image = x[start + b, c]
                    for i in range(out_height):
                        row = (b * out_height + i) * out_width
                        y = s * i + u - p
                        if y < 0 or y >= H:
                            for j in range(out_width):
                                target[row + j] = 0
                            continue
                        line = image[y]
                        for j in range(out_width):
                            z = s * j + v - p
                            if 0 <= z < W:
                                target[row + j] = line[z]
                            else:
                                target[row + j] = 0


#: Output rows at least this long are gathered by :func:`_im2col_long_rows` (stride 1):
#: a copy loop over a row's taps inside the image, with no test per value, pays off
#: once the row is long.
LONG_ROW = 16


@njit(cache=True, nogil=True, inline="always")
def _inside(padding, tap, size, out_size):  # pragma: no cover - compiled
    """(lo, hi): the outputs lo ≤ i < hi (of 0..out_size) whose tap lands inside the
    image at stride 1, 0 ≤ i + tap − padding < size; lo = hi when none does."""
    lo = min(max(0, padding - tap), out_size)
    return lo, max(lo, min(out_size, size + padding - tap))


@njit(cache=True, nogil=True)
def _im2col_long_rows(x, start, kernel_size, padding, out_height, out_width, cols):  # pragma: no cover
    """:func:`_im2col_kernel` at stride 1: the taps of output row i, column j land on
    image row i + u − p and column j + v − p, so the taps of a row that land inside the
    image are one contiguous run (lo ≤ j < hi), copied between views that start at 0 (so
    that the loop vectorizes); the taps in the padding are set to 0."""
    C = x.shape[1]
    H, W = x.shape[2], x.shape[3]
    k, p = kernel_size, padding
    n = cols.shape[1] // (out_height * out_width)
    for c in range(C):
        for u in range(k):
            rows_lo, rows_hi = _inside(p, u, H, out_height)
            for v in range(k):
                j_lo, j_hi = _inside(p, v, W, out_width)
                target = cols[(c * k + u) * k + v]
                for b in range(n):
                    image = x[start + b, c]
                    for i in range(out_height):
                        row = target[(b * out_height + i) * out_width:(b * out_height + i + 1) * out_width]
                        if i < rows_lo or i >= rows_hi:
                            for j in range(out_width):
                                row[j] = 0
                            continue
                        inside = row[j_lo:j_hi]
                        source = image[i + u - p, j_lo + v - p:j_hi + v - p]
                        for j in range(j_lo):
                            row[j] = 0
                        for j in range(j_hi - j_lo):
                            inside[j] = source[j]
                        for j in range(j_hi, out_width):
                            row[j] = 0


@njit(cache=True, nogil=True)
def _im2col_images_inner_kernel(images, kernel_size, stride, padding, out_height, out_width, cols):  # pragma: no cover
    """cols[(c·k + u)·k + v, (i·W_out + j)·n + b] = x_pad[b, c, s·i + u, s·j + v], images innermost.

    ``images`` holds n images as (C, H, W, n) (the batch axis last), so that every tap
    copies a contiguous run of n values: the layout for narrow outputs, whose rows of
    W_out values are too short to copy fast (:func:`refsnn.networks.fast_conv.forward`).
    The same entries as :func:`_im2col_kernel`, with the columns in (i, j, b) order.
    """
    C, H, W, n = images.shape
    k, s, p = kernel_size, stride, padding
    for c in range(C):
        for u in range(k):
            for v in range(k):
                target = cols[(c * k + u) * k + v]
                for i in range(out_height):
                    y = s * i + u - p
                    for j in range(out_width):
                        z = s * j + v - p
                        start = (i * out_width + j) * n
                        if 0 <= y < H and 0 <= z < W:
                            source = images[c, y, z]
                            for b in range(n):
                                target[start + b] = source[b]
                        else:
                            for b in range(n):
                                target[start + b] = 0


@njit(cache=True, nogil=True)
def _im2col_positions_kernel(x, start, stride, padding, out_height, out_width, padded,
                             patches):  # pragma: no cover - compiled
    """patches[(b·H_out + i)·W_out + j, (c·3 + u)·3 + v] = x_pad[start + b, c, s·i + u, s·j + v], k = 3.

    The rows of :func:`~refsnn.networks.layers.im2col_reference`'s matrix (one output
    position per row, not transposed) for the n images ``start .. start + n`` of ``x``
    (B, C, H, W) and a 3×3 kernel; ``patches`` has shape (n·H_out·W_out, 9·C).
    ``padded`` (C, H + 2p, W + 2p) is scratch: each image is copied into it inside a zero
    border (zeroed once), so that the gather reads x_pad itself, with no test per value;
    the nine taps of a channel are nine statements.
    """
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    s, p = stride, padding
    n = patches.shape[0] // (out_height * out_width)
    padded[:] = 0
    for b in range(n):
        for c in range(C):
            for y in range(H):
                for z in range(W):
                    padded[c, y + p, z + p] = x[start + b, c, y, z]
        for i in range(out_height):
            first = (b * out_height + i) * out_width
            y = s * i
            for c in range(C):
                t = c * 9
                for j in range(out_width):
                    q, z = first + j, s * j
                    patches[q, t] = padded[c, y, z]
                    patches[q, t + 1] = padded[c, y, z + 1]
                    patches[q, t + 2] = padded[c, y, z + 2]
                    patches[q, t + 3] = padded[c, y + 1, z]
                    patches[q, t + 4] = padded[c, y + 1, z + 1]
                    patches[q, t + 5] = padded[c, y + 1, z + 2]
                    patches[q, t + 6] = padded[c, y + 2, z]
                    patches[q, t + 7] = padded[c, y + 2, z + 1]
                    patches[q, t + 8] = padded[c, y + 2, z + 2]


@njit(cache=True, nogil=True)
def _conv_output_positions_kernel(product, bias, extra, out):  # pragma: no cover - compiled
    """out[b, o, r] = product[b·R + r, o] + bias[o] (+ extra[o]) for a block of n images.

    :func:`_conv_output_kernel` for the product of position-major patches
    (:func:`_im2col_positions_kernel`) and the transposed weights: ``product`` is
    (n·R, O), one output position per row. The readable twin is
    :func:`~refsnn.networks.layers.conv_output_reference` of ``product.T``. Positions
    go eight at a time, so that each channel writes a run of eight values from eight
    rows of ``product`` that stay in the cache; ``extra`` is added in a second pass
    over each image (the same second rounding).
    """
    n, O, R = out.shape
    for b in range(n):
        r = 0
        while r + 8 <= R:
            q = b * R + r
            for o in range(O):
                beta = bias[o]
                out[b, o, r] = product[q, o] + beta
                out[b, o, r + 1] = product[q + 1, o] + beta
                out[b, o, r + 2] = product[q + 2, o] + beta
                out[b, o, r + 3] = product[q + 3, o] + beta
                out[b, o, r + 4] = product[q + 4, o] + beta
                out[b, o, r + 5] = product[q + 5, o] + beta
                out[b, o, r + 6] = product[q + 6, o] + beta
                out[b, o, r + 7] = product[q + 7, o] + beta
            r += 8
        for rest in range(r, R):
            for o in range(O):
                out[b, o, rest] = product[b * R + rest, o] + bias[o]
        if extra.size > 0:
            for o in range(O):
                more = extra[o]
                for rest in range(R):
                    out[b, o, rest] += more


@njit(cache=True, nogil=True)
def _col2im_kernel(dcols, kernel_size, stride, padding, out_height, out_width, dx):  # pragma: no cover
    """dx[b, c, s·i + u − p, s·j + v − p] += dcols[(c·k + u)·k + v, (b·H_out + i)·W_out + j].

    ``dcols`` is in the layout of :func:`_im2col_kernel` (the transpose of the twin's);
    ``dx`` (B, C, H, W) must hold zeros. Every input position receives its terms in the
    order of the taps (u, v), row-major, as in :func:`~refsnn.networks.layers.col2im_reference`,
    so the two sums are the same floating-point sums; taps in the padding are skipped.
    Rows of at least :data:`LONG_ROW` values at stride 1 go to :func:`_col2im_long_rows`.
    """
    B, C, H, W = dx.shape
    k, s, p = kernel_size, stride, padding
    if s == 1 and out_width >= LONG_ROW:
        _col2im_long_rows(dcols, k, p, out_height, out_width, dx)
        return
    for c in range(C):
        for u in range(k):
            for v in range(k):
                source = dcols[(c * k + u) * k + v]
                for b in range(B):
                    image = dx[b, c]
                    for i in range(out_height):
                        y = s * i + u - p
                        if y < 0 or y >= H:
                            continue
                        row = (b * out_height + i) * out_width
                        line = image[y]
                        for j in range(out_width):
                            z = s * j + v - p
                            if 0 <= z < W:
                                line[z] += source[row + j]


@njit(cache=True, nogil=True)
def _col2im_long_rows(dcols, kernel_size, padding, out_height, out_width, dx):  # pragma: no cover
    """:func:`_col2im_kernel` at stride 1, each row's taps inside the image added as one
    run between views that start at 0 (as in :func:`_im2col_long_rows`): the same terms in
    the same order for every input position."""
    B, C, H, W = dx.shape
    k, p = kernel_size, padding
    for c in range(C):
        for u in range(k):
            rows_lo, rows_hi = _inside(p, u, H, out_height)
            for v in range(k):
                j_lo, j_hi = _inside(p, v, W, out_width)
                source = dcols[(c * k + u) * k + v]
                for b in range(B):
                    image = dx[b, c]
                    for i in range(rows_lo, rows_hi):
                        row = (b * out_height + i) * out_width
                        terms = source[row + j_lo:row + j_hi]
                        line = image[i + u - p, j_lo + v - p:j_hi + v - p]
                        for j in range(j_hi - j_lo):
                            line[j] += terms[j]


@njit(cache=True, nogil=True)
def _avg_pool_kernel(x, kernel_size, window, out):  # pragma: no cover - compiled
    """out[b, c, i, j] = (Σ_u Σ_v x[b, c, k·i + u, k·j + v]) / window, the k² terms
    added in row-major order (u, then v) starting from the first, as the twin adds its
    strided slices; ``window`` is k² in the dtype of ``x``."""
    B, C, Ho, Wo = out.shape
    k = kernel_size
    for b in range(B):
        for c in range(C):
            plane = x[b, c]
            pooled = out[b, c]
            for i in range(Ho):
                for j in range(Wo):
                    total = plane[k * i, k * j]
                    for v in range(1, k):  # the rest of the window's first row
                        total += plane[k * i, k * j + v]
                    for u in range(1, k):
                        for v in range(k):
                            total += plane[k * i + u, k * j + v]
                    pooled[i, j] = total / window


@njit(cache=True, nogil=True)
def _avg_pool_2x2_kernel(x, quarter, out):  # pragma: no cover - compiled
    """:func:`_avg_pool_kernel` for k = 2, with the window unrolled:
    out[b, c, i, j] = (((x₀₀ + x₀₁) + x₁₀) + x₁₁)·¼ with x_uv = x[b, c, 2i + u, 2j + v].

    ``quarter`` is ¼ in the dtype of ``x``: multiplying by it equals dividing by 4 bit
    for bit (both round the same exact quotient, as for any power of two)."""
    B, C, Ho, Wo = out.shape
    for b in range(B):
        for c in range(C):
            plane = x[b, c]
            pooled = out[b, c]
            for i in range(Ho):
                top = plane[2 * i]
                bottom = plane[2 * i + 1]
                row = pooled[i]
                for j in range(Wo):
                    row[j] = (((top[2 * j] + top[2 * j + 1]) + bottom[2 * j]) + bottom[2 * j + 1]) * quarter


@njit(cache=True, nogil=True)
def _conv_output_kernel(product, bias, extra, images_inner, out):  # pragma: no cover - compiled
    """out[b, o, r] = product[o, column(b, r)] + bias[o] (+ extra[o]) for a block of n images.

    ``product`` (O, n·R) is the weights times a block's patch columns, R = H_out·W_out;
    column(b, r) = b·R + r for columns in (b, i, j) order, r·n + b with ``images_inner``
    (columns (i, j, b), :func:`_im2col_images_inner_kernel`). ``extra`` is empty, or one
    more value per channel added after the bias (the collapsed SNN's (T − 1)·bias,
    the ``offset`` of :func:`refsnn.networks.fast_conv.forward`). ``out`` is the block's
    (n, O, R) view of the layer's output. The readable twin is
    :func:`~refsnn.networks.layers.conv_output_reference` (a transposed view plus the bias),
    which NumPy copies through a strided view.
    """
    n, O, R = out.shape
    for b in range(n):
        for o in range(O):
            beta = bias[o]
            source = product[o]
            target = out[b, o]
            if images_inner:
                for r in range(R):
                    target[r] = source[r * n + b] + beta
            else:
                for r in range(R):
                    target[r] = source[b * R + r] + beta
            if extra.size > 0:
                more = extra[o]
                for r in range(R):
                    target[r] += more


@njit(cache=True, nogil=True)
def _qcfs_backward_kernel(z, out, grad, theta, one, dx, terms):  # pragma: no cover - compiled
    """One pass of :meth:`QCFS.backward <refsnn.networks.activations.QCFS.backward>` over
    flat arrays, with m = [0 <= z <= θ]: dx = g·m and the terms g·([z > θ] + m·(y/θ − z/θ))
    of the θ-gradient, in the dtype of ``z`` (``one`` is 1 in that dtype), with the
    operations of the twin :func:`~refsnn.networks.activations.qcfs_backward_reference`;
    the caller sums ``terms`` as the twin does. No branch in the loop: it vectorizes."""
    zero = one - one
    for i in range(z.size):
        zi = z[i]
        inside = one if (zi >= 0) & (zi <= theta) else zero
        above = one if zi > theta else zero
        dx[i] = grad[i] * inside
        terms[i] = grad[i] * (above + inside * (out[i] / theta - zi / theta))


@njit(cache=True, nogil=True)
def _adam_kernel(p, g, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, bias1, bias2, lr, eps):  # pragma: no cover
    """One Adam update of flat arrays, in place, with the operations of
    :meth:`Adam.step_reference <refsnn.networks.training.Adam.step_reference>` in the same
    order; every constant comes in the dtype of ``p`` (``one_minus_beta1`` = 1 − β₁
    rounded once, ``bias1`` = 1 − β₁ᵗ), as NumPy rounds a Python float in an operation
    with a float32 array."""
    for i in range(p.size):
        mi = m[i] * beta1
        mi = mi + one_minus_beta1 * g[i]
        vi = v[i] * beta2
        vi = vi + one_minus_beta2 * g[i] * g[i]
        m[i] = mi
        v[i] = vi
        p[i] = p[i] - lr * (mi / bias1) / (np.sqrt(vi / bias2) + eps)


@njit(cache=True, nogil=True)
def _batchnorm_eval_kernel(x, a, c, out):  # pragma: no cover - compiled
    """BatchNorm's evaluation-mode forward over (B, C, S) arrays: out = a·x + c per
    channel, the product rounded to the dtype of ``x`` before the sum, as in the twin
    :func:`~refsnn.networks.normalization.batchnorm_eval_reference` (one pass instead of
    two, and no temporary)."""
    B, C, S = x.shape
    for b in range(B):
        for ch in range(C):
            scale, shift = a[ch], c[ch]
            row, target = x[b, ch], out[b, ch]
            for s in range(S):
                target[s] = scale * row[s] + shift


@njit(cache=True, nogil=True)
def _batchnorm_train_kernel(x, weight, bias, eps, out, x_hat, mean, var, inv_std):  # pragma: no cover
    """BatchNorm's training-mode forward over (B, C, S) arrays (S = H·W, or 1):
    per channel the batch mean and (biased) variance, summed in float64 over the n = B·S
    values, then x̂ = (x − μ)/√(σ² + ε) and out = γ·x̂ + β in the dtype of ``x``; ``mean``,
    ``var`` and ``inv_std`` (C,) receive μ, σ² and 1/√(σ² + ε). Three passes over x
    instead of the twin's seven (:func:`~refsnn.networks.normalization.batchnorm_train_reference`,
    equal to float rounding: the twin sums in float32, pairwise)."""
    B, C, S = x.shape
    n = B * S
    cast = np.empty(3, dtype=x.dtype)  # float64 → the dtype of x, as astype would round
    for c in range(C):
        total = 0.0
        for b in range(B):
            row = x[b, c]
            for s in range(S):
                total += row[s]
        m = total / n
        squares = 0.0
        for b in range(B):
            row = x[b, c]
            for s in range(S):
                d = row[s] - m
                squares += d * d
        v = squares / n
        mean[c], var[c] = m, v
        cast[0], cast[1], cast[2] = m, v, 1
        m32 = cast[0]
        k = cast[2] / np.sqrt(cast[1] + eps)  # 1/√(σ² + ε) in the dtype of x
        inv_std[c] = k
        g, h = weight[c], bias[c]
        for b in range(B):
            row, hat, o = x[b, c], x_hat[b, c], out[b, c]
            for s in range(S):
                t = (row[s] - m32) * k
                hat[s] = t
                o[s] = g * t + h


@njit(cache=True, nogil=True)
def _batchnorm_backward_kernel(grad, x_hat, weight, inv_std, dx, sum_g, sum_gx):  # pragma: no cover
    """BatchNorm's training-mode backward over (B, C, S) arrays: per channel
    Σg and Σg·x̂ (float64 sums, written to ``sum_g`` and ``sum_gx``), then
    dx = γ/(n√(σ² + ε))·(n·g − Σg − x̂·Σg·x̂) in two passes instead of the twin's eight
    (:func:`~refsnn.networks.normalization.batchnorm_backward_reference`, equal to float
    rounding)."""
    B, C, S = grad.shape
    n = B * S
    cast = np.empty(3, dtype=grad.dtype)
    for c in range(C):
        sg, sgx = 0.0, 0.0
        for b in range(B):
            gr, hat = grad[b, c], x_hat[b, c]
            for s in range(S):
                sg += gr[s]
                sgx += gr[s] * hat[s]
        sum_g[c], sum_gx[c] = sg, sgx
        cast[0], cast[1], cast[2] = n, sg, sgx  # in the dtype of grad
        nf, a, q = cast[0], cast[1], cast[2]
        scale = weight[c] * inv_std[c] / nf
        for b in range(B):
            gr, hat, d = grad[b, c], x_hat[b, c], dx[b, c]
            for s in range(S):
                d[s] = scale * (nf * gr[s] - a - hat[s] * q)


@njit(cache=True, nogil=True)
def _winograd_filter_kernel(weight, half, U):  # pragma: no cover - compiled
    """U[4r + q, o, c] = (G g Gᵀ)[r, q] for each 3×3 kernel g = weight[o, c], U (16, O, C).

    G g has the rows g₀, (g₀ + g₁ + g₂)·½, (g₀ − g₁ + g₂)·½, g₂ of the rows gᵤ of g;
    ``half`` is ½ in the dtype of the weights. The readable twin is
    :func:`~refsnn.networks.winograd.filter_transform_reference` (the same operations).
    """
    O, C = weight.shape[0], weight.shape[1]
    h = np.empty((4, 3), dtype=weight.dtype)  # G g
    for o in range(O):
        for c in range(C):
            g = weight[o, c]
            for v in range(3):
                h[0, v] = g[0, v]
                h[1, v] = (g[0, v] + g[1, v] + g[2, v]) * half
                h[2, v] = (g[0, v] - g[1, v] + g[2, v]) * half
                h[3, v] = g[2, v]
            for r in range(4):
                U[4 * r, o, c] = h[r, 0]
                U[4 * r + 1, o, c] = (h[r, 0] + h[r, 1] + h[r, 2]) * half
                U[4 * r + 2, o, c] = (h[r, 0] - h[r, 1] + h[r, 2]) * half
                U[4 * r + 3, o, c] = h[r, 2]


@njit(cache=True, nogil=True)
def _winograd_input_kernel(x, start, padding, padded, combos, V):  # pragma: no cover - compiled
    """V[4r + q][c, (b·t_h + i)·t_w + j] = (Bᵀ d B)[r, q], d the 4×4 tile of x_pad[start + b, c]
    at rows 2i .. 2i + 3 and columns 2j .. 2j + 3: a block of n images, V a tuple of 16
    C-contiguous (C, n·t_h·t_w) planes (``tuple`` of a (16, C, n·t_h·t_w) array: Numba
    compiles the planes' loops for contiguous memory, a strided 3-D array's for any strides).

    Each plane is zero-padded into ``padded`` (2t_h + 2, 2t_w + 2); for each row of tiles,
    Bᵀ d takes the rows d₀ − d₂, d₁ + d₂, d₂ − d₁, d₁ − d₃ of the four padded rows at once
    (into ``combos`` (4, 2t_w + 2)), and (Bᵀ d) B the same of each tile's columns. The
    readable twin is :func:`~refsnn.networks.winograd.input_transform_reference` (the
    same operations).
    """
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    p = padding
    Hp, Wp = padded.shape
    th, tw = (Hp - 2) // 2, (Wp - 2) // 2
    n = V[0].shape[1] // (th * tw)
    for c in range(C):
        for b in range(n):
            padded[:] = 0
            for y in range(H):
                for z in range(W):
                    padded[y + p, z + p] = x[start + b, c, y, z]
            for i in range(th):
                for z in range(Wp):  # Bᵀ d for the row of tiles
                    d0, d1, d2, d3 = padded[2 * i, z], padded[2 * i + 1, z], padded[2 * i + 2, z], padded[2 * i + 3, z]
                    combos[0, z] = d0 - d2
                    combos[1, z] = d1 + d2
                    combos[2, z] = d2 - d1
                    combos[3, z] = d1 - d3
                first = (b * th + i) * tw
                for r in range(4):  # (Bᵀ d) B, tile by tile
                    for j in range(tw):
                        z = 2 * j
                        t0, t1, t2, t3 = combos[r, z], combos[r, z + 1], combos[r, z + 2], combos[r, z + 3]
                        V[4 * r][c, first + j] = t0 - t2
                        V[4 * r + 1][c, first + j] = t1 + t2
                        V[4 * r + 2][c, first + j] = t2 - t1
                        V[4 * r + 3][c, first + j] = t1 - t3


@njit(cache=True, nogil=True)
def _winograd_output_kernel(M, bias, extra, out):  # pragma: no cover - compiled
    """out[b, o, 2i + a, 2j + e] = (Aᵀ m A)[a, e] + bias[o] (+ extra[o]), m the 4×4 tile
    m[r, q] = M[4r + q][o, (b·t_h + i)·t_w + j]: a block of n images, out (n, O, 2t_h, 2t_w),
    M a tuple of 16 C-contiguous (O, n·t_h·t_w) planes (as V in :func:`_winograd_input_kernel`).

    For each output channel, Aᵀ m (the rows m₀ + m₁ + m₂ and m₁ − m₂ − m₃ of the tile)
    in place in M's first eight planes, one pass over the tiles; then (Aᵀ m) A (the same
    of its columns) with the bias, written into the output tile by tile. ``extra`` is
    empty or added after the bias, as in :func:`_conv_output_kernel`. The readable twin
    is :func:`~refsnn.networks.winograd.output_transform_reference` (the same operations).
    """
    n, O = out.shape[0], out.shape[1]
    th, tw = out.shape[2] // 2, out.shape[3] // 2
    P = n * th * tw
    more = extra.size > 0
    for o in range(O):
        for q in range(4):  # Aᵀ m: s_q = m₀q + m₁q + m₂q into plane q, u_q = m₁q − m₂q − m₃q into 4 + q
            m0, m1, m2, m3 = M[q][o], M[4 + q][o], M[8 + q][o], M[12 + q][o]
            for t in range(P):
                a, e, f, g = m0[t], m1[t], m2[t], m3[t]
                m0[t] = a + e + f
                m1[t] = e - f - g
        s0, s1, s2, s3 = M[0][o], M[1][o], M[2][o], M[3][o]
        u0, u1, u2, u3 = M[4][o], M[5][o], M[6][o], M[7][o]
        beta = bias[o]
        e = extra[o] if more else 0
        for b in range(n):
            for i in range(th):
                first = (b * th + i) * tw
                for j in range(tw):
                    t = first + j
                    y00 = s0[t] + s1[t] + s2[t] + beta
                    y01 = s1[t] - s2[t] - s3[t] + beta
                    y10 = u0[t] + u1[t] + u2[t] + beta
                    y11 = u1[t] - u2[t] - u3[t] + beta
                    if more:
                        y00 += e
                        y01 += e
                        y10 += e
                        y11 += e
                    out[b, o, 2 * i, 2 * j] = y00
                    out[b, o, 2 * i, 2 * j + 1] = y01
                    out[b, o, 2 * i + 1, 2 * j] = y10
                    out[b, o, 2 * i + 1, 2 * j + 1] = y11
