# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 4. The sorting property, binary-search firing, and where they break
#
# Hao et al., ICML 2025 ([arXiv 2412.13610](https://arxiv.org/abs/2412.13610)): the sorting
# property and binary-search firing.
#
# Boxes that start with **Paper** restate what the paper says; boxes that start with **Code**
# describe the authors' released code, and **refsnn** a choice of this project. The
# [notation page](00_notation.md) fixes the notation and says which statement comes from
# where. Everything else is commentary.
#
# > **Paper (sorting property and binary search).** The parallel conversion neuron has a
# > sorting property: once a step fires, every later step fires. So the first spike time
# > can be found by binary search, in $O(\log T)$ comparisons instead of $T$.

# %%
import math

import numpy as np

import refsnn
from refsnn.programs.figures import show_figure, tutorial_figures_dir
from refsnn import plotting as rp
from refsnn.neurons.variants import leaky_parallel_neuron, leaky_posterior_matrix, no_reset_neuron

refsnn.use_threads()  # one thread unless REFSNN_THREADS says more (the BLAS always) (README, "Threads")

FIGURES = tutorial_figures_dir(globals().get("__file__"))  # tutorials/output/
rng = np.random.default_rng(0)
theta = 1.0


def is_sorted(spikes):
    """True for every neuron whose train is 0…0 1…1 (never a spike followed by silence)."""
    return (np.diff(spikes.astype(int), axis=0) >= 0).all(axis=0)


# %% [markdown]
# ## 4.1 The sorting property
#
# $H_x = (\Sigma + \psi)/(T - x + 1)$: the numerator is the same for every step and the denominator
# shrinks as $x$ grows. If $\Sigma + \psi > 0$, $H_x$ grows with $x$, so once $H_x \ge \theta$ every later step is
# above $\theta$ too. (If $\Sigma + \psi \le 0$, no step reaches $\theta > 0$.) The IF neuron has no such property.

# %%
T = 16
currents = rng.normal(0.3, 1.0, size=(T, 10_000))
paper = refsnn.parallel_neuron(currents, theta)
code = refsnn.parallel_neuron(currents, theta, order="code")
assert is_sorted(paper).all()
assert (code == paper[::-1]).all() and (code.sum(axis=0) == paper.sum(axis=0)).all()
print(f"IF trains that are sorted: {is_sorted(refsnn.if_neuron(currents, theta)).mean():.0%}")

fig, axes = rp.plot_if_vs_parallel(currents[:8, :12], theta)
show_figure(fig, FIGURES / "04_if_vs_parallel.png")

# %% [markdown]
# ![IF and parallel trains for the same input](../figures/tutorials/04_if_vs_parallel.png)
#
# In the paper's order the spikes fill the *last* steps; the authors' released code fills
# the *first* steps instead (`order="code"`; [notation page, "Spike
# order"](00_notation.md#spike-order)). The counts, and so everything a network computes
# from time-means, are the same.
#
# **Explorer (optional).** In a live notebook (`pip install "refsnn[notebooks]"`), a menu
# of input patterns and sliders for $T$ and the mean $z$ redraw one IF membrane and the IF
# and parallel trains of ten neurons fed that pattern. A plain `python` run, and this
# page, skip it.

# %%
from refsnn.plotting.explorers import if_vs_parallel_explorer, live

live(if_vs_parallel_explorer)  # the widget in a notebook; None in a plain run

# %% [markdown]
# ## 4.2 Binary search for the first spike
#
# The firing predicate $P(x) = [H_x \ge \theta]$ is monotone in $x$, so the first step where it holds,
# $t_\text{fir}$, can be found by bisection. `first_spike_step` counts the comparisons.

# %%
Ts = [1, 2, 4, 8, 16, 32, 64, 128, 256]
for T in Ts:
    currents = rng.normal(0.5, 1.0, size=(T, 2000))
    first, comparisons = refsnn.first_spike_step(currents, theta, return_comparisons=True)
    count = refsnn.parallel_neuron(currents, theta).sum(axis=0)
    assert (count == T - first + 1).all()  # N = T − t_fir + 1
    assert comparisons.max() <= math.ceil(math.log2(T + 1))
    print(f"T = {T:3d}: at most {comparisons.max()} comparisons (⌈log2(T+1)⌉ = "
          f"{math.ceil(math.log2(T + 1))}) instead of {T}")

fig, ax = rp.plot_binary_search(total=5.3, theta=theta, psi=theta / 2, T=16)
show_figure(fig, FIGURES / "04_binary_search.png")

# %% [markdown]
# ![Binary search for the first spike step](../figures/tutorials/04_binary_search.png)
#
# The number of comparisons grows like $\log_2 T$. Writing the spikes out is still $O(T)$, and
# computing $\Sigma$ is $O(T)$, so binary search saves comparisons, not memory traffic. The released
# code does not use it ([notation page, "Where the released code
# differs"](00_notation.md#where-the-released-code-differs)).
#
# ## 4.3 Where it breaks: the leaky neuron
#
# Replace the integrator $L_T$ inside $\Lambda_\text{post}$ by a leaky one, $(L^\lambda_T)_{x,t} = \lambda^{x-t}$
# (`refsnn.neurons.variants`; [notation page, "Where the theorems
# break"](00_notation.md#where-the-theorems-break)). The potentials $H_x$ are no longer
# monotone in $x$, even for constant input:

# %%
constant = np.ones((7, 1))
leaky = leaky_parallel_neuron(constant, theta, leak=0.5)[:, 0]
print("leaky (λ = 0.5), constant input 1:", leaky.astype(int))
assert leaky.tolist() == [True, False, False, False, True, True, True]
assert not is_sorted(leaky[:, None])[0]

# %% [markdown]
# Step 1 fires and steps 2–4 do not, so the predicate is not monotone. Binary search then
# returns a wrong first step: it probes step 4 (silent), moves right, and never sees step 1.

# %%
H = leaky_posterior_matrix(7, 0.5) @ refsnn.prior_control_matrix(7) @ constant[:, 0] + refsnn.step_offsets(7, theta / 2)
lo, hi = 1, 8
while lo < hi:  # the bisection of §4.2, run on the leaky potentials
    mid = (lo + hi) // 2
    lo, hi = (lo, mid) if H[mid - 1] >= theta else (mid + 1, hi)
print(f"binary search says t_fir = {lo} (count {7 - lo + 1}); the leaky neuron fires {leaky.sum()} times")
assert 7 - lo + 1 != leaky.sum()

# %% [markdown]
# **Where this counterexample comes from.** The paper defines no leaky parallel neuron.
# refsnn builds one by changing only the integrator and keeping everything else, in
# particular the posterior row factors $c_x = T/(x(T - x + 1))$. Those factors belong to the
# IF neuron's integrator $L_T$: row $x$ of $L_T \Lambda_\text{pre} I$ is $x \bar I$, and $c_x x/T = 1/(T - x + 1)$. The
# leaky integrator's row $x$ sums to $g_x = 1 + \lambda + \dots + \lambda^{x-1} < x$ instead, so the same $c_x$
# leave a factor $g_x/x$ that falls with $x$ (the `refsnn.neurons.variants` docstring). Give
# the leaky integrator its own factors, $c^\lambda_x = T/(g_x (T - x + 1))$, and the product is the
# paper's $\Lambda_\text{pc}$ again, sorted. What breaks sorting is reusing the IF neuron's $c_x$ with a
# different integrator, not leakage as such:

# %%
T, leak = 7, 0.5
x = np.arange(1, T + 1)
g = (1 - leak ** x) / (1 - leak)  # g_x = 1 + λ + … + λ^(x−1)
leaky_pc = leaky_posterior_matrix(T, leak) @ refsnn.prior_control_matrix(T)
assert np.allclose(leaky_pc, (g / (x * (T - x + 1)))[:, None] * np.ones((1, T)))  # c_x·g_x/T per row
assert np.allclose((x / g)[:, None] * leaky_pc, refsnn.parallel_conversion_matrix(T))  # c^λ_x: the paper's Λ_pc

# %% [markdown]
# **Explorer (optional).** In a live notebook (`pip install "refsnn[notebooks]"`), sliders
# for the leak $\lambda$ and $T$ redraw the parallel and the leaky trains for constant
# inputs and count the unsorted ones. A plain `python` run, and this page, skip it.

# %%
from refsnn.plotting.explorers import leaky_explorer, live

live(leaky_explorer)  # the widget in a notebook; None in a plain run

# %% [markdown]
# ## 4.4 Where it breaks: no reset
#
# > **Paper (background: the parallel spiking neuron of Fang et al., 2023).** A parallel
# > spiking neuron computes all potentials at once, $H = \Lambda I$; with $\Lambda = L_T$ it is an IF
# > neuron *without reset*.
#
# Without a reset, once the running sum crosses $\theta$ every later step fires: the count is
# biased upwards against QCFS. With a negative current, the running sum falls back and the
# train is not sorted either. The example below starts from $v_0 = 0$ (the default of
# `no_reset_neuron`): its running sums 0.75, 1, 0.75 cross $\theta$ only at the middle step.
# From $v_0 = \theta/2$ they would be 1.25, 1.5, 1.25, all at or above $\theta$, and the
# train a sorted `[1 1 1]`: an unsorted train needs a sum that crosses $\theta$ and falls back
# below it.

# %%
half = np.full((4, 1), 0.5)
print("constant 0.5θ, T = 4: no-reset count", no_reset_neuron(half, theta, v0=0.5).sum(),
      "| QCFS level", refsnn.qcfs_level([0.5], theta, 4)[0],
      "| parallel count", refsnn.parallel_neuron(half, theta).sum())
assert no_reset_neuron(half, theta, v0=0.5).sum() == 4 > refsnn.parallel_neuron(half, theta).sum() == 2

dip = np.array([[0.75], [0.25], [-0.25]])
print("input [0.75, 0.25, -0.25]: no-reset", no_reset_neuron(dip, theta)[:, 0].astype(int),
      "| parallel", refsnn.parallel_neuron(dip, theta)[:, 0].astype(int))
assert not is_sorted(no_reset_neuron(dip, theta))[0] and is_sorted(refsnn.parallel_neuron(dip, theta))[0]
assert no_reset_neuron(dip, theta, v0=0.5)[:, 0].tolist() == [True, True, True]  # from v0 = θ/2: sorted

currents = rng.normal(0.3, 0.6, size=(16, 5000))
excess = no_reset_neuron(currents, theta, v0=0.5).sum(axis=0) - refsnn.qcfs_level(currents.mean(axis=0), theta, 16)
print(f"random input, T = 16: no-reset count exceeds the QCFS level by {excess.mean():.1f} spikes on average")
assert excess.mean() > 1

# %% [markdown]
# ## Exercises
#
# Worked solutions: [solutions/04_sorting_and_binary_search.md](solutions/04_sorting_and_binary_search.md).
#
# 1. For the leaky neuron with $\psi = \theta/2$, find the smallest $T$ for which some constant input
#    gives an unsorted train, and for that $T$ the set of $\lambda$ that do. Is there a largest such
#    $\lambda$? (Hint: compare $g_x/x$ at $x = 1$ and $x = 2$ in the `refsnn.neurons.variants`
#    docstring: write "step 1 fires" and "step 2 is silent" as two inequalities on $\Sigma$.)
#    Answer check: that smallest $T$, a whole number: `refsnn.homework.check("4.1", T)`.
#    ([solution](solutions/04_sorting_and_binary_search.md#exercise-1))
# 2. Modify the bisection of §4.3 so that it *detects* the failure on the §4.3 input by
#    probing one extra step. Which step, and why that one for the leaky neuron? Can any
#    method that probes $O(\log T)$ steps detect a non-monotone predicate in general?
#    (Hint: think of an adversary who may change the predicate at any step you did not
#    probe.) Answer check: the last question, yes or no:
#    `refsnn.homework.check("4.2", answer)`.
#    ([solution](solutions/04_sorting_and_binary_search.md#exercise-2))
# 3. In the authors' code order (spikes front-loaded), write the bisection that finds the
#    *last* spike step. Check it against `refsnn.parallel_neuron(..., order="code")`.
#    ([solution](solutions/04_sorting_and_binary_search.md#exercise-3))
