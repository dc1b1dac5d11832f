"""Containers: the sequence of layers, the residual block, and walking a network of nested containers.

A network is a tree. Its inner nodes are containers — :class:`Sequential`
(children in order) and :class:`Residual` (a main path, a shortcut and an activation) —
and its leaves are layers. Everything that treats layers one by one (recording
thresholds, calibration, conversion, saving, plotting, the three ways of running an SNN)
walks the tree with the functions here, so a new container needs only to be taught here.

:func:`run` is the one forward pass over a tree. It takes an optional ``hook(layer, x)``
that may replace a leaf's forward: calibration uses it to run teacher and student
through the activations, and a spiking network uses it to fire its neurons.
"""

import contextlib

import numpy as np

from .._checks import check_finite_input
from .base import Layer, NonFiniteError, nonfinite_error

__all__ = ["Sequential", "Residual", "run", "is_container", "children", "map_children", "iter_layers", "leaves",
           "set_training", "find_nonfinite", "evaluation_mode"]


class Sequential(Layer):
    """Layers applied in order; backward runs them in reverse.

    ``params()`` and ``grads()`` merge the layers' dicts with keys prefixed by the
    layer index, e.g. ``"0.weight"``, ``"3.theta"``.

    Examples
    --------
    >>> from refsnn.networks.activations import ReLU
    >>> from refsnn.networks.layers import AvgPool2d, Conv2d, Flatten, Linear
    >>> rng = np.random.default_rng(0)
    >>> net = Sequential(Conv2d(1, 4, 3, padding=1, rng=rng), ReLU(), AvgPool2d(2),
    ...                  Flatten(), Linear(4 * 4 * 4, 10, rng))
    >>> net.forward(np.zeros((2, 1, 8, 8), np.float32)).shape
    (2, 10)
    """

    def __init__(self, *layers):
        for i, layer in enumerate(layers):
            if not all(hasattr(layer, m) for m in ("forward", "backward", "params", "grads")):
                raise TypeError(f"layer {i} ({layer!r}) lacks forward/backward/params/grads")
        self.layers = list(layers)

    def __repr__(self):
        inner = "".join(f"\n  ({i}) {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"

    def __iter__(self):
        return iter(self.layers)

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, index):
        return self.layers[index]

    def forward(self, x):
        """Run the layers in order. A float input with NaN or infinity is a ValueError."""
        x = np.asarray(x)
        check_finite_input(f"the input of {type(self).__name__}.forward", x)
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def check_output(self, x, out):
        """Raise :class:`~refsnn.networks.base.NonFiniteError` naming the first layer with a
        non-finite output if ``out`` is not finite.

        ``out`` is ``self.forward(x)`` for a finite ``x``. A finite ``out`` costs one
        ``np.isfinite`` pass; otherwise the layers are re-run on ``x`` to find the first
        one whose output holds NaN or infinity (infinite weights, or an overflow).
        Predict functions call this so that they never return the argmax of NaNs.
        """
        if not np.isfinite(out).all():
            error = find_nonfinite(self, x)
            raise error or NonFiniteError(f"{type(self).__name__}: the output holds NaN or infinity")

    def backward(self, grad_out):
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out

    def params(self):
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params().items()}

    def grads(self):
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.grads().items()}


class Residual(Layer):
    """A residual block: y = activation(main(x) + shortcut(x)).

    The paper's ResNets use the BasicBlock of He et al. (2016),

    .. code-block:: text

        main     = Conv2d(3×3, stride s) → BatchNorm → activation → Conv2d(3×3) → BatchNorm
        shortcut = identity, or Conv2d(1×1, stride s) → BatchNorm when the shape changes
        y        = activation(main(x) + shortcut(x))

    (:func:`refsnn.networks.models.basic_block` builds one). In a converted SNN the final
    activation becomes a neuron layer and the sum stays: Σ_t (m_t + s_t) = Σ_t m_t + Σ_t s_t,
    so a residual sum commutes with the sum over time, like every time-linear layer.

    Parameters
    ----------
    main : layer or container
    shortcut : layer or container, optional
        ``None`` is the identity. main(x) and shortcut(x) must have the same shape;
        otherwise every forward pass (of the ANN and of every SNN mode) is a ValueError
        naming the block and both shapes, where NumPy would broadcast one onto the
        other (a (B, 1) main path plus a (B, 4) identity giving (B, 4)).
    activation : layer, optional
        Applied to the sum; ``None`` for none.

    Notes
    -----
    The sum is a new array, not an addition in place into the main path's output: the
    main path may return a view of its input (so the identity shortcut would change
    under it), or an array that a layer keeps for its backward pass (QCFS keeps its
    output) or that a hook records.
    """

    def __init__(self, main, shortcut=None, activation=None):
        for name, part in (("main", main), ("shortcut", shortcut), ("activation", activation)):
            if isinstance(part, type):
                raise TypeError(f"Residual {name} must be a layer, got the class {part.__name__}: "
                                f"write {part.__name__}()")
            if part is not None and not all(hasattr(part, m) for m in ("forward", "backward", "params", "grads")):
                raise TypeError(f"Residual {name} ({part!r}) lacks forward/backward/params/grads")
        if main is None:
            raise TypeError("Residual needs a main path")
        self.main, self.shortcut, self.activation = main, shortcut, activation

    def __repr__(self):
        short = "identity" if self.shortcut is None else repr(self.shortcut)
        inner = f"\n  main: {self.main!r}\n  shortcut: {short}\n  activation: {self.activation!r}"
        return f"Residual({inner.replace(chr(10), chr(10) + '  ')}\n)"

    def forward(self, x):
        return run(self, np.asarray(x))

    def backward(self, grad_out):
        """The gradient flows through the activation, then into both paths, and adds up."""
        g = grad_out if self.activation is None else self.activation.backward(grad_out)
        g_main = self.main.backward(g)
        g_short = g if self.shortcut is None else self.shortcut.backward(g)
        return g_main + g_short

    def params(self):
        return {f"{name}.{k}": v for name, part in children(self) for k, v in part.params().items()}

    def grads(self):
        return {f"{name}.{k}": v for name, part in children(self) for k, v in part.grads().items()}


def is_container(layer):
    """True for :class:`Sequential` and :class:`Residual`."""
    return isinstance(layer, (Sequential, Residual))


def children(layer):
    """The named children of a container, in forward order: [(name, child), ...].

    Sequential: ("0", first), ("1", second), ...; Residual: ("main", ...),
    ("shortcut", ...) if any, ("activation", ...) if any. A leaf has none.
    """
    if isinstance(layer, Sequential):
        return [(str(i), child) for i, child in enumerate(layer.layers)]
    if isinstance(layer, Residual):
        return [(name, part) for name, part in (("main", layer.main), ("shortcut", layer.shortcut),
                                                 ("activation", layer.activation)) if part is not None]
    return []


def map_children(layer, fn):
    """A shallow copy of a container whose children are ``fn(child)``; a leaf comes back as is.

    ``fn`` may return a different layer (a conversion) or the child itself.
    """
    if isinstance(layer, Sequential):
        return Sequential(*[fn(child) for child in layer.layers])
    if isinstance(layer, Residual):
        return Residual(fn(layer.main), None if layer.shortcut is None else fn(layer.shortcut),
                        None if layer.activation is None else fn(layer.activation))
    return layer


def iter_layers(net, prefix=""):
    """Every leaf of a tree in forward order, as (path, layer); paths look like "3.main.1"."""
    if not is_container(net):
        yield prefix, net
        return
    for name, child in children(net):
        yield from iter_layers(child, f"{prefix}.{name}" if prefix else name)


def leaves(net):
    """Every leaf of a tree in forward order, as a list: :func:`iter_layers` without the
    paths (the order of :func:`children`), for the walks that run on every call of a
    function, where building the paths would cost more than the walk."""
    if isinstance(net, Sequential):
        return [leaf for child in net.layers for leaf in leaves(child)]
    if isinstance(net, Residual):
        return [leaf for part in (net.main, net.shortcut, net.activation) if part is not None
                for leaf in leaves(part)]
    return [net]


def set_training(net, training):
    """Put every BatchNorm of a tree in training (True) or evaluation (False) mode."""
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"training must be True or False, got {training!r}")
    for _, layer in iter_layers(net):
        if hasattr(layer, "training"):
            layer.training = bool(training)
    return net


@contextlib.contextmanager
def evaluation_mode(net):
    """Run a block of code with every BatchNorm of ``net`` in evaluation mode, then put
    each back in the mode it had."""
    norms = [layer for layer in leaves(net) if hasattr(layer, "training")]
    modes = [layer.training for layer in norms]
    try:
        for layer in norms:
            layer.training = False
        yield net
    finally:
        for layer, mode in zip(norms, modes):
            layer.training = mode


def run(layer, x, hook=None):
    """Forward pass over a tree.

    Parameters
    ----------
    layer : layer or container
    x : numpy.ndarray
    hook : callable, optional
        ``hook(leaf, x)`` is tried first at every leaf; if it returns ``None`` the leaf's
        own ``forward(x)`` runs.

    Returns
    -------
    numpy.ndarray, the output of the tree.
    """
    if isinstance(layer, Sequential):
        for child in layer.layers:
            x = run(child, x, hook)
        return x
    if isinstance(layer, Residual):
        total = run(layer.main, x, hook)
        total = _residual_sum(layer, total, x if layer.shortcut is None else run(layer.shortcut, x, hook))
        return total if layer.activation is None else run(layer.activation, total, hook)
    if hook is not None:
        out = hook(layer, x)
        if out is not None:
            return out
    return layer.forward(x)


def _residual_sum(block, main, shortcut):
    """main + shortcut of a Residual ``block``: a ValueError if their shapes differ,
    where NumPy would broadcast one onto the other.

    The sum is a new array, not an add in place: the main path may return a view of x
    or an array that a layer or hook keeps (Residual, Notes). Neither path's output
    outlives the call, so that the activation after the sum runs with only the block's
    input and the sum alive besides its own arrays.
    """
    if main.shape != shortcut.shape:
        raise ValueError(f"{_label(block)}: its main path outputs shape {main.shape} but its shortcut "
                         f"{shortcut.shape}; a residual sum needs equal shapes (when the channels or the "
                         "size change, use a projection shortcut such as Conv2d(1x1) -> BatchNorm)")
    return main + shortcut


def _label(block):
    """A Residual block named on one line by its parts' leaves, for error messages."""
    def leaves(part):
        return "identity" if part is None else " -> ".join(repr(leaf) for _, leaf in iter_layers(part))
    return f"Residual block (main: {leaves(block.main)}, shortcut: {leaves(block.shortcut)})"


def find_nonfinite(net, x, hook=None):
    """The :class:`~refsnn.networks.base.NonFiniteError` naming the first leaf of ``net``
    whose output is NaN or infinite on the finite input ``x``, or None if every output
    is finite.

    ``hook`` is the one of :func:`run`: a spiking network passes the hook of the mode
    that went wrong. Called after a network produced a non-finite result, so a normal
    run pays one ``np.isfinite`` on its output and nothing else.
    """
    paths = {id(layer): path for path, layer in iter_layers(net)}

    class Found(Exception):
        pass

    def check(layer, z):
        out = None if hook is None else hook(layer, z)
        out = layer.forward(z) if out is None else out
        if not np.isfinite(out).all():
            raise Found(nonfinite_error(paths[id(layer)], layer))
        return out

    try:
        run(net, x, check)
    except Found as found:
        return found.args[0]
    return None
