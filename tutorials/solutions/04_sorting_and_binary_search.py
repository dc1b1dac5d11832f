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
# # Solutions to tutorial 4: sorting and binary search
#
# Worked solutions to the exercises of [tutorial 4](../04_sorting_and_binary_search.md).
# Every answer that is a number or a yes/no is an `assert`. It runs in about a second.

# %%
import numpy as np

import refsnn
from refsnn.neurons.variants import leaky_parallel_neuron, leaky_posterior_matrix

refsnn.use_threads()  # one thread unless REFSNN_THREADS says more (the BLAS always) (README, "Threads")

rng = np.random.default_rng(0)
theta = 1.0


def is_sorted(spikes):
    """True for every neuron whose train is 0…0 1…1."""
    return (np.diff(spikes.astype(int), axis=0) >= 0).all(axis=0)


# %% [markdown]
# ## Exercise 1
#
# *For the leaky neuron with $\psi = \theta/2$, find the smallest $T$ for which some constant input
# gives an unsorted train, and for that $T$ the set of $\lambda$ that do. Is there a largest such $\lambda$?*
#
# **Derivation.** With constant input $z$, $\Sigma = T z$ and (from the `refsnn.neurons.variants`
# docstring) $H_x = (g_x/x) \Sigma/(T - x + 1) + \psi/(T - x + 1)$, with $g_1 = 1$, $g_2 = 1 + \lambda$,
# $g_3 = 1 + \lambda + \lambda^2$. A train is unsorted when some step fires and a later one does not.
# Take $\theta = 1$, $\psi = 1/2$.
#
# * **$T = 2$.** Step 1 fires iff $(\Sigma + 1/2)/2 \ge 1$, i.e. $\Sigma \ge 3/2$. Step 2 is silent iff
#   $(1 + \lambda)\Sigma/2 + 1/2 < 1$, i.e. $\Sigma < 1/(1 + \lambda) \le 1$. Both cannot hold: $T = 2$ is always sorted.
# * **$T = 3$, steps 1 and 2.** Step 1 fires iff $\Sigma \ge 5/2$; step 2 is silent iff
#   $((1 + \lambda)/2) \Sigma/2 + 1/4 < 1$, i.e. $\Sigma < 3/(1 + \lambda)$. Both hold for some $\Sigma$ iff
#   $5/2 < 3/(1 + \lambda)$, i.e. **$\lambda < 1/5$**.
# * **$T = 3$, steps 2 and 3** would need $3/(1 + \lambda) \le \Sigma < (3/2)/(1 + \lambda + \lambda^2)$, i.e.
#   $1 + \lambda + 2\lambda^2 < 0$: never. **Steps 1 and 3** would need $5/2 \le \Sigma < (3/2)/(1 + \lambda + \lambda^2) \le 3/2$:
#   never.
#
# **Answer: $T = 3$, and exactly the $\lambda$ with $0 < \lambda < 1/5$.** The set is open: at $\lambda = 1/5$ the
# window $5/2 \le \Sigma < 3/(1 + \lambda) = 5/2$ is empty, so **there is no largest $\lambda$**; 1/5 is a bound
# that is not attained. (For larger $T$, steps 1 and 2 alone give an unsorted train for
# $\lambda < (2T - 5)/(2T - 1)$, by the same algebra: 3/7 at $T = 4$, 9/13 at $T = 7$, so tutorial 4's
# $\lambda = 0.5$ at $T = 7$ is inside.)
#
# A numerical check on a fine grid of constant inputs (shifted off the exact ties):

# %%
def unsorted_somewhere(T, leak):
    """Does some constant input, Σ on a grid from −2 to 2T + 2, give an unsorted train?"""
    sums = np.arange(-2.0, 2 * T + 2, 1e-4) + 3e-5
    constant = np.broadcast_to(sums / T, (T, sums.size))
    return bool((~is_sorted(leaky_parallel_neuron(constant, theta, leak))).any())


leaks = (0.05, 0.1, 0.19, 0.199, 0.2, 0.201, 0.3, 0.5, 0.9, 0.99)
unsorted_leaks = {}
for T in (2, 3):  # T = 1 has one step: always sorted
    unsorted_leaks[T] = found = [leak for leak in leaks if unsorted_somewhere(T, leak)]
    print(f"T = {T}: unsorted trains for λ in {found}")
    assert found == ([] if T == 2 else [0.05, 0.1, 0.19, 0.199])
assert refsnn.homework.check("4.1", min(T for T, found in unsorted_leaks.items() if found))  # 3
assert unsorted_somewhere(4, 0.42) and unsorted_somewhere(7, 0.69)  # below 3/7 and 9/13

# %% [markdown]
# ## Exercise 2
#
# *Modify the bisection of §4.3 so that it detects the failure on the §4.3 input by
# probing one extra step. Which step, and why that one for the leaky neuron? Can any
# method that probes $O(\log T)$ steps detect a non-monotone predicate in general?*
#
# **Answer.** Probe **step 1** as well: if bisection returns $t_\text{fir} > 1$ but step 1 fires,
# the predicate is not monotone. Step 1 is the natural witness for the leaky neuron:
# $H_1 = (\Sigma + \psi)/T$ does not depend on $\lambda$ ($g_1 = 1$), while every later step is damped by
# $g_x/x < 1$, so a leaky train goes wrong by firing *early* and then falling silent.
# (A second cheap check, that step $t_\text{fir}$ fires and step $t_\text{fir} - 1$ does not, holds by
# construction of the bisection and detects nothing.)
#
# **In general: no.** A method that probes $k < T$ steps leaves some step unprobed, and an
# adversary can flip the predicate there without changing any probe's answer: the
# method's output is the same for a monotone and a non-monotone predicate. Below, the
# checked bisection ($\lceil \log_2(T + 1) \rceil + 1$ probes) is fooled at $T = 16$ by a predicate that
# fires at one unprobed step.

# %%
def checked_bisection(fires, T):
    """t_fir by bisection on fires(x) (1-based), plus one probe of step 1; returns
    (t_fir, monotone_looking, probed steps)."""
    lo, hi, probed = 1, T + 1, []
    while lo < hi:
        mid = (lo + hi) // 2
        probed.append(mid)
        lo, hi = (lo, mid) if fires(mid) else (mid + 1, hi)
    probed.append(1)
    consistent = not (lo > 1 and fires(1))
    return lo, consistent, probed


T = 7
H = (leaky_posterior_matrix(T, 0.5) @ refsnn.prior_control_matrix(T) @ np.ones(T)
     + refsnn.step_offsets(T, theta / 2))  # §4.3's potentials
first, consistent, _ = checked_bisection(lambda x: H[x - 1] >= theta, T)
print(f"§4.3 input: bisection says t_fir = {first}; step 1 fires: {H[0] >= theta}; consistent: {consistent}")
assert first == 5 and not consistent  # detected

T = 16
monotone = lambda x: x >= 11  # a sorted train, t_fir = 11
first, consistent, probed = checked_bisection(monotone, T)
hidden = next(x for x in range(2, first) if x not in probed)  # an unprobed step before t_fir
non_monotone = lambda x: monotone(x) or x == hidden
first2, consistent2, probed2 = checked_bisection(non_monotone, T)
print(f"T = 16: probes {probed}; firing also at unprobed step {hidden}: "
      f"t_fir = {first2}, consistent: {consistent2}")
assert (first2, consistent2, probed2) == (first, True, probed)  # fooled
assert refsnn.homework.check("4.2", "no")  # no method that leaves a step unprobed can

# %% [markdown]
# ## Exercise 3
#
# *In the authors' code order (spikes front-loaded), write the bisection that finds the
# last spike step. Check it against `refsnn.parallel_neuron(..., order="code")`.*
#
# **Answer.** In code order step $x$ fires iff $(\Sigma + \psi)/x \ge \theta$: true for $x = 1, \dots, N$ and
# false after, so the predicate is monotone *decreasing*. Bisect for the last $x$ where it
# holds; it is $N$ itself (0 if the neuron is silent).

# %%
def last_spike_step(total, theta, T, psi):
    """Largest x in 1..T with (Σ + ψ)/x ≥ θ (0 if none), by bisection, per neuron."""
    out = np.empty(total.shape, dtype=np.int64)
    for n, s in enumerate(total + psi):
        lo, hi = 0, T  # invariant: steps 1..lo fire, steps hi+1..T do not
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if s / mid >= theta else (lo, mid - 1)
        out[n] = lo
    return out


for T in (1, 2, 5, 16, 64):
    currents = np.round(rng.normal(0.4, 1.0, size=(T, 3000)) * 4) / 4  # quarter grid: exact sums
    code = refsnn.parallel_neuron(currents, theta, order="code")
    last = last_spike_step(currents.sum(axis=0), theta, T, theta / 2)
    fired = code.any(axis=0)
    assert (last == code.sum(axis=0)).all()
    assert (code[last[fired] - 1, np.flatnonzero(fired)]).all()  # step `last` fires
    assert not code[np.minimum(last, T - 1)[last < T], np.flatnonzero(last < T)].any()  # step last+1 does not
print("last_spike_step == count == the last firing step of parallel_neuron(order='code'), T = 1 … 64")
