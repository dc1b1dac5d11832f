"""Tests for the package as a whole: its layout, its public names, and what importing it costs.

The layout is a promise to readers: ``refsnn.neurons`` (neurons and their theory),
``refsnn.networks`` (layers, training, data, conversion, spiking networks, storage),
``refsnn.programs`` (the command line and what it runs) and ``refsnn.plotting``. Every
module must import by its own name, with no function or class of the same name hiding it.
"""

import importlib
import pkgutil
import subprocess
import sys
import types

import refsnn


def all_modules():
    return [info.name for info in pkgutil.walk_packages(refsnn.__path__, "refsnn.")]


def test_every_module_imports_by_its_own_name():
    """``import refsnn.a.b as m`` gives the module: walking the attribute chain from the
    package reaches a module at every step, never a function or class that shadows it."""
    names = all_modules()
    assert {"refsnn.neurons.quantization", "refsnn.neurons.integrate_fire", "refsnn.neurons.parallel",
            "refsnn.networks.layers", "refsnn.networks.spiking", "refsnn.programs.cli"} <= set(names)
    for name in names:
        module = importlib.import_module(name)
        obj = refsnn
        for part in name.split(".")[1:]:
            obj = getattr(obj, part)
            assert isinstance(obj, types.ModuleType), f"refsnn...{part} in {name} is {obj!r}, not a module"
        assert obj is module


def test_import_as_statement_gives_modules():
    """The case a reader tries first (it returned the function ``qcfs`` before the layout)."""
    import refsnn.neurons.integrate_fire as integrate_fire
    import refsnn.neurons.quantization as quantization

    assert quantization.qcfs_reference and integrate_fire.if_neuron_reference


def test_public_functions_are_re_exported_from_the_top():
    """``refsnn.<function>`` is the public API of the neuron core and of the thread policy;
    each name in ``__all__`` is the object defined in its module (not a copy)."""
    from refsnn import threads
    from refsnn.neurons import integrate_fire, matrices, parallel, quantization, theory

    homes = {"use_threads": threads, "thread_setting": threads,
             "qcfs": quantization, "qcfs_level": quantization, "clip_relu": quantization,
             "da_qcfs": quantization, "if_neuron": integrate_fire, "parallel_neuron": parallel,
             "first_spike_step": parallel, "prior_control_matrix": matrices,
             "posterior_conversion_matrix": matrices, "parallel_conversion_matrix": matrices,
             "step_offsets": matrices, "expected_qcfs": theory, "expected_conversion_error": theory}
    assert set(refsnn.__all__) == set(homes)
    for name, module in homes.items():
        assert getattr(refsnn, name) is getattr(module, name)


def test_import_compiles_nothing():
    """Importing every module compiles no kernel: each compiles on its first call."""
    code = """
import importlib, pkgutil, refsnn
from numba.core.registry import CPUDispatcher
kernels = []
for info in pkgutil.walk_packages(refsnn.__path__, "refsnn."):
    if info.name.startswith(("refsnn.plotting", "refsnn.programs.figures", "refsnn.__main__")):
        continue
    module = importlib.import_module(info.name)
    kernels += [v for v in vars(module).values() if isinstance(v, CPUDispatcher)]
assert len(kernels) >= 8, kernels
print(sum(len(k.signatures) for k in kernels))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"
