"""The ``refsnn`` command line and the programs behind it.

``cli``      argument parsing (``refsnn ...`` and ``python -m refsnn``)
``demo``     ``refsnn demo``: the conversion experiments on the embedded digits
``tour``     ``refsnn tour``: neuron-level facts for a few concrete inputs
``figures``  ``refsnn figures``: every figure in ``figures/``
``bench``    ``refsnn bench``: kernel bandwidth, network modes, start-up
"""
