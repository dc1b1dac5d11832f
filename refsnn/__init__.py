"""refsnn: a readable reference for parallel ANN-SNN conversion.

Hao et al., "Faster and Stronger: When ANN-SNN Conversion Meets Parallel Spiking
Calculation", ICML 2025 (arXiv 2412.13610). Importing refsnn compiles nothing: each Numba
kernel compiles on its first call and is cached on disk.

``neurons``      the paper's neurons and their theory; ``refsnn.<function>`` re-exports them
``networks``     layers, training, data, conversion and spiking networks
``claims``       the paper's claims as properties (``refsnn verify`` and the tests)
``against``      a neuron implemented elsewhere, called and checked for ``refsnn verify --against``
``programs``     the ``refsnn`` command line and the programs behind it
``homework``     ``refsnn.homework.check("3.2", answer)``: an exercise's answer against a salted hash
``plotting``     the figures (import it explicitly: ``import refsnn`` does not load matplotlib)
``threads``      how many threads NumPy's BLAS and Numba use: 1 unless ``REFSNN_THREADS`` or ``--threads`` asks for more
``_checks``      the argument checks every module shares (internal)
``_strategies``  Hypothesis strategies that keep float arithmetic exact (internal)
``_files``       writing a file atomically (internal)
"""

from . import homework
from .neurons.integrate_fire import if_neuron
from .neurons.matrices import (
    parallel_conversion_matrix,
    posterior_conversion_matrix,
    prior_control_matrix,
    step_offsets,
)
from .neurons.parallel import first_spike_step, parallel_neuron
from .neurons.quantization import clip_relu, da_qcfs, qcfs, qcfs_level
from .neurons.theory import expected_conversion_error, expected_qcfs
from .threads import thread_setting, use_threads

__version__ = "0.1.0"

__all__ = [
    "qcfs",
    "qcfs_level",
    "clip_relu",
    "da_qcfs",
    "if_neuron",
    "parallel_neuron",
    "first_spike_step",
    "prior_control_matrix",
    "posterior_conversion_matrix",
    "parallel_conversion_matrix",
    "step_offsets",
    "expected_qcfs",
    "expected_conversion_error",
    "use_threads",
    "thread_setting",
]
