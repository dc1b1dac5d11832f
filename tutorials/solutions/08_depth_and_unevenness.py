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
# # Solutions to tutorial 8: depth and the unevenness error
#
# Worked solutions to the exercises of [tutorial 8](../08_depth_and_unevenness.md). Every
# answer that is a number or a yes/no is an `assert`. It runs in a few seconds (one small
# network is trained, then cached).

# %%
import json

import numpy as np

import refsnn
from refsnn.networks.activations import QCFS
from refsnn.networks.conversion import activation_outputs, to_if_snn, to_parallel_snn
from refsnn.networks.data import load_digits
from refsnn.networks.models import deep_mlp
from refsnn.networks.training import fit, predict
from refsnn.programs.figures import repository_root

refsnn.use_threads()  # one thread unless REFSNN_THREADS says more (the BLAS always) (README, "Threads")

REPO = repository_root(globals().get("__file__"))  # the repository, from any working directory
theta, T = 1.0, 4

# %% [markdown]
# ## Exercise 1
#
# *Make the chain of §8.1 12 layers deep and the mixing weights twice as strong. Does the
# IF miss rate per layer go up or down? Why does the parallel chain not care?*
#
# **Answer: up, from about 4–7% to about 8–11% of the neurons per layer.** Stronger
# weights make each layer's input current swing more from one step to the next (a spike
# of the previous layer moves it by a larger amount), and the IF neuron misses exactly
# when the charge arrives unevenly. The parallel neuron reads only the time sum $\sum_t I_t$,
# so how the charge is spread over the steps does not matter to it: its miss rate stays 0.

# %%
def chain(neuron, gain, depth=12, n=2000, seed=1):
    gen = np.random.default_rng(seed)
    x = np.broadcast_to(gen.uniform(0, 1, n), (T, n))
    misses = []
    for _ in range(depth):
        spikes = neuron(x)
        misses.append(float(np.mean(spikes.sum(axis=0) != refsnn.qcfs_level(x.mean(axis=0), theta, T))))
        weights = gen.choice([-1.0, 1.0], size=(n, n)) * (gain / np.sqrt(n))
        x = (theta * spikes) @ weights.T + 0.25
    return np.array(misses)


weak = chain(lambda x: refsnn.if_neuron(x, theta), 0.75)
strong = chain(lambda x: refsnn.if_neuron(x, theta), 1.5)
print("IF misses per layer, gain 0.75:", np.round(weak, 3))
print("IF misses per layer, gain 1.5: ", np.round(strong, 3))
assert strong[1:].mean() > 1.5 * weak[1:].mean()
assert not chain(lambda x: refsnn.parallel_neuron(x, theta), 1.5).any()
assert refsnn.homework.check("8.1", "up" if strong[1:].mean() > weak[1:].mean() else "down")

# %% [markdown]
# ## Exercise 2
#
# *For each depth, the smallest $T$ at which the IF SNN's mean accuracy reaches the
# parallel SNN's at $T = \tilde T$.*
#
# **Answer: $T = 4$ at depths 2 and 4, $T = 8$ at depth 8 and $T = 16$ at depth 12** — the IF
# SNN needs more steps the deeper the network, four times $\tilde T$ at 12 layers.

# %%
result = json.loads((REPO / "figures" / "data" / "experiment_depth.json").read_text())
summary = {(s["depth"], s["method"], s["T"]): s["accuracy_mean"] for s in result["summary"]}
needed = {}
for depth in sorted({s["depth"] for s in result["summary"]}):
    target = summary[depth, "parallel", 4]
    steps = sorted(T_ for d, m, T_ in summary if d == depth and m == "if")
    needed[depth] = next((T_ for T_ in steps if summary[depth, "if", T_] >= target), None)
print(needed)
assert needed == {2: 4, 4: 4, 8: 8, 12: 16}
assert refsnn.homework.check("8.2", [needed[depth] for depth in (2, 4, 8, 12)])

# %% [markdown]
# ## Exercise 3
#
# *Train the 12-layer MLP with BatchNorm after every hidden layer and convert it. Is the
# parallel SNN still lossless at $T = \tilde T$?*
#
# **Answer: yes.** `fit` leaves every BatchNorm in evaluation mode, where it is the affine
# map $a x + c$ per channel; between two neuron layers it commutes with the sum over time
# like a linear layer (the collapsed mode adds its offset $c$ $T$ times), so the parallel SNN
# at $T = \tilde T$ predicts what the ANN predicts and every layer's rate equals the ANN's
# activation. The IF SNN at the same $T$ is printed for comparison: with BatchNorm it still
# falls behind, by an amount that depends on the seed.

# %%
X_train, y_train, X_test, y_test = load_digits(seed=0)
net = deep_mlp(12, 32, lambda: QCFS(2.0, T), seed=0, batchnorm=True)
fit(net, X_train, y_train, epochs=20, batch_size=32, lr=1e-3, rng=np.random.default_rng(0))
ann = predict(net, X_test)
snn = to_parallel_snn(net, T)
pred, rates = snn.predict_and_rates(X_test, mode="collapsed")
assert (pred == ann).all()
assert refsnn.homework.check("8.3", bool((pred == ann).all()))  # yes
assert all(np.array_equal(r, a) for r, a in zip(rates, activation_outputs(net, X_test)))
if_accuracy = float(np.mean(to_if_snn(net, T).predict(X_test) == y_test))
print(f"ANN {np.mean(ann == y_test):.4f}, parallel SNN at T = {T} {np.mean(pred == y_test):.4f}, "
      f"IF SNN at T = {T} {if_accuracy:.4f}")
plain = deep_mlp(12, 32, lambda: QCFS(2.0, T), seed=0)  # the same MLP without BatchNorm, the same 20 epochs
fit(plain, X_train, y_train, epochs=20, batch_size=32, lr=1e-3, rng=np.random.default_rng(0))
plain_accuracy = float(np.mean(predict(plain, X_test) == y_test))
print(f"without BatchNorm, 20 epochs: ANN {plain_accuracy:.4f}")
assert np.mean(ann == y_test) < 0.9 and plain_accuracy < 0.9  # both short of tutorial 8's 60-epoch MLPs

# %% [markdown]
# Both ANNs are well below the 95 % of tutorial 8's 12-layer MLP. That is the training,
# not BatchNorm: this solution trains for 20 epochs to stay quick, where the depth
# experiment trains for 60, and after 20 epochs the MLP without BatchNorm is short too
# (printed above; with BatchNorm and 60 epochs it reaches about 92 %). The answer does not
# depend on it: the parallel SNN is lossless against whatever ANN it converts.
