"""Networks: layers, activations, training, data, conversion and spiking networks.

``base``           the ``Layer`` base class, its input checks and ``NonFiniteError``
``layers``         ``Linear``, ``Conv2d``, ``AvgPool2d``, ``MaxPool2d``, ``Flatten`` and their readable twins
``fast_conv``      the blocked convolution that ``Conv2d`` runs
``winograd``       Winograd's F(2×2, 3×3) for the deep 3×3 layers, and its twins
``layer_kernels``  the Numba kernels of the layers, activations, BatchNorm and Adam
``activations``    ``ReLU``, ``ClipReLU``, ``QCFS``, ``DAQCFS`` layers
``normalization``  ``BatchNorm`` and folding it into the layer before it
``containers``     ``Sequential``, ``Residual``, and walking nested networks
``models``         the model zoo: ``deep_mlp``, ``vgg_mini``, ``resnet_mini``
``training``       cross-entropy, Adam, ``fit``, ``predict``, ``accuracy``
``sample_runs``    inference on more threads: a run of the batch's samples per thread
``data``           the embedded digits, MNIST / Fashion-MNIST and CIFAR-10/100 from local files
``conversion``     the three-stage pipeline and the IF baseline
``neuron_layers``  ``ParallelNeurons`` and ``IFNeurons``
``spiking``        ``SpikingNetwork``: construction, checks and results
``modes``          its three ways to run: sequential, faithful, collapsed
``fast_snn``       the lean paths of a spiking network's inner loop
``io``             save and load networks as versioned ``.npz`` files
``zoo``            the authors' VGG-16, ResNet-18/20/34 and ReLU ResNet-18/34/50/101, loaded from their checkpoints
``checkpoints``    read PyTorch checkpoints as NumPy arrays, through an allow-list, without torch

The public classes and functions of ``layers``, ``activations``, ``containers``
(``Sequential``), ``spiking`` and ``conversion`` are re-exported here; no re-exported name
equals a submodule name.
"""

from .activations import DAQCFS, QCFS, ClipReLU, ReLU
from .containers import Sequential
from .conversion import activation_outputs, calibrate, record_thresholds, to_if_snn, to_parallel_snn
from .layers import AvgPool2d, Conv2d, Flatten, Linear, MaxPool2d
from .spiking import IFNeurons, ParallelNeurons, SpikingNetwork

__all__ = [
    "Linear", "Conv2d", "AvgPool2d", "MaxPool2d", "Flatten", "Sequential",
    "ReLU", "ClipReLU", "QCFS", "DAQCFS",
    "ParallelNeurons", "IFNeurons", "SpikingNetwork",
    "record_thresholds", "calibrate", "to_parallel_snn", "to_if_snn", "activation_outputs",
]
