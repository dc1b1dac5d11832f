"""Neurons from outside refsnn, in the calling convention of ``refsnn verify --against``.

A neuron implemented elsewhere (the authors' code, SpikingJelly, snnTorch, your own) is
checked against the paper's claims through one fixed NumPy calling convention:

.. code-block:: python

    spikes = fire(currents, theta, psi)   # a parallel neuron, shift ψ
    spikes = fire(currents, theta, v0)    # an IF neuron, initial membrane v₀

``currents`` is a C-contiguous float32 array of shape (T, N), time first; ``theta`` and
the shift are Python floats; ``spikes`` has shape (T, N) and holds 0 and 1 (bool, int or
float). ``fire`` may also be a class, built once per (T, theta, shift) as
``fire(T, theta, shift)``; the object it builds is then called in the convention above.

:class:`Implementation` calls such a neuron and checks what it returns: anything else (an
exception, another shape, values other than 0 and 1, NaN) raises :class:`ConventionError`
naming the input and what came back, which :mod:`refsnn.claims` reports as a failed claim.
:func:`load` finds ``NAME`` in ``MODULE`` from a ``MODULE:NAME`` string, as the command line
gives it. ``tutorials/verify_against.md`` has adapters for the implementations people use.
"""

import importlib
import importlib.util
import inspect
import os
import sys
from pathlib import Path

import numpy as np

__all__ = ["KINDS", "ConventionError", "Implementation", "load"]

#: The kinds of neuron, and the name of the shift each one's third argument is.
KINDS = {"parallel": "psi", "if": "v0"}

#: How the shift is written in reports.
SYMBOLS = {"psi": "ψ", "v0": "v₀"}


class ConventionError(ValueError):
    """A neuron raised, or returned something other than (T, N) spikes of 0 and 1."""


class Implementation:
    """A neuron given in the calling convention, called with its return checked.

    Parameters
    ----------
    fire : callable or class
        ``fire(currents, theta, shift)`` returning (T, N) spikes; or a class, built as
        ``fire(T, theta, shift)`` (once per distinct triple), whose instances are called so.
    kind : {"parallel", "if"}
        What ``fire`` is: the shift is ψ for a parallel neuron, v₀ for an IF neuron.
    order : {"paper", "code"}
        The order a parallel neuron fires in: "paper" fills the last N steps, "code" the
        first N, as the authors' code does. An IF neuron has no order ("paper").
    name : str, optional
        How reports name it; ``fire``'s qualified name by default.
    """

    def __init__(self, fire, kind="parallel", order="paper", name=None):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
        if order not in ("paper", "code"):
            raise ValueError(f"order must be 'paper' or 'code', got {order!r}")
        if kind == "if" and order != "paper":
            raise ValueError("order applies to a parallel neuron only; an IF neuron fires as it integrates")
        if not callable(fire):
            raise TypeError(f"fire must be a function or a class, got {type(fire).__name__}")
        self.fire, self.kind, self.order = fire, kind, order
        self.shift = KINDS[kind]
        self.name = name or getattr(fire, "__qualname__", repr(fire))
        self._built = {}

    def __call__(self, currents, theta, shift):
        """Spikes of shape (T, N) as bool, in the order fired; ConventionError if they are not.

        ``currents`` (T, N) is passed as C-contiguous float32 (a fresh copy, so that the
        neuron cannot change the caller's array); ``theta`` and ``shift`` as Python floats.
        """
        currents = np.array(currents, dtype=np.float32, order="C")
        theta, shift = float(theta), float(shift)
        T = currents.shape[0]
        given = self.describe(currents.shape, theta, shift)
        try:
            fire = self._build(T, theta, shift) if inspect.isclass(self.fire) else self.fire
            returned = fire(currents, theta, shift)
        except Exception as exc:  # the neuron's own failure: report it, never a traceback
            raise ConventionError(f"{given}: raised {type(exc).__name__}: {_first_line(exc)}") from exc
        return _as_spikes(returned, currents.shape, given)

    def describe(self, shape, theta, shift):
        """'on currents of shape (4, 3) float32, θ = 1, ψ = 0.5': what a call was given."""
        return (f"on currents of shape {tuple(shape)} float32, θ = {_num(theta)}, "
                f"{SYMBOLS[self.shift]} = {_num(shift)}")

    def _build(self, T, theta, shift):
        key = (T, theta, shift)
        if key not in self._built:
            self._built[key] = self.fire(T, theta, shift)
        return self._built[key]


def _as_spikes(returned, shape, given):
    """``returned`` as a bool array of ``shape``, or ConventionError saying what it is."""
    what = f"{given}: returned"
    try:
        spikes = np.asarray(returned)
    except Exception:  # noqa: BLE001 - whatever it is, it is not spikes
        raise ConventionError(f"{what} a {type(returned).__name__}, not an array") from None
    if spikes.dtype.kind not in "biuf":
        raise ConventionError(f"{what} {_kind_of(returned, spikes)}, not an array of 0 and 1")
    if spikes.shape != tuple(shape):
        raise ConventionError(f"{what} an array of shape {spikes.shape}, not (T, N) = {tuple(shape)}")
    if spikes.dtype.kind == "f" and np.isnan(spikes).any():
        t, n = np.argwhere(np.isnan(spikes))[0]
        raise ConventionError(f"{what} NaN at step {t + 1}, neuron {n}")
    bad = (spikes != 0) & (spikes != 1)
    if bad.any():
        t, n = np.argwhere(bad)[0]
        raise ConventionError(f"{what} {spikes[t, n].item()!r} at step {t + 1}, neuron {n}: spikes must be 0 or 1")
    return spikes != 0


def _kind_of(returned, spikes):
    if returned is None:
        return "None"
    return f"a {type(returned).__name__}" + (f" of dtype {spikes.dtype}" if spikes.ndim else "")


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


def _num(x):
    return np.format_float_positional(float(x), trim="-")


# --------------------------------------------------------------------------- MODULE:NAME


def load(target, kind="parallel"):
    """The function or class ``NAME`` of ``MODULE`` for ``target = "MODULE:NAME"``.

    ``MODULE`` is a dotted module path importable from the current folder, or the path of
    a ``.py`` file. Any problem (no colon, no such module or file, an import that fails,
    no such name, a name that is not callable, a signature that cannot take the three
    arguments of the convention) raises ValueError with a one-line message.

    Parameters
    ----------
    target : str
        ``"MODULE:NAME"``.
    kind : {"parallel", "if"}
        Names the third argument in the message about a wrong signature.
    """
    module_name, sep, name = str(target).rpartition(":")
    if not sep or not module_name or not name:
        raise ValueError(f"must be MODULE:NAME (a module or a .py file, then a function or class), got {target!r}")
    module = _import(module_name)
    if not hasattr(module, name):
        raise ValueError(f"{module_name} has no {name!r}")
    fire = getattr(module, name)
    if not callable(fire):
        raise ValueError(f"{target} is a {type(fire).__name__}, not a function or a class")
    _check_signature(fire, target, kind)
    return fire


def _import(module_name):
    """Import a dotted module (from the current folder too) or execute a .py file."""
    is_file = module_name.endswith(".py") or "/" in module_name or os.sep in module_name
    if is_file and not Path(module_name).is_file():
        raise ValueError(f"no file {module_name}")
    try:
        if is_file:
            spec = importlib.util.spec_from_file_location(f"refsnn_against_{Path(module_name).stem}", module_name)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())  # "importable from the current folder", as with python -m
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name or module_name.startswith(f"{exc.name}."):
            raise ValueError(f"no module named {module_name!r}") from None
        raise ValueError(f"importing {module_name} raised ModuleNotFoundError: {_first_line(exc)}") from None
    except Exception as exc:  # the user's module failed: one line, not a traceback
        raise ValueError(f"importing {module_name} raised {type(exc).__name__}: {_first_line(exc)}") from None


def _check_signature(fire, target, kind):
    """ValueError unless ``fire`` can be called (or built) with three positional arguments."""
    try:
        signature = inspect.signature(fire)
    except (TypeError, ValueError):  # a builtin without a signature: find out when it runs
        return
    try:
        signature.bind(None, None, None)
    except TypeError:
        wanted = f"(T, theta, {KINDS[kind]})" if inspect.isclass(fire) else f"(currents, theta, {KINDS[kind]})"
        raise ValueError(f"{target} must take {wanted}, but its signature is {signature}") from None
