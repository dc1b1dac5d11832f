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
# # Solutions to tutorial 1: IF neurons and QCFS
#
# Worked solutions to the exercises of [tutorial 1](../01_if_neurons_and_qcfs.md). Every
# answer that is a number or a yes/no is an `assert`: if this file runs, the answers hold.
# It runs in a second or two.

# %%
from fractions import Fraction

import numpy as np

import refsnn

refsnn.use_threads()  # one thread unless REFSNN_THREADS says more (the BLAS always) (README, "Threads")

rng = np.random.default_rng(0)
theta = 1.0

# %% [markdown]
# ## Exercise 1
#
# *Replace the noise in §1.3 by a front-loaded input with the same time-mean: $I_t = 2z$ for
# $t \le T/2$ and 0 after. What fraction of neurons now miss the QCFS level? And with the
# time reverse (all current in the second half)?*
#
# **Answer.** Front-loaded: none, at every $T$. Back-loaded: about half of them at large $T$,
# exactly $1/2 - 1/(2T)$ of them for $z$ uniform ($0.496$ at $T = 128$).

# %%
Ts = [2, 4, 8, 16, 32, 64, 128]
print(f"{'T':>4} {'front-loaded misses':>20} {'back-loaded misses':>19}")
for T in Ts:
    z = rng.uniform(0, 1, size=4000)
    front = np.zeros((T, z.size))
    front[: T // 2] = 2 * z
    back = front[::-1]
    level = refsnn.qcfs_level(front.mean(axis=0), theta, T)  # the same for both: same mean
    miss_front = np.mean(refsnn.if_neuron(front, theta).sum(axis=0) != level)
    count_back = refsnn.if_neuron(back, theta).sum(axis=0)
    miss_back = np.mean(count_back != level)
    print(f"{T:4d} {miss_front:20.1%} {miss_back:19.1%}")
    assert miss_front == 0
    assert ((count_back != level) == (level > T // 2)).all()  # exactly the levels above T/2 miss
assert miss_back > 0.45  # T = 128
fraction = 1 / 2 - 1 / (2 * T)  # P(z ≥ θ/2 + θ/(2T)) for z ~ U[0, θ], at T = 128
assert abs(miss_back - fraction) < 0.03  # the sample of 4,000 neurons agrees
assert refsnn.homework.check("1.1", fraction)

# %% [markdown]
# **Why.** Look at the membrane plot of §1.3: a miss happens when charge is still in the
# membrane at the end, at least $\theta$ of it, because an IF neuron emits at most one spike
# ($\theta$) per step. Front-loaded, the neuron receives $2z \le 2\theta$ per step during the first half:
# it fires at most once per step, so it stores at most $(2z - \theta) T/2 \le \theta T/2$ of surplus by
# the middle, and the second half has $T/2$ steps to emit it, one $\theta$ each. Everything that
# arrives gets out. Back-loaded, nothing arrives during the first half, and in the second
# the neuron can fire at most $T/2$ times: exactly the neurons whose level exceeds $T/2$ miss
# ($z \ge \theta/2 + \theta/(2T)$: a quarter at $T = 2$, about half at large $T$). Sorted *early* input is harmless for IF; sorted *late*
# input is the worst case. The paper's parallel neurons emit their spikes late
# (tutorial 4), so an IF layer behind them receives back-loaded input (tutorial 3,
# exercise 3, where signed weights add a second kind of error).
#
# ## Exercise 2
#
# *Prove that for nonnegative currents the IF count never exceeds the QCFS level. Find an
# input with a negative current where it does exceed it.*
#
# **Proof.** With $I_t \ge 0$ the potential never goes negative: $v_0 = \psi \ge 0$, and if
# $v_{t-1} \ge 0$ then $m_t = v_{t-1} + I_t \ge 0$, and a spike subtracts $\theta$ only when $m_t \ge \theta$, so
# $v_t \ge 0$. Summing the update over the $T$ steps, $\theta N = \psi + \sum_t I_t - v_T \le \psi + \Sigma$, so
# $N \le (\Sigma + \psi)/\theta$, and since $N$ is an integer, $N \le \lfloor (\Sigma + \psi)/\theta \rfloor$. Also $N \le T$ (one spike
# per step at most), and $N \ge 0$, so $N \le \mathrm{clip}(\lfloor (\Sigma + \psi)/\theta \rfloor, 0, T)$, the QCFS level of
# the mean at $L = T$. ∎
#
# A check on random nonnegative input, and a counterexample with a negative current:
# $I = (\theta, -\theta)$ at $T = 2$. The first step fires ($m_1 = 1.5\theta$), the second cannot take it back;
# the mean is 0, so the QCFS level is 0 but the count is 1.

# %%
currents = rng.exponential(0.5, size=(16, 20_000))  # nonnegative, uneven
count = refsnn.if_neuron(currents, theta).sum(axis=0)
assert (count <= refsnn.qcfs_level(currents.mean(axis=0), theta, 16)).all()

I = np.array([[1.0], [-1.0]])
count = refsnn.if_neuron(I, theta).sum()
level = refsnn.qcfs_level(I.mean(axis=0), theta, 2)[0]
print(f"I = (θ, −θ): IF count {count}, QCFS level {level}")
assert count == 1 > level == 0

# %% [markdown]
# ## Exercise 3
#
# *Compute $\mathbb{E}[Q_4(z) - Q_8(z)]$ for $z$ uniform on $[0, \theta]$ and $\psi = \theta/4$, first by hand from the
# staircase, then with `refsnn.expected_conversion_error`.*
#
# **By hand.** With $s = \psi/\theta = 1/4$, the level of $u = z/\theta$ is $\mathrm{clip}(\lfloor L u + 1/4 \rfloor, 0, L)$.
# Level 0 covers $u < 3/(4L)$, a length $(1 - s)/L$; levels $1, \dots, L - 1$ a length $1/L$ each;
# level $L$ covers the last $s/L = 1/(4L)$. So
#
# $\mathbb{E}[Q_L]/\theta = \frac1L \big[(1 + 2 + \dots + (L - 1))/L + L s/L\big] = (L - 1)/(2L) + s/L = 1/2 + (s - 1/2)/L$,
#
# the closed form of tutorial 3. For $s = 1/4$: $\mathbb{E}[Q_4]/\theta = 1/2 - 1/16 = 7/16$ and
# $\mathbb{E}[Q_8]/\theta = 1/2 - 1/32 = 15/32$, so **$\mathbb{E}[Q_4 - Q_8] = -\theta/32$**.

# %%
s = Fraction(1, 4)
by_hand = (Fraction(1, 2) + (s - Fraction(1, 2)) / 4) - (Fraction(1, 2) + (s - Fraction(1, 2)) / 8)
print("by hand:", by_hand, "| refsnn:", refsnn.expected_conversion_error(4, 8, shift=s))
assert by_hand == refsnn.expected_conversion_error(4, 8, shift=s) == Fraction(-1, 32)
assert refsnn.homework.check("1.3", by_hand)  # −0.03125
