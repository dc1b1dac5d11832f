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
# # Solutions to tutorial 6: the training-free pipeline
#
# Worked solutions to the exercises of [tutorial 6](../06_training_free_pipeline.md). Every
# answer that is a number or a yes/no is an `assert`. It reuses the demo's cached ReLU CNN
# (`refsnn.programs.demo.trained_networks`) and runs in a few seconds. The numbers come
# from that trained network; the asserts check what the answers claim, with margins.

# %%
import warnings

import numpy as np

import refsnn
from refsnn.networks.activations import DAQCFS, ClipReLU
from refsnn.networks.conversion import activation_outputs, record_thresholds, to_parallel_snn
from refsnn.networks.data import load_digits
from refsnn.networks.containers import Sequential
from refsnn.networks.training import predict
from refsnn.programs.demo import trained_networks

refsnn.use_threads()  # one thread unless REFSNN_THREADS says more (the BLAS always) (README, "Threads")

data = load_digits()
X_train, y_train, X_test, y_test = data
_, relu_net = trained_networks(data)
relu_pred = predict(relu_net, X_test)
relu_act = activation_outputs(relu_net, X_test)
n_test = len(y_test)


def thresholds(X):
    """record_thresholds on X; returns the ClipReLU network and the silenced channels per layer."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        clip_net = record_thresholds(relu_net, X)
    convs = [clip_net[i - 1] for i, layer in enumerate(clip_net) if isinstance(layer, ClipReLU)]
    silenced = [np.flatnonzero(~conv.weight.any(axis=(1, 2, 3)) & (conv.bias == 0)) for conv in convs]
    return clip_net, silenced


def uncalibrated(clip_net, T):
    """Stages 1 and 3 only (§6.3): ClipReLU(θ_c) → DA-QCFS(θ_c, T) with ψ_DA = φ_DA = 0."""
    return Sequential(*[DAQCFS(layer.theta, T) if isinstance(layer, ClipReLU) else layer for layer in clip_net])


def pre_activations(net, X):
    """The input of every ClipReLU of ``net`` on the batch X."""
    zs, x = [], X
    for layer in net:
        if isinstance(layer, ClipReLU):
            zs.append(x)
        x = layer.forward(x)
    return zs


clip_all, silenced_all = thresholds(X_train)

# %% [markdown]
# ## Exercise 1
#
# *Record the thresholds on 100 training images instead of all 1,346. How many channels
# are silenced, and what happens to accuracy at $T = 16$ (without calibration, stages 1 and
# 3)? How often does ClipReLU now cut the test inputs?*
#
# **Answer.** Hardly anything changes on these 8×8 digits. The first 100 images silence
# the same single channel of layer 2 as all 1,346 (a channel that is never positive on
# the whole training set is not positive on a part of it either; the converse could add
# channels, but does not here). The thresholds come out a few percent lower, since a
# maximum over fewer images is smaller, and ClipReLU now cuts some test inputs that all
# images would have let through, but only about 0.1 % of the positive inputs of layer 2
# and fewer in layer 1. The accuracy at $T = 16$ moves by an image or two:
# noise. The digits are so uniform that 100 images already see nearly the extremes; on
# a richer data set the maxima grow with the number of images, and then clipping costs
# more.

# %%
clip_100, silenced_100 = thresholds(X_train[:100])
result = {}
for name, clip_net, silenced in (("all 1,346", clip_all, silenced_all), ("first 100", clip_100, silenced_100)):
    zs = pre_activations(clip_net, X_test)
    cut = [float(np.mean(z > layer.theta.reshape(-1, 1, 1)) / np.mean(z > 0))
           for z, layer in zip(zs, [layer for layer in clip_net if isinstance(layer, ClipReLU)])]
    snn = to_parallel_snn(uncalibrated(clip_net, 16), 16)
    correct = int(np.sum(snn.predict(X_test, mode="collapsed") == y_test))
    result[name] = dict(silenced=[s.tolist() for s in silenced], cut=cut, correct=correct,
                        theta=[layer.theta for layer in clip_net if isinstance(layer, ClipReLU)])
    print(f"thresholds from {name:9}: silenced channels per layer {[s.tolist() for s in silenced]}; "
          f"positive test inputs above θ_c {', '.join(f'{c:.2%}' for c in cut)}; "
          f"T = 16: {correct}/{n_test} correct ({correct / n_test:.2%})")
full, few = result["all 1,346"], result["first 100"]
ratio = [float(np.median(f / a)) for f, a in zip(few["theta"], full["theta"])]
print(f"θ_c(100 images) / θ_c(all), median per layer: {np.round(ratio, 3)}")
assert few["silenced"] == full["silenced"]
assert all((f <= a).all() for f, a in zip(few["theta"], full["theta"])) and all(0.8 < r < 1 for r in ratio)
assert all(f >= a for f, a in zip(few["cut"], full["cut"])) and max(few["cut"]) < 0.005
assert abs(few["correct"] - full["correct"]) <= 3  # one or two images: noise
assert refsnn.homework.check("6.1", sum(len(s) for s in few["silenced"]))  # 1

# %% [markdown]
# ## Exercise 2
#
# *Replace the channel-wise $\theta_c$ by one threshold per layer (the largest $\theta_c$ of the layer),
# and convert without calibration (stages 1 and 3, the `uncalibrated` network of §6.3).
# What is the smallest $T$ in $\lbrace 4, 8, \dots, 256 \rbrace$ at which the SNN makes the ReLU ANN's
# prediction on at least 99 % of the test images, with channel-wise and with layer-wise
# $\theta$? One image is 0.22 percentage points, so also compare the rate error: how much larger
# is it with one threshold per layer?*
#
# **Answer.** 99 % agreement from $T = 8$ with channel-wise $\theta_c$, from $T = 16$ with one
# threshold per layer: one doubling of $T$ later, but that rests on two or three images.
# The rate error is the clearer measure: with one threshold per layer it is about 1.4–1.6
# times larger at every $T$, because the quiet channels get a quantization step $\theta/T$ several
# times coarser than they need. Since the error halves with each doubling of $T$ (§6.3),
# a factor 1.5 costs about 0.6 of a doubling: layer-wise needs roughly 1.5× the time
# steps for the same rate error.

# %%
layer_wise = Sequential(*[ClipReLU(np.full(layer.theta.shape, layer.theta.max())) if isinstance(layer, ClipReLU)
                          else layer for layer in clip_all])
first, rate_error = {}, {}
for name, clip_net in (("channel-wise", clip_all), ("layer-wise", layer_wise)):
    agreement = {}
    for T in (4, 8, 16, 32, 64, 128, 256):
        pred, rates = to_parallel_snn(uncalibrated(clip_net, T), T).predict_and_rates(X_test, mode="collapsed")
        agreement[T] = float(np.mean(pred == relu_pred))
        rate_error[name, T] = np.array([np.mean(np.abs(r - a)) for r, a in zip(rates, relu_act)])
    first[name] = min(T for T, a in agreement.items() if a >= 0.99)
    print(f"{name:12}: agreement with the ReLU ANN "
          f"{', '.join(f'T={T}: {a:.1%}' for T, a in agreement.items())}; ≥ 99 % from T = {first[name]}")
ratio = np.array([rate_error["layer-wise", T] / rate_error["channel-wise", T] for T in (4, 8, 16, 32, 64, 128, 256)])
print("rate error, layer-wise / channel-wise, per T (rows) and layer (columns):\n", np.round(ratio, 2))
assert first["layer-wise"] >= first["channel-wise"]
assert (ratio > 1.3).all() and (ratio < 1.8).all()
assert refsnn.homework.check("6.2", [first["channel-wise"], first["layer-wise"]])  # 8, 16

# %% [markdown]
# ## Exercise 3
#
# *Use the 99.9th percentile of the ReLU inputs instead of the maximum as $\theta_c$. Compare
# the rate error (mean $\lvert r - a \rvert$ of SNN rate $r$ and ReLU activation $a$, without calibration) at $T = 4$, 64
# and 1024, and explain why the answer differs between small and large $T$.*
#
# **Answer.** The rate error has two parts. The quantization error, a fraction of the
# step $\theta_c/T$, shrinks like $1/T$. The clipping error of the inputs above $\theta_c$ does not
# depend on $T$ at all. The percentile lowers $\theta_c$ (by about a tenth here): it shrinks the first part
# and creates the second. **At $T = 4$ and $T = 64$** quantization dominates and the
# percentile wins, by 7–15 % in both layers. **At $T = 1024$** the quantization error is
# tiny, the clipping error of the top 0.1 % is what is left, and the maximum wins in both
# layers. A percentile is a small-$T$ trick; at
# large $T$, clip as little as possible.

# %%
layers = list(clip_all)  # the same layers, with new ClipReLUs
zs_train = pre_activations(clip_all, X_train)
k = 0
for i, layer in enumerate(layers):
    if isinstance(layer, ClipReLU):
        z = np.moveaxis(zs_train[k], 1, 0).reshape(layer.theta.size, -1)
        theta = np.percentile(z, 99.9, axis=1)
        theta[theta <= 0] = 1.0  # silenced channels keep their placeholder
        layers[i] = ClipReLU(theta)
        k += 1
clip_pct = Sequential(*layers)

lower = [float(np.median(p.theta / m.theta)) for p, m in zip(
    [layer for layer in clip_pct if isinstance(layer, ClipReLU)], [layer for layer in clip_all if isinstance(layer, ClipReLU)])]
print(f"θ_c(99.9th percentile) / θ_c(maximum), median per layer: {np.round(lower, 3)}")
assert all(0.75 < r < 0.97 for r in lower)
error = {}
for name, clip_net in (("maximum", clip_all), ("99.9th percentile", clip_pct)):
    for T in (4, 64, 1024):
        _, rates = to_parallel_snn(uncalibrated(clip_net, T), T).predict_and_rates(X_test, mode="collapsed")
        error[name, T] = [float(np.mean(np.abs(r - a))) for r, a in zip(rates, relu_act)]
for T in (4, 64, 1024):
    print(f"T = {T:4d}: rate error per layer, θ_c = maximum {np.round(error['maximum', T], 4)}, "
          f"99.9th percentile {np.round(error['99.9th percentile', T], 4)}")
for T in (4, 64):  # small T: the percentile wins in both layers
    assert all(p < m for p, m in zip(error["99.9th percentile", T], error["maximum", T]))
assert all(p > m for p, m in zip(error["99.9th percentile", 1024], error["maximum", 1024]))  # large T: the maximum
maximum_wins = min(T for T in (4, 64, 1024) if all(
    m < p for p, m in zip(error["99.9th percentile", T], error["maximum", T])))
assert refsnn.homework.check("6.3", maximum_wins)  # 1024
