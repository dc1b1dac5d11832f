"""Neurons and their theory: QCFS, the IF neuron, the parallel conversion neuron.

One module per concept, in the paper's order:

``quantization``    QCFS, ClipReLU and DA-QCFS as functions of the pre-activation
``integrate_fire``  the sequential IF neuron with soft reset (the baseline)
``matrices``        the prior control, posterior conversion and parallel conversion matrices
``parallel``        the parallel conversion neuron (dense, rank-1, binary search) and its twins
``parallel_kernels`` the Numba kernels behind ``parallel``
``theory``          Theorem 4.1 at T ≠ T̃, computed exactly
``variants``        the neurons where the theorems break (no reset, leaky)

Importing this package compiles nothing; each kernel compiles on its first call.
"""
