"""Training and evaluation for the networks of :mod:`refsnn.networks.layers`.

* :func:`cross_entropy`: softmax cross-entropy and its gradient;
* :class:`Adam`: the Adam optimizer, updating parameter arrays in place;
* :func:`fit`: a mini-batch training loop;
* :func:`forward_batches`, :func:`predict`, :func:`accuracy`: batched inference.

Example: a QCFS CNN on the bundled digits; 30 epochs reach about 97% test accuracy, as
with ReLU instead of QCFS::

    rng = np.random.default_rng(0)
    X_train, y_train, X_test, y_test = load_digits(seed=0)
    net = Sequential(Conv2d(1, 16, 3, padding=1, rng=rng), QCFS(8.0, levels=4), AvgPool2d(2),
                     Conv2d(16, 32, 3, padding=1, rng=rng), QCFS(8.0, levels=4), AvgPool2d(2),
                     Flatten(), Linear(32 * 2 * 2, 10, rng))
    fit(net, X_train, y_train, epochs=30, batch_size=32, lr=3e-3, rng=rng)
    accuracy(net, X_test, y_test)

The matrices of these small networks are too small to gain from multi-threaded BLAS,
and a busy second core slows a split product down: the ``refsnn`` commands and the
tutorials run on one thread (:mod:`refsnn.threads`); in a program of your own, call
``refsnn.use_threads()`` first to do the same.
"""

import numpy as np

from .._checks import as_float, as_int, check_positive, check_samples
from . import layer_kernels, sample_runs
from .containers import evaluation_mode, find_nonfinite, iter_layers, set_training
from .normalization import BatchNorm
from .spiking import SpikingNetwork, first_neuron_layer

__all__ = ["cross_entropy", "Adam", "fit", "forward_batches", "predict", "accuracy"]


def cross_entropy(logits, y):
    """Mean softmax cross-entropy of a batch, and its gradient.

    .. math::

        \\ell = -\\frac{1}{B} \\sum_b \\log \\operatorname{softmax}(x_b)_{y_b}, \\qquad
        \\frac{\\partial \\ell}{\\partial x_b} = \\frac{\\operatorname{softmax}(x_b) - e_{y_b}}{B}

    The log-softmax subtracts each row's maximum before exponentiating, so large logits
    do not overflow.

    Parameters
    ----------
    logits : ndarray, shape (B, K)
    y : array_like of int, shape (B,)
        Class indices in 0..K-1.

    Returns
    -------
    loss : float
    grad_logits : ndarray, shape (B, K), dtype of ``logits``
    """
    logits = np.asarray(logits)
    y = np.asarray(y)
    if logits.ndim != 2 or y.shape != (logits.shape[0],):
        raise ValueError(f"expected logits (B, K) and labels (B,), got {logits.shape} and {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= logits.shape[1]):
        raise ValueError(f"labels must lie in 0..{logits.shape[1] - 1}, got {y.min()}..{y.max()}")
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(y.size)
    loss = -float(np.mean(log_softmax[rows, y], dtype=np.float64))
    grad = np.exp(log_softmax)
    grad[rows, y] -= 1
    return loss, grad / logits.dtype.type(y.size)


class Adam:
    """Adam (Kingma & Ba, 2015), updating the arrays of ``params`` in place.

    For each parameter p with gradient g, at step t = 1, 2, …

    .. math::

        m \\leftarrow \\beta_1 m + (1-\\beta_1) g, \\quad
        v \\leftarrow \\beta_2 v + (1-\\beta_2) g^2, \\quad
        p \\leftarrow p - \\mathrm{lr}\\,
            \\frac{m / (1-\\beta_1^t)}{\\sqrt{v / (1-\\beta_2^t)} + \\epsilon}

    Parameters
    ----------
    params, grads : dict name -> ndarray
        Same keys; typically ``net.params()`` and ``net.grads()``. The gradient arrays
        are read at every :meth:`step`, so layers must write gradients into them in
        place (all layers of :mod:`refsnn.networks.layers` do).
    lr : float, default 1e-3
        Finite and > 0.
    betas : (float, float), default (0.9, 0.999)
        Both in [0, 1).
    eps : float, default 1e-8
        Finite and > 0.

    Raises
    ------
    TypeError
        If a hyperparameter is of the wrong type (naming it).
    ValueError
        If the dicts do not match, or a hyperparameter is out of range (naming it).
    """

    def __init__(self, params, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        if set(params) != set(grads):
            raise ValueError(
                f"params and grads must have the same keys, got {sorted(params)} and {sorted(grads)}"
            )
        for name in params:
            if params[name].shape != grads[name].shape:
                raise ValueError(
                    f"{name}: parameter shape {params[name].shape} != gradient shape {grads[name].shape}"
                )
        lr, eps = check_positive("lr", lr), check_positive("eps", eps)
        if not isinstance(betas, (tuple, list)):
            raise TypeError(f"betas must be a pair of numbers in [0, 1), got {betas!r}")
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair of numbers in [0, 1), got {betas!r}")
        betas = tuple(as_float(f"betas[{i}]", b, "[0, 1)") for i, b in enumerate(betas))
        self.params, self.grads = params, grads
        self.lr, self.betas, self.eps = lr, betas, eps
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}
        self.t = 0

    def step(self):
        """Apply one update to every parameter, in place: one compiled pass per array
        (the operations of :meth:`step_reference`, in the same order and dtype, so the
        two agree bit for bit)."""
        self.t += 1
        b1, b2 = self.betas
        for name, p in self.params.items():
            g, m, v = self.grads[name], self.m[name], self.v[name]
            if not all(a.flags.c_contiguous and a.dtype == p.dtype for a in (p, g, m, v)):
                self._update_reference(name, b1, b2)
                continue
            c = p.dtype.type
            layer_kernels._adam_kernel(p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1),
                                       c(b1), c(1 - b1), c(b2), c(1 - b2), c(1 - b1 ** self.t),
                                       c(1 - b2 ** self.t), c(self.lr), c(self.eps))

    def step_reference(self):
        """:meth:`step` in NumPy, the readable twin of its compiled pass."""
        self.t += 1
        b1, b2 = self.betas
        for name in self.params:
            self._update_reference(name, b1, b2)

    def _update_reference(self, name, b1, b2):
        p, g, m, v = self.params[name], self.grads[name], self.m[name], self.v[name]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        m_hat = m / (1 - b1 ** self.t)
        v_hat = v / (1 - b2 ** self.t)
        p -= (self.lr * m_hat / (np.sqrt(v_hat) + self.eps)).astype(p.dtype, copy=False)


def _check_ann(net):
    """``net`` must be an ANN: a SpikingNetwork, or a network holding neuron layers
    (``snn.net``, which would read the batch axis as time,
    :func:`~refsnn.networks.spiking.first_neuron_layer`), is a TypeError."""
    if isinstance(net, SpikingNetwork):
        raise TypeError("expected an ANN, got a SpikingNetwork: call its own methods (snn.predict(X), "
                        "snn.run(X)), which run its T steps")
    found = first_neuron_layer(net)
    if found is not None:
        raise TypeError(f"expected an ANN, but layer {found[0]} ({found[1]!r}) is a neuron layer, which would "
                        "read the batch axis as time: run the network as a SpikingNetwork "
                        "(snn.predict(X) for snn.net, or SpikingNetwork(net, T).predict(X))")


def _check_data(X, y):
    """Check the samples ``X`` and their integer class labels ``y``."""
    X, y = check_samples(X), np.asarray(y)
    if y.dtype.kind not in "iu":
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, one label per sample, got shape {y.shape}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} samples but y has {y.shape[0]} labels")
    if y.min() < 0:
        raise ValueError(f"y must hold class indices >= 0, got a minimum of {y.min()}")
    return X, y


def fit(net, X, y, epochs, batch_size, lr, rng, progress=None):
    """Train ``net`` with Adam on softmax cross-entropy, in shuffled mini-batches.

    Parameters
    ----------
    net : Sequential (or any layer with forward/backward/params/grads)
        Trained in place.
    X : ndarray, shape (N, ...)
        Finite, N >= 1.
    y : ndarray of int, shape (N,)
        Class indices 0..K-1 for a network with K outputs.
    epochs : int
        >= 1.
    batch_size : int
        >= 1. The last batch of an epoch may be smaller.
    lr : float
        Adam learning rate, finite and > 0.
    rng : numpy.random.Generator
        Shuffles the samples at every epoch.
    progress : callable, optional
        Called after every epoch as ``progress(epoch, loss, accuracy)`` with the
        1-based epoch, the mean training loss and the training accuracy of that epoch
        (measured on the batches while the weights were changing).

    Returns
    -------
    list of float
        Mean training loss of every epoch.

    Notes
    -----
    BatchNorm layers train in training mode (batch statistics, running averages
    updated); ``fit`` puts every BatchNorm of ``net`` in training mode when it starts and
    in evaluation mode when it returns or fails, so a trained network predicts with its
    running statistics. A last batch of a single sample is skipped in a network with
    BatchNorm, whose batch statistics need at least two.

    Raises
    ------
    TypeError
        If ``X`` is not numeric, ``y`` is not of an integer dtype, or ``epochs``,
        ``batch_size`` or ``lr`` is of the wrong type; if ``net`` is a
        :class:`~refsnn.networks.spiking.SpikingNetwork` or holds neuron layers.
    ValueError
        If ``X`` is empty or not finite; ``y`` is not 1-D, not one label per sample, or
        holds a label < 0 or >= the number of outputs (checked on the first batch, before
        any weight changes); ``epochs`` or ``batch_size`` < 1; ``lr`` not finite and > 0.
        Also if the loss of a batch becomes NaN or infinite during training (usually a
        too large ``lr``); ``net`` (its weights and every BatchNorm's running
        statistics) is then left as it was before that batch's update.
    """
    _check_ann(net)
    X, y = _check_data(X, y)
    epochs, batch_size = as_int("epochs", epochs), as_int("batch_size", batch_size)
    lr = check_positive("lr", lr)
    optimizer = Adam(net.params(), net.grads(), lr=lr)
    norms = [layer for _, layer in iter_layers(net) if isinstance(layer, BatchNorm)]
    set_training(net, True)
    try:
        return _epochs(net, X, y, epochs, batch_size, lr, rng, progress, optimizer, norms)
    finally:
        set_training(net, False)


def _epochs(net, X, y, epochs, batch_size, lr, rng, progress, optimizer, norms):
    """The training loop of :func:`fit`; ``norms`` lists the BatchNorm layers of ``net``."""
    history = []
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(y))
        total_loss, correct = 0.0, 0
        for start in range(0, len(y), batch_size):
            idx = order[start:start + batch_size]
            if norms and idx.size < 2 and len(y) > 1:
                continue  # batch statistics need two samples: a last batch of one is skipped
            statistics = [(bn.running_mean.copy(), bn.running_var.copy()) for bn in norms]
            logits = net.forward(X[idx])
            try:
                loss, grad = _batch_loss(logits, y, idx, epoch, start, lr)
            except ValueError:  # the forward pass updated the running statistics: undo it
                for bn, (mean, var) in zip(norms, statistics):
                    bn.running_mean[...], bn.running_var[...] = mean, var
                raise
            net.backward(grad)
            optimizer.step()
            total_loss += loss * idx.size
            correct += int((logits.argmax(axis=1) == y[idx]).sum())
        history.append(total_loss / len(y))
        if progress is not None:
            progress(epoch, history[-1], correct / len(y))
    return history


def _batch_loss(logits, y, idx, epoch, start, lr):
    """The loss of one batch of :func:`fit` and its gradient; a ValueError for a label
    out of range (checked on the first batch) or a non-finite loss."""
    if epoch == 1 and start == 0 and y.max() >= logits.shape[1]:  # before any update
        raise ValueError(
            f"y must hold class indices 0..{logits.shape[1] - 1} for a network with "
            f"{logits.shape[1]} outputs, got a maximum of {y.max()}"
        )
    loss, grad = cross_entropy(logits, y[idx])
    if not np.isfinite(loss):
        raise ValueError(
            f"the training loss became {loss} in epoch {epoch} (samples {start}..{start + idx.size - 1}); "
            f"the learning rate lr={lr} is probably too large"
        )
    return loss, grad


def forward_batches(net, X, batch_size=256):
    """``net.forward`` over ``X`` in batches, concatenated: outputs of shape (N, ...).

    Runs in evaluation mode (every BatchNorm with its running statistics, restored to
    its previous mode afterwards); non-finite outputs raise a ValueError naming the first
    layer that produced NaN or infinity. The layers keep what a backward pass needs of
    the last batch, as after any forward pass: at most ``batch_size`` samples, and
    memory that the next call reuses (freed, it would be returned to the system and
    touched anew). With more than one thread (:mod:`refsnn.threads`) each thread runs a
    batch's own run of samples (:mod:`~refsnn.networks.sample_runs`): the outputs then
    equal the one-thread outputs to float rounding, and the layers keep nothing.

    Raises
    ------
    TypeError
        If ``batch_size`` is not an integer, or ``X`` is not numeric; if ``net`` is a
        :class:`~refsnn.networks.spiking.SpikingNetwork` or holds neuron layers.
    ValueError
        If ``batch_size < 1``, or ``X`` is empty or holds NaN or infinity.
    """
    _check_ann(net)
    X = check_samples(X)
    batch_size = as_int("batch_size", batch_size)
    with evaluation_mode(net):
        parts = []
        for i in range(0, len(X), batch_size):
            batch = X[i:i + batch_size]
            if len(sample_runs.runs(len(batch))) > 1:  # more than one thread: a run of samples each
                out = np.concatenate(sample_runs.on_runs(lambda lo, hi: _forward(net, batch[lo:hi]), len(batch)))
            else:
                out = _forward(net, batch)
            if hasattr(net, "check_output"):  # never the argmax of NaNs: name the layer
                net.check_output(batch, out)
            parts.append(out)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _forward(net, x):
    """``net.forward(x)`` for a finite ``x``; a layer that refuses a non-finite input (QCFS)
    turns into the error naming the first layer whose output is NaN or infinite."""
    try:
        return net.forward(x)
    except ValueError as error:
        found = find_nonfinite(net, x)
        if found is None:
            raise
        raise found from error


def predict(net, X, batch_size=256):
    """Predicted classes argmax_k logits, shape (N,), int64 (errors as :func:`forward_batches`)."""
    return forward_batches(net, X, batch_size).argmax(axis=1).astype(np.int64)


def accuracy(net, X, y, batch_size=256):
    """Fraction of samples whose predicted class equals the integer label ``y``."""
    X, y = _check_data(X, y)
    return float(np.mean(predict(net, X, batch_size) == y))
