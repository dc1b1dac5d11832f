"""The paper's words for the identifiers of refsnn's results files.

The demo's, the experiments' and the benchmark's JSON rows name sources, methods, network
modes and neuron kernels by short identifiers (``"relu"``, ``"training_free"``,
``"hadamard_out"``, ``"resnet3x8"``). Every figure label and printed table shows them in
the paper's words instead, through :func:`words` and the tables here, in either figure
style.
"""

import re

__all__ = ["WORDS", "KERNEL_WORDS", "EXPERIMENT_WORDS", "words"]

#: The paper's words for the identifiers of refsnn's results files (sources, methods,
#: network modes and neuron kernels), for every figure label, in either style.
WORDS = {
    "qcfs": "QCFS",
    "relu": "ReLU",
    "ann": "ANN",
    "parallel": "parallel SNN",
    "parallel_calibrated": "parallel SNN + DA-QCFS",
    "if": "IF SNN",
    "training_free": "training-free (ClipReLU → DA-QCFS)",
    "training_free_calibrated": "training-free + DA-QCFS calibration",
    "sequential_if": "sequential IF",
    "faithful_parallel": "faithful parallel",
    "collapsed_parallel": "collapsed parallel",
    "ann_forward": "ANN forward pass",
}

#: The benchmark's neuron kernels, where ``"if"`` is the IF neuron, not an IF SNN.
KERNEL_WORDS = {
    "if": "IF neuron",
    "if_out": "IF neuron, out=",
    "hadamard": "parallel neuron (rank-1)",
    "hadamard_out": "parallel neuron (rank-1), out=",
    "binary_from_total": "binary search on Σ",
    "binary": "sum + binary search",
    "dense": "dense Λ_pc·I",
}

#: The experiments' ``"training_free"`` rows are the pipeline without calibration (the
#: demo's are calibrated): their words where an experiment is drawn.
EXPERIMENT_WORDS = {**WORDS, "training_free": "training-free, no calibration"}


def words(identifier, table=WORDS):
    """The paper's words for a results file's ``identifier``, e.g. ``"relu"`` → ``"ReLU"``,
    ``"resnet3x8"`` → ``"ResNet-20-shaped (widths 8, 16, 32)"``; anything unknown as given."""
    identifier = str(identifier)
    if identifier in table:
        return table[identifier]
    if (match := re.fullmatch(r"mlp(\d+)x(\d+)", identifier)):
        return f"{match[1]}-layer MLP (width {match[2]})"
    if (match := re.fullmatch(r"resnet(\d+)x(\d+)", identifier)):  # blocks per stage × first width
        blocks, width = int(match[1]), int(match[2])
        return f"ResNet-{6 * blocks + 2}-shaped (widths {width}, {2 * width}, {4 * width})"
    return identifier
