"""Networks: layers, activations, training, data, conversion and spiking networks.

``base``        the ``Layer`` base class and its input checks
``layers``      ``Linear``, ``Conv2d``, ``AvgPool2d``, ``Flatten``, ``Sequential``
``activations`` ``ReLU``, ``ClipReLU``, ``QCFS``, ``DAQCFS`` layers
``training``    cross-entropy, Adam, ``fit``, ``predict``, ``accuracy``
``data``        the embedded digits, MNIST / Fashion-MNIST and CIFAR-10 from local files
``conversion``  the three-stage pipeline and the IF baseline
``spiking``     ``SpikingNetwork`` with ``ParallelNeurons`` or ``IFNeurons``
``io``          save and load networks as versioned ``.npz`` files

The public classes and functions of ``layers``, ``activations``, ``spiking`` and
``conversion`` are re-exported here; no re-exported name equals a submodule name.
"""

from .activations import DAQCFS, QCFS, ClipReLU, ReLU
from .conversion import activation_outputs, calibrate, record_thresholds, to_if_snn, to_parallel_snn
from .layers import AvgPool2d, Conv2d, Flatten, Linear, Sequential
from .spiking import IFNeurons, ParallelNeurons, SpikingNetwork

__all__ = [
    "Linear", "Conv2d", "AvgPool2d", "Flatten", "Sequential",
    "ReLU", "ClipReLU", "QCFS", "DAQCFS",
    "ParallelNeurons", "IFNeurons", "SpikingNetwork",
    "record_thresholds", "calibrate", "to_parallel_snn", "to_if_snn", "activation_outputs",
]
