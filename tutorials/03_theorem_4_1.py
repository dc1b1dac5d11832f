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
# # 3. Theorem 4.1, as executable checks
#
# Hao et al., ICML 2025 ([arXiv 2412.13610](https://arxiv.org/abs/2412.13610)),
# Theorem 4.1.
#
# Boxes that start with **Paper** restate what the paper says; boxes that start with **Code**
# describe the authors' released code, and **refsnn** a choice of this project. The
# [notation page](00_notation.md) fixes the notation and says which statement comes from
# where. Everything else is commentary. Every claim below is an `assert`: if this file
# runs, the claims hold.
#
# > **Paper (Theorem 4.1).** A layer of parallel conversion neurons with threshold $\theta$, shift
# > $\psi$, $\Lambda_\text{pc}$ and $b$, receiving the time-mean input $z$, has rate $r = (\theta/T) N$ with
# > 1. $T = \tilde T$: $r = Q_{\tilde T}(z)$ exactly (lossless);
# > 2. $T \ne \tilde T$ and $\psi = \theta/2$: $\mathbb{E}[r - Q_{\tilde T}(z)] = 0$ (lossless in expectation).
#
# What the expectation is taken over is an assumption refsnn makes: $z$ uniform on $[0, \theta]$, as
# in the analogous QCFS result of Bu et al. (2022) ([notation page, "Theorem
# 4.1"](00_notation.md#theorem-41)). We test exactly that, and then break it.

# %%
from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

import refsnn
from refsnn.programs.figures import show_figure, tutorial_figures_dir
from refsnn import plotting as rp

refsnn.use_threads()  # one thread unless REFSNN_THREADS says more (the BLAS always) (README, "Threads")

FIGURES = tutorial_figures_dir(globals().get("__file__"))  # tutorials/output/
rng = np.random.default_rng(0)
theta = 1.0

# %% [markdown]
# ## 3.1 Case T = T̃: lossless, neuron by neuron
#
# Uneven random input, 20,000 neurons, several $T$. The parallel rate equals the QCFS
# activation of the mean at level $\tilde T = T$. We compare *counts* with QCFS *levels*: they are
# integers, so the comparison is exact.

# %%
for T in (1, 2, 4, 8, 16, 32):
    currents = rng.normal(0.5, 1.0, size=(T, 20_000))
    count = refsnn.parallel_neuron(currents, theta).sum(axis=0)
    assert (count == refsnn.qcfs_level(currents.mean(axis=0), theta, T)).all()
print("T = T~: parallel count == QCFS level on every neuron, for every T tried")

# %% [markdown]
# ## 3.2 Case T = T̃: lossless through a whole network
#
# The theorem passes from layer to layer by induction: linear layers commute with the
# time-mean, so layer l + 1 of the SNN sees the time-mean that the ANN sees. Here is a
# three-layer MLP with random weights. The ANN uses QCFS at level $T$; the SNN repeats the
# input at every step (direct encoding, as in the released code: [notation page,
# "Evaluation and timing in the released
# code"](00_notation.md#evaluation-and-timing-in-the-released-code)), applies each weight
# matrix step by step to the spikes of the layer before (each spike carries $\theta$), and fires
# parallel neurons.

# %%
T = 4
sizes = [20, 64, 64, 10]
Ws = [rng.normal(0, 1.5 / np.sqrt(m), size=(n, m)) for m, n in zip(sizes[:-1], sizes[1:])]
bs = [rng.normal(0, 0.1, size=n) for n in sizes[1:]]
x = rng.random((sizes[0], 500))  # 500 inputs, one per column

a = x  # ANN
for W, b in zip(Ws[:-1], bs[:-1]):
    a = refsnn.qcfs(W @ a + b[:, None], theta, T)
ann_logits = Ws[-1] @ a + bs[-1][:, None]

s = np.broadcast_to(x, (T,) + x.shape)  # SNN: the analog image at every step
for W, b in zip(Ws[:-1], bs[:-1]):
    currents = np.einsum("nm,tmb->tnb", W, s) + b[:, None]  # per step: I_t = W·s_t + b
    s = theta * refsnn.parallel_neuron(currents, theta)
snn_logits = np.einsum("nm,tmb->tnb", Ws[-1], s).mean(axis=0) + bs[-1][:, None]

np.testing.assert_allclose(snn_logits, ann_logits, atol=1e-9)
assert (snn_logits.argmax(axis=0) == ann_logits.argmax(axis=0)).all()
print("SNN (parallel neurons, T = 4) == QCFS ANN (level 4) on all 500 inputs")

# %% [markdown]
# Two different paths give one answer, up to rounding: the SNN sums $T$ rounded per-step
# products, the ANN multiplies once. At an exact tie this rounding could flip one count
# ([notation page, "Float ties"](00_notation.md#float-ties)); with random real weights
# that has probability zero, and this seed has none.
#
# ## 3.3 Case T ≠ T̃: lossless in expectation, exactly
#
# At $T \ne \tilde T$ the parallel rate is $Q_T(z)$, not $Q_{\tilde T}(z)$. The staircases differ (right panel
# below), but for $z$ uniform on $[0, \theta]$ their means agree. `refsnn.neurons.theory` computes the
# expectation exactly, with fractions:

# %%
for T in (1, 2, 3, 4, 8, 16):
    for T_tilde in (1, 2, 4, 8, 16, 32):
        assert refsnn.expected_conversion_error(T, T_tilde) == 0
print("E[Q_T(z) - Q_T~(z)] = 0 exactly for z ~ U[0, θ], ψ = θ/2, all 36 pairs")

fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained", sharey=True)
rp.plot_staircase(4, 4, ax=axes[0])
rp.plot_staircase(4, 8, ax=axes[1])
show_figure(fig, FIGURES / "03_staircase.png")

# %% [markdown]
# ![Rates against the mean input at T = T̃ and T ≠ T̃](../figures/tutorials/03_staircase.png)
#
# **Why, in one line.** For a shift $0 \le \psi \le \theta$ the expectation has a closed form
# (derived in `refsnn.neurons.theory`). Write $u = z/\theta \sim U[0, 1]$ and $s = \psi/\theta$: level 0
# covers $u < (1 - s)/L$, each of the levels $1, \dots, L - 1$ an interval of length $1/L$, and
# level $L$ the last $s/L$. So
#
#
# $$
# \mathbb{E}[Q_L(z)]/\theta = \frac1L \Big[\frac{1 + 2 + \dots + (L - 1)}{L} + L \cdot \frac{s}{L}\Big] = \frac12 + \frac{s - 1/2}{L},
# $$
#
#
# and $\mathbb{E}[Q_T(z) - Q_{\tilde T}(z)]/\theta = (s - 1/2) (1/T - 1/\tilde T)$. Case 2 of Theorem 4.1 is immediate:
# with $s = 1/2$ the error is zero for every pair. The formula says more than the zero
# crossings of tutorial 1's figure: for $T \ne \tilde T$ the factor $1/T - 1/\tilde T$ is not zero, so the
# expected error vanishes **if and only if $\psi = \theta/2$**. It is the unique shift in $[0, \theta]$ with
# zero expected error, and a single pair $T \ne \tilde T$ already pins it down. (Outside $[0, \theta]$ the
# closed form does not apply; an exact scan of shifts from $-2\theta$ to $3\theta$ in steps of $\theta/16$
# finds no other shift with zero error for every $T \le 8$ against $\tilde T = 16$. A shift as large as
# $\theta \max(T, \tilde T)$ would trivially give zero for that one pair, by saturating both staircases
# at $\theta$, and fails for larger $T$.)

# %%
for L in (1, 2, 3, 4, 8, 16):
    for k in range(0, 9):  # s = 0, 1/8, …, 1
        shift = Fraction(k, 8)
        assert refsnn.expected_qcfs(L, shift) == Fraction(1, 2) + (shift - Fraction(1, 2)) / L
        for T_tilde in (1, 2, 4, 8, 16):
            error = refsnn.expected_conversion_error(L, T_tilde, shift)
            assert error == (shift - Fraction(1, 2)) * (Fraction(1, L) - Fraction(1, T_tilde))
            assert (error == 0) == (shift == Fraction(1, 2) or L == T_tilde)  # ψ = θ/2 is the only zero
zeros = [Fraction(k, 16) for k in range(-32, 49)
         if all(refsnn.expected_conversion_error(T, 16, Fraction(k, 16)) == 0 for T in range(1, 9))]
print("shifts s in [-2, 3] (steps of 1/16) with zero expected error for every T <= 8 against T~ = 16:", zeros)
assert zeros == [Fraction(1, 2)]

# %% [markdown]
# And by sampling, through the parallel neuron itself with uneven input whose time-mean
# is $z$. Sampling error is about $0.1\theta/\sqrt{n}$, so we allow five times that:

# %%
n = 200_000
z = rng.uniform(0, theta, n)
T, T_tilde = 4, 8
currents = z * rng.dirichlet(np.ones(T), size=n).T * T  # uneven, time-mean exactly z (up to rounding)
r_snn = theta / T * refsnn.parallel_neuron(currents, theta).sum(axis=0)
err = np.mean(r_snn - refsnn.qcfs(z, theta, T_tilde))
print(f"sampled E[r_SNN(T=4) - Q_8(z)] = {err:+.5f} θ")
assert abs(err) < 5 * 0.1 / np.sqrt(n)

# %% [markdown]
# **Explorer (optional).** In a live notebook (`pip install "refsnn[notebooks]"`), sliders
# for $T$, $\tilde T$ and $\psi$ redraw the staircase: at $T = \tilde T$ the parallel line
# stays on QCFS for every $\psi$; at $T \neq \tilde T$ the title gives the expected error,
# zero only at $\psi = \theta/2$. A plain `python` run, and this page, skip it.

# %%
from refsnn.plotting.explorers import live, staircase_explorer

live(staircase_explorer)  # the widget in a notebook; None in a plain run

# %% [markdown]
# ## 3.4 Where the assumption fails
#
# **A skewed input distribution.** Activations in real networks are not uniform: many
# are small. With a half-normal $z \sim \lvert \mathcal{N}(0, (0.3\theta)^2) \rvert$ the expected error is not zero. We
# compute it by quadrature on a fine grid (deterministic, no sampling noise):

# %%
grid = np.linspace(0, 3 * theta, 300_001)
mid = (grid[1:] + grid[:-1]) / 2
weight = stats.halfnorm.pdf(mid, scale=0.3 * theta) * np.diff(grid)  # P(z in cell)


def expected_error(T, T_tilde, weight=weight, z=mid):
    """E[Q_T(z) - Q_T~(z)]/θ for z distributed with the given cell weights."""
    return np.sum(weight * (refsnn.qcfs(z, theta, T) - refsnn.qcfs(z, theta, T_tilde))) / theta


uniform = (mid < theta) * np.diff(grid) / theta
for T in (1, 2, 4, 8, 16):
    print(f"T = {T:2d}, T~ = 8: half-normal {expected_error(T, 8):+.4f} θ, "
          f"uniform {expected_error(T, 8, uniform):+.4f} θ")
assert abs(expected_error(4, 8) - (-0.0053)) < 5e-4
assert abs(expected_error(2, 8) - (-0.0290)) < 5e-4
assert abs(expected_error(4, 8, uniform)) < 1e-6 and expected_error(8, 8) == 0
below = [expected_error(T, 8) for T in range(1, 8)]
assert all(e < 0 for e in below) and (np.diff(below) > 0).all()  # negative for T < T~, largest at small T

Ts = np.arange(1, 17)
fig, ax = plt.subplots(figsize=(5.6, 3.8), layout="constrained")
ax.axhline(0, color=rp.COLORS["guide"], lw=1)
ax.plot(Ts, [expected_error(T, 8, uniform) for T in Ts], "o-", color=rp.COLORS["parallel"],
        label="z ~ U[0, θ] (the theorem's assumption)")
ax.plot(Ts, [expected_error(T, 8) for T in Ts], "s-", color=rp.COLORS["if"],
        label="z ~ |N(0, (0.3θ)²)| (skewed)")
ax.set_xlabel("SNN time steps T")
ax.set_ylabel(r"expected error $\mathbb{E}[Q_T(z) - Q_8(z)]\,/\,\theta$")
ax.set_title("T̃ = 8, ψ = θ/2: zero on average only for uniform z", fontsize=10)
ax.legend(fontsize=8)
show_figure(fig, FIGURES / "03_skewed_error.png")

# %% [markdown]
# ![Expected error against T, uniform and half-normal z](../figures/tutorials/03_skewed_error.png)
#
# The error is negative for $T < \tilde T$ and largest at small $T$: most mass sits near zero, where
# the coarse staircase $Q_T$ rounds more of it down to 0 than $Q_8$ does. A per-layer bias of
# $-0.03\theta$ at $T = 2$ compounds through a deep network. This is what the paper's DA-QCFS
# calibration (tutorial 5) corrects, and what a follow-up critique of parallel conversion
# at $T \le 4$ (an ICLR 2026 submission, [OpenReview
# PBz9CMIOtn](https://openreview.net/forum?id=PBz9CMIOtn)) points at.
#
# **A shift other than $\theta/2$.** Even for uniform $z$, $\psi \ne \theta/2$ breaks case 2 (case 1 holds for
# any $\psi$):

# %%
for shift in (Fraction(0), Fraction(1, 4), Fraction(1, 2)):
    print(f"ψ/θ = {shift}: E[Q_4 - Q_8]/θ = {refsnn.expected_conversion_error(4, 8, shift)}")
assert refsnn.expected_conversion_error(4, 8, Fraction(1, 4)) != 0
currents = rng.normal(0.5, 1.0, size=(4, 10_000))
count = refsnn.parallel_neuron(currents, theta, psi=0.25).sum(axis=0)
assert (count == refsnn.qcfs_level(currents.mean(axis=0), theta, 4, psi=0.25)).all()  # case 1 still holds

# %% [markdown]
# ## Exercises
#
# Worked solutions: [solutions/03_theorem_4_1.md](solutions/03_theorem_4_1.md).
#
# 1. Repeat §3.4 with $z \sim U[0, 1.5\theta]$, so that a third of the mass is clipped. Is the
#    expected error still zero? Which part of the staircase is responsible? (Hint: what
#    is $Q_L(z)$ for $z \ge \theta$, at any level $L$?) Answer check: is the expected error still
#    zero, yes or no: `refsnn.homework.check("3.1", answer)`.
#    ([solution](solutions/03_theorem_4_1.md#exercise-1))
# 2. For the half-normal case, find the shift $\psi$ of the SNN (the teacher $Q_8$ keeps
#    $\psi = \theta/2$) that makes the expected error zero at $T = 4$. Is it the same for $T = 2$?
#    (Hint: the level is $\sum_k [T z + \psi \ge k\theta]$, so $\mathbb{E}[Q_T]$ is a sum of $T$ survival functions
#    of $z$, increasing in $\psi$; `scipy.optimize.brentq` finds the zero.) Answer check:
#    $\psi/\theta$ at $T = 4$, to 3 decimals: `refsnn.homework.check("3.2", psi)`.
#    ([solution](solutions/03_theorem_4_1.md#exercise-2))
# 3. Make §3.2 fail: replace the last hidden layer's parallel neurons by IF neurons
#    (`refsnn.neurons.integrate_fire`). On how many of the 500 inputs does the prediction
#    change? Does it help to emit the upstream spikes in the authors' code order?
#    Answer check: the number of changed predictions with the paper's order upstream, a
#    whole number: `refsnn.homework.check("3.3", changed)`.
#    ([solution](solutions/03_theorem_4_1.md#exercise-3))
