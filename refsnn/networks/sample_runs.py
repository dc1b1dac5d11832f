"""Inference on more than one thread: each thread runs the whole network on its own run of
the batch's samples.

The samples of an inference batch are independent, so with more than one thread
(:mod:`refsnn.threads`) :func:`~refsnn.networks.training.forward_batches` and a
:class:`~refsnn.networks.spiking.SpikingNetwork` in faithful or collapsed mode cut a batch
into contiguous runs of samples, one per thread (:func:`runs`), and run the network on
each run at the same time (:func:`on_runs`), then join the outputs in order. Why not
only split each layer's own loops, as a training step does: that hands work to the other
thread and waits for it once per layer, and the next layer reads half of its input from
the other core's cache; a run of samples crosses between the threads once per batch.

What it changes: each run goes through the layers as a batch of its own, so a product over
its samples may round otherwise than the same product over the whole batch (the BLAS
picks its kernels and a convolution its blocks by the size of the batch): the outputs
equal the one-thread outputs to float rounding, not bit for bit. On one thread, the
default, nothing is split. The runs keep nothing for a backward pass
(:class:`~refsnn.networks.base.no_backward`); the layers are shared between the threads,
and none of them keeps a state between samples in these modes. (Sequential mode is not
split: its IF layers carry their membranes from step to step on the layer objects.)
"""

from .. import threads
from .base import no_backward

__all__ = ["SAMPLES_PER_THREAD", "runs", "on_runs"]

#: Fewest samples per thread: a smaller batch runs on one thread, whose products over so
#: few samples gain little from a second core.
SAMPLES_PER_THREAD = 16


def runs(n):
    """The runs of samples 0..n, as ranges in order, that inference gives the threads:
    one per thread in force (:func:`refsnn.threads.workers`), each of at least
    :data:`SAMPLES_PER_THREAD` samples; ``[range(n)]`` when that leaves one."""
    parts = max(1, min(threads.workers(), n // SAMPLES_PER_THREAD))
    return threads.split(range(n), parts)


def on_runs(forward, n):
    """``[forward(lo, hi) for each run lo..hi of runs(n)]``, the runs at the same time,
    one per thread (:func:`refsnn.threads.run_split`), each inside
    :class:`~refsnn.networks.base.no_backward`; the results in the order of the runs.
    An error in a run is raised here."""
    parts = runs(n)
    results = [None] * len(parts)

    def work(part):
        index, samples = part
        with no_backward():  # each thread has its own setting (contextvars)
            results[index] = forward(samples.start, samples.stop)

    threads.run_split(work, list(enumerate(parts)))
    return results
