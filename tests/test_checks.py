"""Tests of refsnn._checks, the package's one vocabulary of argument and array checks.

Every check raises a TypeError for a value of the wrong type and a ValueError for a
value of the right type out of range, naming the parameter; the tests below state that
for each check, then for the public functions that use them, then the dtype rule.
"""

import numpy as np
import pytest

from refsnn import qcfs
from refsnn._checks import (
    as_float,
    as_float_array,
    as_input,
    as_int,
    as_spikes,
    check_bool,
    check_choice,
    check_positive,
    check_samples,
    float_dtype,
    working_dtype,
)
from refsnn.networks.conversion import calibrate
from refsnn.networks.data import stratified_split
from refsnn.networks.activations import ReLU
from refsnn.networks.layers import Conv2d, Linear
from refsnn.networks.normalization import BatchNorm
from refsnn.networks.training import Adam

# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("value, minimum, maximum, error", [
    (True, 1, None, TypeError), (1.0, 1, None, TypeError), ("3", 1, None, TypeError),
    (0, 1, None, ValueError), (-1, 0, None, ValueError), (5, 1, 4, ValueError),
])
def test_as_int_rejects(value, minimum, maximum, error):
    with pytest.raises(error, match="n must"):
        as_int("n", value, minimum, maximum)


def test_as_int_accepts_numpy_integers_and_the_ends():
    assert as_int("n", np.int8(4), 1, 4) == 4 and type(as_int("n", np.int64(1))) is int
    assert as_int("n", 0, minimum=0) == 0


@pytest.mark.parametrize("interval, inside, outside", [
    ("(0, 1]", [1e-300, 0.5, 1], [0, 1 + 1e-12, -1]),
    ("[0, 1)", [0, 0.999], [1, -1e-300]),
    ("(0, 1)", [0.5], [0, 1]),
    ("[0, 1]", [0, 1], [-0.1, 1.1]),
    ("(0, inf)", [1e-300, 1e300], [0, -1, float("inf")]),
    ("(-inf, inf)", [-1e300, 0, 1e300], [float("inf"), float("-inf")]),
])
def test_as_float_keeps_the_interval_and_its_brackets(interval, inside, outside):
    for value in inside:
        assert as_float("x", value, interval) == value
    for value in outside + [float("nan")]:
        with pytest.raises(ValueError, match="x must be a finite number"):
            as_float("x", value, interval)


@pytest.mark.parametrize("value", [True, "0.5", None, [0.5], 1j])
def test_as_float_rejects_what_is_not_a_real_number(value):
    with pytest.raises(TypeError, match="x must be a real number"):
        as_float("x", value, "(0, 1]")


def test_as_float_returns_a_python_float():
    assert type(as_float("x", np.float32(0.5))) is float and type(as_float("x", 2)) is float


def test_check_positive():
    assert check_positive("lr", 3e-3) == 3e-3
    for value, error in [(0.0, ValueError), (-1, ValueError), (float("nan"), ValueError),
                         (float("inf"), ValueError), (False, TypeError), ("1", TypeError)]:
        with pytest.raises(error, match="lr"):
            check_positive("lr", value)


def test_check_choice_and_check_bool():
    assert check_choice("mode", "a", ("a", "b")) == "a"
    with pytest.raises(ValueError, match=r"mode must be one of \['a', 'b'\]"):
        check_choice("mode", "c", ("b", "a"))
    assert check_bool("flag", np.bool_(True)) is True and check_bool("flag", False) is False
    for value in (1, 0, "yes", None):
        with pytest.raises(TypeError, match="flag must be True or False"):
            check_bool("flag", value)


def test_float_dtype():
    assert float_dtype("dtype", "float32") == np.float32 and float_dtype("dtype", np.float64) == np.float64
    for dtype in (np.int64, np.float16, bool, "complex128", "not a dtype"):
        with pytest.raises(TypeError, match="dtype must be float32 or float64"):
            float_dtype("dtype", dtype)


# --------------------------------------------------------------------------- arrays


def test_as_float_array_dtype_and_ndim():
    x32 = np.ones(3, np.float32)
    assert as_float_array("x", x32) is x32  # float32 stays float32, no copy
    assert as_float_array("x", [1, 2]).dtype == np.float64
    assert as_float_array("x", x32, np.float64).dtype == np.float64
    assert as_float_array("x", np.ones((2, 2)), ndim=(1, 2)).shape == (2, 2)
    with pytest.raises(ValueError, match=r"x must be 1-D, got shape \(2, 2\)"):
        as_float_array("x", np.ones((2, 2)), ndim=1)
    with pytest.raises(ValueError, match="x must be finite"):
        as_float_array("x", [1.0, np.nan])
    for value in (["a"], [1, None], [[1], [1, 2]]):
        with pytest.raises(TypeError, match="x must"):
            as_float_array("x", value)


def test_check_samples():
    X = np.zeros((3, 2), np.float64)
    assert check_samples(X).dtype == np.float64 and check_samples(X, dtype=np.float32).dtype == np.float32
    for bad in (np.zeros((0, 2)), np.zeros(3), np.float32(1.0)):
        with pytest.raises(ValueError, match="X must be a non-empty batch of shape .* at least one sample"):
            check_samples(bad)
    with pytest.raises(ValueError, match="images must be finite"):
        check_samples(np.full((2, 2), np.inf), name="images")


def test_as_spikes():
    np.testing.assert_array_equal(as_spikes("s", [[0, 1], [1, 0]]), [[False, True], [True, False]])
    with pytest.raises(ValueError, match="only 0/1"):
        as_spikes("s", [[0, 2]])
    with pytest.raises(TypeError, match="only 0/1"):
        as_spikes("s", [["a", "b"]])
    with pytest.raises(ValueError, match="2-D"):
        as_spikes("s", [0, 1])


# --------------------------------------------------------------------------- the dtype rule


@pytest.mark.parametrize("dtype, neuron, layer", [
    (np.float32, np.float32, np.float32), (np.float64, np.float64, np.float64),
    (np.int64, np.float64, np.float32), (np.uint8, np.float64, np.float32),
    (bool, np.float64, np.float32), (np.float16, np.float64, np.float32),
])
def test_one_dtype_rule_with_the_default_as_its_argument(dtype, neuron, layer):
    """A float32 or float64 array keeps its dtype; anything else becomes float64 in a
    neuron function and float32 in a layer without weights; a layer with weights uses
    its weights' dtype."""
    x = np.ones((2, 3), dtype)
    assert working_dtype(x) == neuron and working_dtype(x, np.float32) == layer
    assert qcfs(x, 1.0, 4).dtype == neuron
    assert ReLU()(x).dtype == layer and as_input(ReLU(), x).dtype == layer
    rng = np.random.default_rng(0)
    for weights in (np.float32, np.float64):
        assert Linear(3, 2, rng, dtype=weights)(x).dtype == weights


# --------------------------------------------------------------------------- the callers


@pytest.mark.parametrize("make, error, match", [
    (lambda: Conv2d(1, 1, 3, padding=-1, rng=np.random.default_rng(0)), ValueError, "padding"),
    (lambda: Conv2d(1, 1, 3, padding=1.0, rng=np.random.default_rng(0)), TypeError, "padding"),
    (lambda: Conv2d(1, 1, 3, padding=True, rng=np.random.default_rng(0)), TypeError, "padding"),
    (lambda: BatchNorm(2, eps=float("nan")), ValueError, "eps"),
    (lambda: BatchNorm(2, momentum=True), TypeError, "momentum"),
    (lambda: BatchNorm(2, momentum=1.5), ValueError, "momentum"),
    (lambda: Adam({}, {}, betas=0.9), TypeError, "betas"),
    (lambda: Adam({}, {}, betas=(0.9, "0.999")), TypeError, "betas"),
    (lambda: Adam({}, {}, lr="1e-3"), TypeError, "lr"),
    (lambda: stratified_split(np.arange(4) % 2, True, 0), TypeError, "test_fraction"),
])
def test_callers_raise_TypeError_for_a_type_and_ValueError_for_a_value(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_calibrate_linear_must_be_a_bool():
    from nets import dyadic_mlp

    net, X = dyadic_mlp(0, 4)
    with pytest.raises(TypeError, match="calibrate_linear"):
        calibrate(net, X, 4, calibrate_linear="no")


def test_plot_rows_and_n_test():
    import refsnn.plotting as rp

    row = {"source": "qcfs", "method": "parallel", "T": 4, "accuracy": 0.5}
    for bad, error in [({"T": "4"}, TypeError), ({"T": True}, TypeError), ({"T": 0}, ValueError),
                       ({"accuracy": "0.5"}, TypeError), ({"accuracy": 1.5}, ValueError)]:
        with pytest.raises(error, match=r"rows\[0\]\['" + next(iter(bad))):
            rp.plot_accuracy_vs_T([dict(row, **bad)])
    with pytest.raises(TypeError, match="n_test"):
        rp.plot_accuracy_vs_T([row], n_test=2.0)


def test_limit_threads():
    from refsnn.programs.bench.machine import limit_threads

    import numba

    for threads, error in [(0, ValueError), (numba.config.NUMBA_NUM_THREADS + 1, ValueError),
                           (1.0, TypeError), (True, TypeError)]:
        with pytest.raises(error, match="threads"):
            with limit_threads(threads):
                pass
