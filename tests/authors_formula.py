"""The firing rule of the authors' ``ParaInfNeuron``, rewritten in NumPy from its formula.

The released code (https://github.com/hzc1208/Parallel_Conversion, commit 622d40fc,
``modules.py``) fires step x = 1…T of a parallel neuron iff

    fl(fl(T/x)·mean) + fl(init_mem·θ/x) >= θ,     mean = Σ_t I_t / T,

in float32, with ψ = init_mem·θ. fl(T/x) is largest at x = 1, so the spikes fill the first
N steps: the code order. This module states that formula once, in the calling convention
of ``refsnn verify --against``, for ``tests/test_against.py`` (no torch needed).
"""

import numpy as np


def authors_parallel(currents, theta, psi):
    """Spikes (T, N), code order: fl(fl(T/x)·mean) + fl(ψ/x) >= θ in float32, x = 1…T."""
    T = currents.shape[0]
    x = np.arange(1, T + 1, dtype=np.float32)[:, None]
    scale = np.float32(T) / x  # fl(T/x)
    offset = np.float32(psi) / x  # fl(ψ/x)
    mean = currents.mean(axis=0, dtype=np.float32)
    return scale * mean + offset >= np.float32(theta)
