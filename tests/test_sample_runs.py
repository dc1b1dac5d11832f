"""Inference on more than one thread (refsnn.networks.sample_runs): the runs of samples,
each thread's run inside no_backward, and the ANN and SNN outputs joined in order (equal
to one thread exactly on exact networks; sequential mode not split)."""

import threading

import numpy as np
import pytest
from nets import dyadic, dyadic_cnn

from refsnn.networks import sample_runs, spiking
from refsnn.networks.base import NonFiniteError, keeps_for_backward
from refsnn.networks.conversion import to_if_snn, to_parallel_snn
from refsnn.networks.training import forward_batches, predict
from refsnn.threads import limit_threads, max_threads

two_cores = pytest.mark.skipif(max_threads() < 2, reason="needs 2 cores")
PER = sample_runs.SAMPLES_PER_THREAD


def _batch(n, seed=0):
    """n dyadic 4×4 images for dyadic_cnn: the network's arithmetic stays exact."""
    return dyadic(np.random.default_rng(seed), (n, 1, 4, 4), 0, 8)


@pytest.mark.parametrize("threads, n, expected", [(1, 100, [(0, 100)]), (2, 2 * PER - 1, [(0, 2 * PER - 1)]),
                                                  (2, 2 * PER, [(0, PER), (PER, 2 * PER)]),
                                                  (2, 2 * PER + 1, [(0, PER), (PER, 2 * PER + 1)]), (2, 0, [(0, 0)])])
def test_runs_give_each_thread_enough_samples(threads, n, expected):
    if threads > max_threads():
        pytest.skip("needs 2 cores")
    with limit_threads(threads):
        assert [(r.start, r.stop) for r in sample_runs.runs(n)] == expected


@two_cores
def test_on_runs_runs_each_run_on_its_own_thread_keeping_nothing_in_order():
    barrier = threading.Barrier(2, timeout=10)
    seen = []

    def forward(lo, hi):
        seen.append((threading.get_ident(), keeps_for_backward()))
        barrier.wait()  # a timeout here means the runs ran one after the other
        return lo, hi

    with limit_threads(2):
        assert sample_runs.on_runs(forward, 2 * PER + 2) == [(0, PER + 1), (PER + 1, 2 * PER + 2)]
    assert len({ident for ident, _ in seen}) == 2
    assert not any(keeping for _, keeping in seen)
    assert keeps_for_backward()  # the caller's own setting is untouched


@two_cores
def test_on_runs_reraises_an_error_of_a_run():
    def forward(lo, hi):
        if lo:
            raise KeyError("second run")
        return lo

    with limit_threads(2), pytest.raises(KeyError, match="second run"):
        sample_runs.on_runs(forward, 2 * PER)


@two_cores
def test_ann_inference_on_two_threads_equals_one_thread():
    """forward_batches joins the runs' outputs in sample order: the same logits as one
    thread on an exact network, also with a short last batch that runs on one thread."""
    net, _ = dyadic_cnn(0, 4)
    X = _batch(3 * PER + 5)
    one = forward_batches(net, X, batch_size=2 * PER + 2)
    with limit_threads(2):
        assert len(sample_runs.runs(2 * PER + 2)) == 2
        two = forward_batches(net, X, batch_size=2 * PER + 2)
        np.testing.assert_array_equal(predict(net, X, batch_size=2 * PER + 2), one.argmax(axis=1))
    np.testing.assert_array_equal(two, one)
    assert not np.array_equal(one[:PER], one[PER:2 * PER])  # the runs differ: their order is tested


@two_cores
@pytest.mark.parametrize("mode", ["faithful", "collapsed"])
def test_snn_runs_on_two_threads_equal_one_thread(monkeypatch, mode):
    """Per-step logits (T, B, K), summed logits, counts (B, ...) and spike trains
    (T, B, ...) of both runs joined along the samples, as on one thread (exact network)."""
    monkeypatch.setattr(spiking, "FAITHFUL_GROUP_IMAGES", 4 * 5)  # groups within each run too
    net, _ = dyadic_cnn(1, 4)
    snn = to_parallel_snn(net, 4)
    X = _batch(2 * PER + 3, seed=1)
    record = mode == "faithful"
    one = snn.run(X, mode, record=record)
    one_total = snn._forward(X, mode, steps=False, record="counts")
    with limit_threads(2):
        two = snn.run(X, mode, record=record)
        two_total = snn._forward(X, mode, steps=False, record="counts")
        np.testing.assert_array_equal(snn.predict(X, mode), one_total[0].argmax(axis=-1))
    if record:
        np.testing.assert_array_equal(two[0], one[0])
        for a, b in zip(two[1], one[1]):
            np.testing.assert_array_equal(a["spikes"], b["spikes"])
            np.testing.assert_array_equal(a["counts"], b["counts"])
    else:
        np.testing.assert_array_equal(two, one)
    np.testing.assert_array_equal(two_total[0], one_total[0])
    for a, b in zip(two_total[1], one_total[1]):
        np.testing.assert_array_equal(a["counts"], b["counts"])


@two_cores
def test_sequential_mode_is_not_split(monkeypatch):
    """IF layers carry their membranes on the layer objects: sequential mode runs the
    whole batch on the calling thread."""
    net, _ = dyadic_cnn(2, 4)
    snn = to_if_snn(net, 4)
    X = _batch(2 * PER, seed=2)
    one = snn.run(X)
    monkeypatch.setattr(sample_runs, "on_runs", lambda *a: pytest.fail("sequential mode split its batch"))
    with limit_threads(2):
        np.testing.assert_array_equal(snn.run(X), one)


@two_cores
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the overflow is the point
@pytest.mark.parametrize("mode", ["faithful", "collapsed"])
def test_a_non_finite_value_in_a_run_raises_the_one_thread_error(mode):
    """Infinite values in the second run: the error is the one-thread error."""
    net, _ = dyadic_cnn(3, 4)
    snn = to_parallel_snn(net, 4)
    X = _batch(2 * PER, seed=3)
    X[PER + 1] = 3e38  # a finite input whose currents (or T·X) overflow
    with pytest.raises(NonFiniteError) as one:
        snn.predict(X, mode=mode)
    with limit_threads(2), pytest.raises(NonFiniteError) as two:
        snn.predict(X, mode=mode)
    assert str(two.value) == str(one.value)
