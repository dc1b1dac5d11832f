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
# # Solutions to tutorial 2: the parallel conversion matrix
#
# Worked solutions to the exercises of [tutorial 2](../02_parallel_conversion_matrix.md).
# Every answer that is a number or a yes/no is an `assert`. It runs in about a second.

# %%
import numpy as np

import refsnn

refsnn.use_threads()  # one thread unless REFSNN_THREADS says more (the BLAS always) (README, "Threads")

np.set_printoptions(precision=3, suppress=True)
rng = np.random.default_rng(0)
T, theta = 6, 1.0
psi = theta / 2
x = np.arange(1, T + 1)
c = T / (x * (T - x + 1))
L_pre = refsnn.prior_control_matrix(T)
b = refsnn.step_offsets(T, psi)


def is_sorted(spikes):
    return (np.diff(spikes.astype(int), axis=0) >= 0).all(axis=0)


# %% [markdown]
# ## Exercise 1
#
# *Replace $L_T$ inside $\Lambda_\text{post}$ by the identity. What is $\Lambda_\text{pc}$ now (row $x$)? Does the neuron's
# count still equal the QCFS level, and are its trains still sorted? Why not?*
#
# **Answer.** $\Lambda_\text{post} = \mathrm{diag}(c)$, so $\Lambda_\text{pc} = \mathrm{diag}(c) \Lambda_\text{pre}$ has row $x$ equal to $(c_x/T) \mathbb{1}^\top =$
# $\mathbb{1}^\top/(x(T - x + 1))$, and $H_x = c_x \bar I + b_x$: the mean current scaled by $c_x$, not the
# integrated charge $x \bar I$ scaled by $c_x$. The paper's $c_x = T/(x(T - x + 1))$ was chosen to
# undo the factor $x$ that $L_T$ puts in: $c_x x/T = 1/(T - x + 1)$. Without $L_T$ nothing
# cancels the $1/x$. $c_x$ is symmetric ($c_x = c_{T-x+1}$), largest at both ends and smallest
# in the middle, so $H$ is not monotone in $x$: **the count is not the QCFS level, and the
# trains are not always sorted** (most still are: below, the unsorted ones are a few
# percent, but one is enough to break binary search).

# %%
L_pc_identity = np.diag(c) @ L_pre
assert np.allclose(L_pc_identity, (1 / (x * (T - x + 1)))[:, None] * np.ones((1, T)))
assert np.allclose(c, c[::-1])  # symmetric: c_x = c_{T−x+1}
print("row factors 1/(x(T−x+1)):", 1 / (x * (T - x + 1)))

currents = rng.normal(0.4, 0.8, size=(T, 5000))
spikes = L_pc_identity @ currents + b[:, None] >= theta
level = refsnn.qcfs_level(currents.mean(axis=0), theta, T)
wrong_count, unsorted = np.mean(spikes.sum(axis=0) != level), np.mean(~is_sorted(spikes))
print(f"count != QCFS level for {wrong_count:.0%} of neurons; unsorted trains: {unsorted:.0%}")
assert wrong_count > 0.5 and 0.02 < unsorted < 0.1  # not always sorted, but mostly
assert refsnn.homework.check("2.1", bool((spikes.sum(axis=0) == level).all()))  # no

# %% [markdown]
# ## Exercise 2
#
# *The authors' code fires step $x$ when $(T/x) \bar I + \psi/x \ge \theta$. Write its $\Lambda$ and $b$ and show that
# they are the paper's with the rows reversed. Check against `order="code"`.*
#
# **Answer.** $(T/x) \bar I = \Sigma/x$, so row $x$ of $\Lambda_\text{code}$ is $\mathbb{1}^\top/x$ and $b_{\text{code},x} = \psi/x$. The paper's row
# $T - x + 1$ is $\mathbb{1}^\top/(T - (T - x + 1) + 1) = \mathbb{1}^\top/x$ and its offset $\psi/x$: row $x$ of the code's
# matrix is row $T - x + 1$ of the paper's, $\Lambda_\text{code} = J \Lambda_\text{pc}$ and $b_\text{code} = J b$ with $J$ the
# reversal (anti-identity) matrix. So the code's spikes are the paper's, time-reversed.

# %%
L_code = (1 / x)[:, None] * np.ones((1, T))
b_code = psi / x
J = np.eye(T)[::-1]
assert np.allclose(L_code, J @ refsnn.parallel_conversion_matrix(T)) and np.allclose(b_code, J @ b)
spikes_code = L_code @ currents + b_code[:, None] >= theta
assert (spikes_code == refsnn.parallel_neuron(currents, theta, order="code")).all()
assert (spikes_code == refsnn.parallel_neuron(currents, theta)[::-1]).all()
print("Λ_code = J·Λ_pc, b_code = J·b, and the spikes match parallel_neuron(order='code')")

# %% [markdown]
# ## Exercise 3
#
# *Count the additions and multiplications needed to compute $H = \Lambda I + b$ for one neuron:
# the dense form as a matrix–vector product plus $b$, the Hadamard form as $\Sigma$ once, then
# $u_x \Sigma + b_x$ for every $x$. For $T = 4, 16, 64$, and the smallest $T$ at which the dense form
# is 10× more work.*
#
# **Answer.** Dense: $T^2$ multiplications and $T(T - 1)$ additions for $\Lambda I$, then $T$ additions
# for $b$: **$2T^2$**. Hadamard: $T - 1$ additions for $\Sigma$, then $T$ multiplications and $T$ additions:
# **$3T - 1$**. The ratio $2T^2/(3T - 1)$ reaches 10 when $T^2 - 15T + 5 \ge 0$, i.e.
# $T \ge (15 + \sqrt{205})/2 \approx 14.66$: **$T = 15$** (ratio $450/44 \approx 10.2$; at $T = 14$, $392/41 \approx 9.6$).
# The comparisons $H_x \ge \theta$ ($T$ of them) are the same in both and not counted.

# %%
def dense_ops(T):
    return T * T + T * (T - 1) + T


def hadamard_ops(T):
    return (T - 1) + T + T


for T_ in (4, 16, 64):
    print(f"T = {T_:2d}: dense {dense_ops(T_):5d}, hadamard {hadamard_ops(T_):3d}, "
          f"ratio {dense_ops(T_) / hadamard_ops(T_):5.1f}")
first_10x = next(T_ for T_ in range(1, 100) if dense_ops(T_) >= 10 * hadamard_ops(T_))
print("dense is 10x more work from T =", first_10x)
assert (dense_ops(4), dense_ops(16), dense_ops(64)) == (32, 512, 8192)
assert (hadamard_ops(4), hadamard_ops(16), hadamard_ops(64)) == (11, 47, 191)
assert first_10x == 15
assert refsnn.homework.check("2.3", first_10x)
