"""Networks: layers, activations, training, data, conversion and spiking networks.

``base``        the ``Layer`` base class and its input checks
``layers``      ``Linear``, ``Conv2d``, ``AvgPool2d``, ``Flatten``, ``Sequential``
``activations`` ``ReLU``, ``ClipReLU``, ``QCFS``, ``DAQCFS`` layers
``training``    cross-entropy, Adam, ``fit``, ``predict``, ``accuracy``
``data``        the embedded digits, MNIST / Fashion-MNIST and CIFAR-10 from local files
``conversion``  the three-stage pipeline and the IF baseline
``spiking``     ``SpikingNetwork`` with ``ParallelNeurons`` or ``IFNeurons``
``io``          save and load networks as versioned ``.npz`` files
"""
