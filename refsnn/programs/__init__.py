"""The ``refsnn`` command line and the programs behind it.

``cli``      argument parsing (``refsnn ...`` and ``python -m refsnn``)
``demo``     ``refsnn demo``: the conversion experiments on the embedded digits
``tour``     ``refsnn tour``: neuron-level facts for a few concrete inputs
``figures``  ``refsnn figures``: every figure in ``figures/``
``bench``    ``refsnn bench``: kernel bandwidth, network modes, start-up
``experiments`` ``refsnn experiment NAME``: the accuracy claims on deep networks, over seeds
``verify``   ``refsnn verify``: the paper's claims as a report (the properties are in ``refsnn.claims``)
``evaluate`` ``refsnn evaluate``: a PyTorch checkpoint of the authors' code as an ANN and as SNNs
``results``  what the demo and the experiments share: one network as one result row
``cache``    the weights cache: train a network or load it, keyed on everything that sets its weights
``outputs``  the programs' output files: paths checked before the work, JSON written atomically
"""
