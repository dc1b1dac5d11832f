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
# # 2. The parallel conversion matrix, by hand
#
# Hao et al., ICML 2025 ([arXiv 2412.13610](https://arxiv.org/abs/2412.13610)): the prior
# control, posterior conversion and parallel conversion matrices, and the step-wise offsets.
#
# Boxes that start with **Paper** restate what the paper says; boxes that start with **Code**
# describe the authors' released code, and **refsnn** a choice of this project. The
# [notation page](00_notation.md) fixes the notation and says which statement comes from
# where. Everything else is commentary.
#
# A *parallel* spiking neuron computes the membrane potentials of all $T$ steps at once, as
# one matrix product $H = \Lambda I + b$, and fires $s = [H \ge \theta]$. The paper builds its $\Lambda$ from two
# factors. We build all of them in plain NumPy, check them against `refsnn.neurons.matrices`, and
# fire a neuron with them.

# %%

import numpy as np

import refsnn
from refsnn.programs.figures import show_figure, tutorial_figures_dir
from refsnn import plotting as rp

refsnn.use_threads()  # one thread unless REFSNN_THREADS says more (the BLAS always) (README, "Threads")

FIGURES = tutorial_figures_dir(globals().get("__file__"))  # tutorials/output/
np.set_printoptions(precision=3, suppress=True)

T = 6
theta = 1.0
psi = theta / 2
x = np.arange(1, T + 1)  # steps are 1-based in the paper

# %% [markdown]
# ## 2.1 Prior control: make the input even
#
# > **Paper (prior control matrix).** The prior control matrix is $\Lambda_\text{pre} = \frac1T \mathbb{1}\mathbb{1}^\top$.
#
# $\Lambda_\text{pre} I$ replaces every step's current by the time-mean $\bar I$. Uneven input, the cause of the
# IF neuron's error in tutorial 1, becomes even input.

# %%
L_pre = np.full((T, T), 1 / T)
I = np.array([0.0, 0.0, 0.0, 0.0, 1.0, 2.0])
print("I        =", I)
print("Λ_pre·I  =", L_pre @ I)
assert np.allclose(L_pre, refsnn.prior_control_matrix(T))

# %% [markdown]
# ## 2.2 Posterior conversion: rescale the integrated even current
#
# > **Paper (posterior conversion matrix).** The posterior conversion matrix has row factors
# > $c_x = T / (x (T - x + 1))$.
#
# The paper's factors $c_x$ multiply something in row $x$. refsnn's reconstruction
# ([notation page, "Reconstructed posterior conversion
# matrix"](00_notation.md#reconstructed-posterior-conversion-matrix)) is
# $\Lambda_\text{post} = \mathrm{diag}(c) L_T$, with $L_T$ the lower-triangular ones: $L_T$ integrates without reset,
# so row $x$ of $L_T \Lambda_\text{pre} I$ is $x \bar I$, the charge of $x$ steps of the even current. It is not the
# only choice that reproduces the paper's $\Lambda_\text{pc}$ below (any matrix whose row $x$ sums to $x$
# does, since $\Lambda_\text{pre}$ passes on only row sums), but it is the natural one: it is
# what an IF neuron without reset integrates.

# %%
c = T / (x * (T - x + 1))
L_T = np.tril(np.ones((T, T)))
L_post = c[:, None] * L_T
print("c =", c)
assert np.allclose(L_post, refsnn.posterior_conversion_matrix(T))

# %% [markdown]
# ## 2.3 The parallel conversion matrix and the offsets
#
# > **Paper (parallel conversion matrix).** $\Lambda_\text{pc} = \Lambda_\text{post} \Lambda_\text{pre}$, whose rows read $1/T$,
# > $1/(T-1), \dots, 1$ from top to bottom; the step-wise offsets are $b_x = \psi/(T - x + 1)$.
#
# Multiply and look: row $x$ of $\Lambda_\text{pc}$ is constant, $c_x x/T = 1/(T - x + 1)$.

# %%
L_pc = L_post @ L_pre
b = psi / (T - x + 1)
print(L_pc)
assert np.allclose(L_pc, refsnn.parallel_conversion_matrix(T))
assert np.allclose(L_pc, (1 / (T - x + 1))[:, None] * np.ones((1, T)))
assert np.allclose(b, refsnn.step_offsets(T, psi))
assert np.linalg.matrix_rank(L_pc) == 1

fig, axes = rp.plot_conversion_matrices(T, psi=psi / theta)
show_figure(fig, FIGURES / "02_conversion_matrices.png")

# %% [markdown]
# ![Λ_pre, Λ_post, Λ_pc and b for T = 6](../figures/tutorials/02_conversion_matrices.png)
#
# **Explorer (optional).** In a live notebook (`pip install "refsnn[notebooks]"`), sliders
# for $T$ and $\psi$ redraw the four panels. A plain `python` run, and this page, skip it.

# %%
from refsnn.plotting.explorers import conversion_matrices_explorer, live

live(conversion_matrices_explorer)  # the widget in a notebook; None in a plain run

# %% [markdown]
# ## 2.4 Fire the neuron
#
# With $\Sigma = \sum_t I_t$ the total current, the potential of step $x$ is
# $H_x = (\Lambda_\text{pc} I)_x + b_x = (\Sigma + \psi)/(T - x + 1)$. Step $x$ fires when $H_x \ge \theta$, that is when
# $\lfloor (\Sigma + \psi)/\theta \rfloor \ge T - x + 1$: step $x$ asks "is the count at least $T - x + 1$?". The last
# step asks "at least 1?", the first "at least $T$?". So the count is the QCFS level of the
# mean, and the spikes fill the last steps.

# %%
H = L_pc @ I + b
spikes = H >= theta
print("H      =", H)
print("spikes =", spikes.astype(int))
level = refsnn.qcfs_level([I.mean()], theta, T)[0]
assert spikes.sum() == level == 3
assert (spikes == refsnn.parallel_neuron(I[:, None], theta, method="dense")[:, 0]).all()
print("IF neuron on the same input:", refsnn.if_neuron(I[:, None], theta)[:, 0].astype(int))
assert refsnn.if_neuron(I[:, None], theta).sum() == 2

# %% [markdown]
# The IF neuron receives its charge too late and fires only twice. Now many neurons at
# once, with random currents, checked against all three methods in refsnn:

# %%
rng = np.random.default_rng(0)
currents = rng.normal(0.4, 0.8, size=(T, 5000))  # shape (T, neurons)
by_hand = L_pc @ currents + b[:, None] >= theta
assert (by_hand.sum(axis=0) == refsnn.qcfs_level(currents.mean(axis=0), theta, T)).all()
for method in ("dense", "hadamard", "binary"):
    assert (by_hand == refsnn.parallel_neuron(currents, theta, method=method)).all()
print("hand-built Λ_pc·I + b == refsnn.parallel_neuron (dense, hadamard, binary) on 5000 neurons")

# %% [markdown]
# **Floating point.** The theorem is exact in real arithmetic. The dense product adds
# rounded entries such as 1/3, so at an *exact tie*, $H_x = \theta$, it can land just below $\theta$ and
# miss a spike. Here $\Sigma + \psi = 3\theta$, so $H_4 = 3\theta/3 = \theta$ exactly, and step 4 should fire:

# %%
I_tie = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 2.5])
H_dense = L_pc @ I_tie + b
H_rank1 = (I_tie.sum() + psi) / (T - x + 1)  # one division: exact at the tie
print(f"H_4 dense = {float(H_dense[3])!r}, H_4 rank-1 = {float(H_rank1[3])!r}")
assert (H_dense >= theta).sum() == 2 and (H_rank1 >= theta).sum() == 3 == np.floor(2.5 + 0.5)
assert refsnn.parallel_neuron(I_tie[:, None], theta, method="hadamard").sum() == 3

# %% [markdown]
# ## 2.5 Rank 1: from O(T²) to O(T)
#
# > **Paper (parallel conversion matrix).** $\Lambda_\text{pc}$ has rank 1, so the product becomes a
# > Hadamard product.
#
# $\Lambda_\text{pc} = u \mathbb{1}^\top$ with $u_x = 1/(T - x + 1)$, so $\Lambda_\text{pc} I = u (\mathbb{1}^\top I) = u \Sigma$: sum once ($O(T)$), then
# scale ($O(T)$). The dense product costs $O(T^2)$ per neuron. This is `method="hadamard"`, and
# it is also what the authors' released code does ([notation page, "Where the released
# code differs"](00_notation.md#where-the-released-code-differs)). As a bonus it divides
# once, so it keeps the tie above exact.

# %%
u = 1 / (T - x + 1)
assert np.allclose(L_pc @ currents, u[:, None] * currents.sum(axis=0))

# %% [markdown]
# ## Exercises
#
# Worked solutions: [solutions/02_parallel_conversion_matrix.md](solutions/02_parallel_conversion_matrix.md).
#
# 1. Replace $L_T$ inside $\Lambda_\text{post}$ by the identity matrix. What is $\Lambda_\text{pc}$ now (row $x$)? Does the
#    neuron's count still equal the QCFS level, and are its trains still sorted? Why not?
#    (Hint: what did the factor $x$ of row $x$ of $L_T \Lambda_\text{pre} I$ cancel in $c_x$?) Answer check:
#    does the count still equal the QCFS level for every input, yes or no:
#    `refsnn.homework.check("2.1", answer)`.
#    ([solution](solutions/02_parallel_conversion_matrix.md#exercise-1))
# 2. The authors' code fires step $x$ when $(T/x) \bar I + \psi/x \ge \theta$ ([notation page, "Spike
#    order"](00_notation.md#spike-order)). Write its $\Lambda$ and $b$ as matrices and show that
#    they are the paper's with the rows reversed. Check your answer against
#    `refsnn.parallel_neuron(..., order="code")`.
#    ([solution](solutions/02_parallel_conversion_matrix.md#exercise-2))
# 3. Count the additions and multiplications needed to compute $H = \Lambda I + b$ for one
#    neuron: the dense form as a matrix–vector product plus $b$, the Hadamard form as $\Sigma$
#    once and then $u_x \Sigma + b_x$ for every $x$. Give both for $T = 4, 16, 64$. What is the
#    smallest $T$ at which the dense form is 10× more work? Answer check: that $T$, a whole
#    number: `refsnn.homework.check("2.3", T)`.
#    ([solution](solutions/02_parallel_conversion_matrix.md#exercise-3))
