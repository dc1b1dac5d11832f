"""Plots for refsnn: neurons, conversion and networks (import explicitly: ``refsnn.plotting``).

``import refsnn`` does not import matplotlib; this package does. Every function takes
NumPy arrays (or the demo's and the benchmark's JSON results as plain lists and dicts)
and an optional ``ax`` (or ``axes`` where it draws several panels), and returns
``(fig, ax)`` (or ``(fig, axes)``). All colours come from one colour-blind-safe palette,
Okabe–Ito (:data:`COLORS`, :data:`CYCLE`). The functions work under the ``Agg`` backend.

=============================  ==========================================  ==============================
function                       what it shows                               paper's name (or notes section)
=============================  ==========================================  ==============================
``plot_raster``                spike raster, optional firing-rate bar      IF neuron, parallel neuron
``plot_membrane``              one IF neuron: θ, v0, soft resets, spikes   IF neuron
``plot_if_vs_parallel``        the same input into IF and parallel         parallel conversion neuron
                                                                           ("Spike order")
``plot_binary_search``         H_x, the probes, the first spike step       sorting property, binary
                                                                           search for the first spike
                                                                           step
``plot_conversion_matrices``   Λ_pre, Λ_post, Λ_pc and b                   prior control, posterior and
                                                                           parallel conversion
                                                                           matrices, step-wise offsets
``plot_staircase``             QCFS, parallel and IF rates against z       Theorem 4.1
``plot_expected_error``        E[r_T − r_T̃] against ψ                      Theorem 4.1
``plot_accuracy_vs_T``         demo accuracy against T                     the three-stage pipeline
``plot_cumulative_accuracy``   accuracy from logits summed over 1..t       ("Evaluation and timing in
                                                                           the released code")
``plot_calibration``           per-layer error before/after DA-QCFS        DA-QCFS calibration
``plot_channel_bias``          signed per-channel bias before/after        DA-QCFS calibration
``plot_rate_vs_activation``    SNN rate against ANN activation per layer   DA-QCFS calibration
``plot_speedup``               parallel speed-up over sequential IF        ("Evaluation and timing in
                                                                           the released code")
``plot_bandwidth``             neuron-kernel GB/s against memory copy      (refsnn's addition)
``plot_peers``                 refsnn against torch and SNN libraries      (refsnn's addition)
``plot_depth``                 accuracy and agreement against depth,       Theorem 4.1 against the IF
                               mean and range over seeds                   neuron's unevenness error
``plot_layer_rate_error``      per-layer rate error of one depth           Theorem 4.1, layer by layer
``plot_seed_accuracy_vs_T``    an experiment's accuracy against T over     the paper's comparisons at
                               seeds                                       the same T
=============================  ==========================================  ==============================

A name in parentheses is a section of ``tutorials/00_notation.md``, for what refsnn
adds or where the authors' released code differs from the paper.

The functions live in ``neurons`` (rasters, membranes, the binary search), ``conversion``
(matrices, staircase, expected error), ``networks`` (accuracy, calibration, speed) and
``experiments`` (depth and seeds); ``_style`` holds the palette and the shared axes set-up;
``vocabulary`` the paper's words for the identifiers of the results files (:data:`WORDS`,
:func:`words`), which every figure label and printed table uses.
``explorers`` (not imported here; ``from refsnn.plotting.explorers import ...``) holds the
notebooks' slider explorers, which redraw some of these plots and need ipywidgets
(``pip install "refsnn[notebooks]"``).
"""

from ._style import CMAP, COLORS, CYCLE, OKABE_ITO
from .vocabulary import WORDS, words
from .conversion import plot_conversion_matrices, plot_expected_error, plot_staircase, rising_pattern
from .networks import (
    plot_accuracy_vs_T,
    plot_bandwidth,
    plot_calibration,
    plot_channel_bias,
    plot_cumulative_accuracy,
    plot_rate_vs_activation,
    plot_peers,
    plot_speedup,
)
from .experiments import plot_depth, plot_layer_rate_error, plot_seed_accuracy_vs_T
from .neurons import plot_binary_search, plot_if_vs_parallel, plot_membrane, plot_raster

__all__ = [
    "OKABE_ITO",
    "COLORS",
    "CYCLE",
    "CMAP",
    "WORDS",
    "words",
    "plot_raster",
    "plot_membrane",
    "plot_if_vs_parallel",
    "plot_binary_search",
    "plot_conversion_matrices",
    "plot_staircase",
    "plot_expected_error",
    "rising_pattern",
    "plot_accuracy_vs_T",
    "plot_cumulative_accuracy",
    "plot_calibration",
    "plot_channel_bias",
    "plot_rate_vs_activation",
    "plot_peers",
    "plot_speedup",
    "plot_bandwidth",
    "plot_depth",
    "plot_layer_rate_error",
    "plot_seed_accuracy_vs_T",
]
