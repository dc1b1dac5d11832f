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
# # 1. IF neurons and QCFS: why classic conversion needs many steps
#
# Hao et al., *Faster and Stronger: When ANN-SNN Conversion Meets Parallel Spiking
# Calculation*, ICML 2025 ([arXiv 2412.13610](https://arxiv.org/abs/2412.13610)): the
# background the paper builds on (the QCFS activation and the IF neuron) and case $T \ne \tilde T$ of
# Theorem 4.1.
#
# Boxes that start with **Paper** restate what the paper says; boxes that start with **Code**
# describe the authors' released code, and **refsnn** a choice of this project. The
# [notation page](00_notation.md) fixes the notation and says which statement comes from
# where. Everything else is commentary.
#
# This tutorial shows three things:
#
# 1. the QCFS activation, which a QCFS ANN is trained with;
# 2. the integrate-and-fire (IF) neuron, which matches QCFS for constant input but
#    not for uneven input (the *unevenness error*), and how that error fades only slowly
#    as the number of steps $T$ grows;
# 3. what the shift $\psi = \theta/2$ buys: zero conversion error on average.
#
# It runs in a few seconds.

# %%
from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np

import refsnn
from refsnn.programs.figures import show_figure, tutorial_figures_dir
from refsnn import plotting as rp

refsnn.use_threads()  # one thread unless REFSNN_THREADS says more (the BLAS always) (README, "Threads")

FIGURES = tutorial_figures_dir(globals().get("__file__"))  # tutorials/output/
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1.1 The QCFS activation
#
# > **Paper (QCFS, from Bu et al. 2022).** The quantization-clip-floor-shift activation
# > with $L$ levels, threshold $\theta$ and shift $\psi$ is
# > $Q_L(z; \theta, \psi) = \frac{\theta}{L} \mathrm{clip}(\lfloor (L z + \psi)/\theta \rfloor, 0, L)$, with $\psi = \theta/2$ as standard.
#
# With $\psi = \theta/2$ the floor rounds *half up*. `np.round` rounds half to even, so it differs
# exactly at the ties, where $L z/\theta + 1/2$ is a whole number:

# %%
z = np.array([0.125, 0.375, 0.625, 0.875])  # ties for L = 4, θ = 1
print("QCFS level (half up):", refsnn.qcfs_level(z, theta=1.0, levels=4))
print("np.round (half even):", np.round(4 * z).astype(int))
assert refsnn.qcfs_level(z, 1.0, 4).tolist() == [1, 2, 3, 4]

# %% [markdown]
# ## 1.2 The IF neuron matches QCFS for constant input
#
# > **Paper (the IF neuron).** The IF neuron integrates $m_t = v_{t-1} + I_t$, fires
# > $s_t = 1$ when $m_t \ge \theta$, resets softly $v_t = m_t - \theta s_t$, and starts at $v_0 = \theta/2$.
#
# With the same current $z$ at every step, the IF neuron's count over $T$ steps is the QCFS
# level at $L = T$. Let us check it on 10,000 random neurons at once (refsnn arrays are
# time first: shape `(T, neurons)`).

# %%
T = 8
z = rng.uniform(-0.2, 1.2, size=10_000)
constant = np.broadcast_to(z, (T, z.size))
if_count = refsnn.if_neuron(constant, theta=1.0).sum(axis=0)
assert (if_count == refsnn.qcfs_level(z, 1.0, T)).all()
print("constant input: IF count == QCFS level for all", z.size, "neurons")

# %% [markdown]
# ## 1.3 Uneven input: the unevenness error
#
# Inside a network the input of a layer is the spike trains of the layer before, so the
# current changes from step to step. The IF neuron can only spend charge that has already
# arrived: a burst in the last step raises the potential far above $\theta$, but there is no step
# left to emit it. Below, the mean input is $0.55\theta$, so the QCFS level is 4, but the IF
# neuron fires only 3 times and ends with $1.9\theta$ it never emits.

# %%
burst = np.array([0.4, 0.9, 0.0, 0.7, 0.1, 0.0, 0.2, 2.1])
count = refsnn.if_neuron(burst[:, None], 1.0).sum()
left = 0.5 + burst.sum() - 1.0 * count  # v_T = ψ + Σ_t I_t − θ·N
print(f"mean {burst.mean():.2f}θ: QCFS level {refsnn.qcfs_level([burst.mean()], 1.0, 8)[0]}, "
      f"IF count {count}, left in the membrane {left:.1f}θ")
assert refsnn.qcfs_level([burst.mean()], 1.0, 8)[0] == 4 and count == 3 and abs(left - 1.9) < 1e-9
fig, ax = rp.plot_membrane(burst, theta=1.0)
show_figure(fig, FIGURES / "01_membrane.png")

# %% [markdown]
# ![IF membrane potential with soft resets](../figures/tutorials/01_membrane.png)
#
# How often does this happen, and how large is the resulting error in the *rate*
# $r = (\theta/T) N$? We draw uneven inputs: each neuron gets a mean $z \sim U[0, \theta]$ and every step
# adds zero-mean noise of size $0.5\theta$. We compare the IF count with the QCFS level of the
# mean, for $T$ from 2 to 128.

# %%
Ts = [2, 4, 8, 16, 32, 64, 128]  # at T = 1 there is nothing to be uneven
mismatch, rate_error = [], []
for T in Ts:
    z = rng.uniform(0, 1, size=4000)
    currents = z + 0.5 * rng.standard_normal((T, z.size))
    currents += z - currents.mean(axis=0)  # make the time-mean exactly z (up to rounding)
    level = refsnn.qcfs_level(currents.mean(axis=0), 1.0, T)
    count = refsnn.if_neuron(currents, 1.0).sum(axis=0)
    mismatch.append(np.mean(count != level))
    rate_error.append(np.mean(np.abs(count - level)) / T)  # |r_IF − Q_T(z)| / θ
    # the parallel neuron of tutorial 2 never misses:
    assert (refsnn.parallel_neuron(currents, 1.0).sum(axis=0) == level).all()

for T, m, e in zip(Ts, mismatch, rate_error):
    print(f"T = {T:4d}: IF count != QCFS level for {100 * m:5.1f}% of neurons, mean rate error {e:.4f} θ")
assert mismatch[0] < 0.1 and 0.3 < mismatch[-1] < 0.37 and (np.diff(mismatch) > 0).all()  # the share grows
assert abs(rate_error[1] - 0.04) < 0.005 and abs(rate_error[-1] - 0.004) < 0.001  # T = 4 and T = 128
assert (np.diff(rate_error[1:]) < 0).all()  # the rate error falls from T = 4 on, slowly

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
axes[0].plot(Ts, 100 * np.array(mismatch), "o-", color=rp.COLORS["if"])
axes[0].set_ylabel("neurons with IF count ≠ QCFS level (%)")
axes[1].plot(Ts, rate_error, "o-", color=rp.COLORS["if"])
axes[1].set_ylabel("mean rate error |r_IF − Q_T(z)| / θ")
for ax in axes:
    ax.set_xscale("log", base=2)
    ax.set_xticks(Ts, [str(T) for T in Ts])
    ax.minorticks_off()
    ax.set_ylim(bottom=0)
    ax.set_xlabel("time steps T")
fig.suptitle("Unevenness error of the IF neuron on random uneven input (mean z ~ U[0, θ])", fontsize=11)
show_figure(fig, FIGURES / "01_unevenness_vs_T.png")

# %% [markdown]
# ![Unevenness error against T](../figures/tutorials/01_unevenness_vs_T.png)
#
# On this noise model the fraction of neurons that miss the QCFS level does not fall as $T$
# grows: it grows,
# from under a tenth at $T = 2$ to a third at $T = 128$ (left panel). Each miss costs about one spike, worth $\theta/T$ in rate,
# so the rate error does fall, but slowly: from about $0.04\theta$ at $T = 4$ to $0.004\theta$ at $T = 128$
# (right panel). A converted IF network therefore needs many steps before its rates are
# close to the ANN's activations. This is the cost that the paper removes. The parallel
# neuron (asserted above,
# built in tutorial 2) has no unevenness error at any $T$.
#
# ## 1.4 What ψ = θ/2 buys
#
# > **Paper (Theorem 4.1, case $T \ne \tilde T$).** With $\psi = \theta/2$ the expected conversion
# > error between the SNN at $T$ steps and the QCFS ANN trained at level $\tilde T$ is zero.
#
# What "expected" is taken over is an assumption refsnn makes ([notation page,
# "Theorem 4.1"](00_notation.md#theorem-41)): the pre-activation $z$ is uniform on $[0, \theta]$.
# Then $\mathbb{E}[Q_L(z)]/\theta$ can be computed exactly, as a finite sum
# (`refsnn.neurons.theory.expected_qcfs`). With shift 1/2 it is 1/2 for every $L$, so the
# difference between any two levels is zero. Any other shift makes it depend on $L$:

# %%
for L in (1, 2, 4, 8, 16):
    print(f"L = {L:2d}: E[Q_L]/θ = {refsnn.expected_qcfs(L)}  (ψ = θ/2),  "
          f"{refsnn.expected_qcfs(L, shift=0)}  (ψ = 0)")
    assert refsnn.expected_qcfs(L) == Fraction(1, 2)
assert refsnn.expected_conversion_error(4, 8, shift=0) == Fraction(-1, 16)

fig, ax = rp.plot_expected_error(4, [2, 3, 8, 16])
show_figure(fig, FIGURES / "01_expected_error.png")

# %% [markdown]
# ![Expected conversion error against the shift ψ](../figures/tutorials/01_expected_error.png)
#
# Every curve crosses zero at $\psi = \theta/2$, whatever $\tilde T$ is. With $\psi = 0$ (a plain floor) an SNN at
# $T = 4$ converted from a QCFS ANN at $\tilde T = 8$ is biased by $-\theta/16$ per neuron on average, and
# such biases add up through the layers.
#
# **Explorer (optional).** In a live notebook (`pip install "refsnn[notebooks]"`), sliders
# for $T$ and $\psi$ mark the exact expected error at that $\psi$ for each $\tilde T$. A
# plain `python` run, and this page, skip it.

# %%
from refsnn.plotting.explorers import expected_error_explorer, live

live(expected_error_explorer)  # the widget in a notebook; None in a plain run

# %% [markdown]
# ## Exercises
#
# Worked solutions: [solutions/01_if_neurons_and_qcfs.md](solutions/01_if_neurons_and_qcfs.md).
#
# 1. Replace the noise in §1.3 by a front-loaded input with the same time-mean $z$:
#    $I_t = 2z$ for $t \le T/2$ and 0 after. What fraction of neurons now miss the QCFS level,
#    for $T = 2, \dots, 128$? And with the time reverse (all current in the second half)? Explain
#    with the membrane plot. (Hint: an IF neuron emits at most $\theta$ per step; how much charge
#    can be left in the membrane at the end in each case?) Answer check: the fraction of
#    back-loaded neurons that miss at $T = 128$, as a probability for $z$ uniform on
#    $[0, \theta]$ (not a sample's estimate), to 3 decimals:
#    `refsnn.homework.check("1.1", fraction)`.
#    ([solution](solutions/01_if_neurons_and_qcfs.md#exercise-1))
# 2. Prove that for nonnegative currents the IF count never exceeds the QCFS level.
#    (Hint: the final potential $v_T$ is $\ge 0$ and $\theta N = \psi + \sum_t I_t - v_T$.) Find an input with
#    a negative current where it does exceed it. (Hint: two steps are enough.)
#    ([solution](solutions/01_if_neurons_and_qcfs.md#exercise-2))
# 3. Compute $\mathbb{E}[Q_4(z) - Q_8(z)]$ for $z$ uniform on $[0, \theta]$ and $\psi = \theta/4$, first by hand from
#    the staircase (hint: how long is each level's interval of $z$?), then with
#    `refsnn.expected_conversion_error(4, 8, shift=Fraction(1, 4))`. Answer check:
#    $\mathbb{E}[Q_4(z) - Q_8(z)]/\theta$ to 5 decimals: `refsnn.homework.check("1.3", error)`.
#    ([solution](solutions/01_if_neurons_and_qcfs.md#exercise-3))
