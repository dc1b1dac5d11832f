"""``refsnn tour``: the neuron-level facts of the paper, printed for concrete inputs.

It shows, for θ = 1 and ψ = θ/2:

1. the QCFS level of the mean current against the IF count and the parallel count
   (Theorem 4.1 at T = T̃, and the unevenness error of the IF neuron);
2. one spike train from each neuron and in each order (the sorting property);
3. the prior control matrix Λ_pre, the posterior conversion matrix Λ_post, the parallel
   conversion matrix Λ_pc and the step-wise offsets b for T = 4 (Λ_post as refsnn
   reconstructs it: see ``tutorials/00_notation.md``, "Reconstructed posterior conversion matrix").
"""

from fractions import Fraction

import numpy as np

from ..neurons.integrate_fire import if_neuron
from ..neurons.matrices import (
    parallel_conversion_matrix,
    posterior_conversion_matrix,
    prior_control_matrix,
    step_offsets,
)
from ..neurons.parallel import first_spike_step, parallel_neuron
from ..neurons.quantization import qcfs_level

#: Input trains (T = 4, θ = 1) chosen to show agreement and the unevenness error.
EXAMPLES = (
    (0.5, 0.5, 0.5, 0.5),
    (0.0, 0.0, 0.0, 2.0),
    (2.0, 0.0, 0.0, 0.0),
    (1.0, -1.0, 1.0, 1.0),
    (0.25, 0.25, 0.25, 0.25),
    (2.0, 0.0, 0.0, -1.0),
)


def _train(spikes):
    return " ".join("|" if s else "." for s in spikes)


def _fraction(x):
    return str(Fraction(float(x)).limit_denominator(1000))


def _matrix(name, M):
    cells = [[_fraction(v) for v in row] for row in np.atleast_2d(M)]
    width = max(len(c) for row in cells for c in row)
    lines = [f"  {name}"]
    lines += ["    [ " + "  ".join(c.rjust(width) for c in row) + " ]" for row in cells]
    return lines


def tour_lines(theta=1.0):
    """Return the tour as a list of lines (see the module docstring).

    ``theta`` must be a finite number > 0 (ValueError naming it otherwise).
    """
    if not (np.isfinite(theta) and theta > 0):
        raise ValueError(f"theta must be a finite number > 0, got {theta}")
    T = len(EXAMPLES[0])
    currents = np.array(EXAMPLES).T  # (T, neurons): one neuron per example
    level = qcfs_level(currents.mean(axis=0), theta, T)
    if_count = if_neuron(currents, theta).sum(axis=0)
    par_count = parallel_neuron(currents, theta).sum(axis=0)

    out = [f"refsnn tour: the parallel conversion neuron at a glance (theta = {theta}, psi = theta/2)", ""]
    out.append(f"1. QCFS level of the mean current vs spike counts, T = T~ = {T}")
    out.append(f"   {'input currents I_t':<26}{'mean':>6}{'QCFS':>6}{'IF':>5}{'parallel':>10}")
    for i, row in enumerate(EXAMPLES):
        note = "   <- IF unevenness error" if if_count[i] != level[i] else ""
        text = "[" + " ".join(f"{v:g}" for v in row) + "]"
        out.append(
            f"   {text:<26}{currents[:, i].mean():>6.2f}{level[i]:>6}{if_count[i]:>5}{par_count[i]:>10}{note}"
        )
    out.append("   The parallel count always equals the QCFS level (Theorem 4.1, T = T~).")
    out.append("")

    example = np.array([[1.0], [0.0], [0.0], [1.5]])
    first, comparisons = first_spike_step(example, theta, return_comparisons=True)
    out.append(f"2. Spike trains for I = {example[:, 0].tolist()} (| = spike)")
    level = qcfs_level(example.mean(axis=0), theta, T)[0]
    trains = (
        ("IF neuron:      ", if_neuron(example, theta)[:, 0], "sequential, soft reset"),
        ("parallel, paper:", parallel_neuron(example, theta)[:, 0], "back-loaded (sorted)"),
        ("parallel, code: ", parallel_neuron(example, theta, order="code")[:, 0], "front-loaded (authors' code)"),
    )
    out.append(f"   QCFS level of the mean current: {level}")
    for name, spikes, note in trains:
        out.append(f"   {name}  {_train(spikes)}   count {spikes.sum()}, {note}")
    out.append(
        f"   first spike step by binary search: {first[0]} after {comparisons[0]} comparisons"
        f" (at most ceil(log2(T+1)) = {int(np.ceil(np.log2(T + 1)))})"
    )
    out.append("")

    out.append(f"3. Conversion matrices for T = {T} (psi = theta/2 = {theta / 2:g})")
    out += _matrix("prior control matrix  Lambda_pre = 11^T / T", prior_control_matrix(T))
    out += _matrix("posterior conversion matrix  Lambda_post = diag(c) L_T  (L_T reconstructed)", posterior_conversion_matrix(T))
    out += _matrix("parallel conversion matrix  Lambda_pc = Lambda_post Lambda_pre", parallel_conversion_matrix(T))
    out += _matrix("step offsets  b_x = psi / (T - x + 1)", step_offsets(T, theta / 2)[None, :])
    return out


def run(theta=1.0):
    """Print the tour."""
    print("\n".join(tour_lines(theta)))
