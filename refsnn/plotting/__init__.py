"""Plots for refsnn: neurons, conversion and networks (import explicitly: ``refsnn.plotting``).

``import refsnn`` does not import matplotlib; this package does. Every function takes
NumPy arrays (or the demo's and the benchmark's JSON results as plain lists and dicts)
and an optional ``ax`` (or ``axes`` where it draws several panels), and returns
``(fig, ax)`` (or ``(fig, axes)``). All colours come from one colour-blind-safe palette,
Okabe–Ito (:data:`COLORS`, :data:`CYCLE`). The functions work under the ``Agg`` backend.

=============================  ==========================================  ===========
function                       what it shows                               spec
=============================  ==========================================  ===========
``plot_raster``                spike raster, optional firing-rate bar      §2.2–§3.3
``plot_membrane``              one IF neuron: θ, v0, soft resets, spikes   §2.2
``plot_if_vs_parallel``        the same input into IF and parallel         §2.2, §3.2
``plot_binary_search``         H_x, the probes, the first spike step       §3.5
``plot_conversion_matrices``   Λ_pre, Λ_post, Λ_pc and b                   §3.1
``plot_staircase``             QCFS, parallel and IF rates against z       §3.6
``plot_expected_error``        E[r_T − r_T̃] against ψ                      §3.6
``plot_accuracy_vs_T``         demo accuracy against T                     §5, §11
``plot_cumulative_accuracy``   accuracy from logits summed over 1..t       §9.8
``plot_calibration``           per-layer error before/after DA-QCFS        §4
``plot_rate_vs_activation``    SNN rate against ANN activation per layer   §4, §5
``plot_speedup``               parallel speed-up over sequential IF        §11
``plot_bandwidth``             neuron-kernel GB/s against memory copy      §11
=============================  ==========================================  ===========
"""

from ._style import CMAP, COLORS, CYCLE, OKABE_ITO
from .conversion import plot_conversion_matrices, plot_expected_error, plot_staircase, rising_pattern
from .networks import (
    plot_accuracy_vs_T,
    plot_bandwidth,
    plot_calibration,
    plot_cumulative_accuracy,
    plot_rate_vs_activation,
    plot_speedup,
)
from .neurons import plot_binary_search, plot_if_vs_parallel, plot_membrane, plot_raster

__all__ = [
    "OKABE_ITO",
    "COLORS",
    "CYCLE",
    "CMAP",
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
    "plot_rate_vs_activation",
    "plot_speedup",
    "plot_bandwidth",
]
