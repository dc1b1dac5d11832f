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
# # 6. The training-free pipeline, end to end
#
# Hao et al., ICML 2025 ([arXiv 2412.13610](https://arxiv.org/abs/2412.13610)): the
# three-stage pipeline of training-free conversion.
#
# Boxes that start with **Paper** restate what the paper says; boxes that start with **Code**
# describe the authors' released code, and **refsnn** a choice of this project. The
# [notation page](00_notation.md) fixes the notation and says which statement comes from
# where. Everything else is commentary. Every claim below is an `assert`.
#
# > **Paper (the three-stage pipeline).** An ordinary ReLU ANN becomes an SNN without any
# > training, in three stages:
# > 1. **ReLU → ClipReLU.** Record $\theta_c$, the channel-wise maximum of each ReLU's input over
# >    data, and clip there: $\min(\max(z, 0), \theta_c)$.
# > 2. **ClipReLU → DA-QCFS** at level $T$, calibrated layer by layer with the ClipReLU
# >    network as teacher (tutorial 5).
# > 3. **DA-QCFS → parallel neurons** with channel-wise $\theta$, $\psi_\text{DA}$ merged into the offset and
# >    spike amplitude $\theta + \varphi_\text{DA}$.
#
# The source here is the demo's ReLU CNN on the 8×8 digits (`refsnn.programs.demo`), trained
# once (about 15 s) and then cached; the run time of each tutorial is in the [course
# map](README.md).

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np

import refsnn
from refsnn import plotting as rp
from refsnn.networks.activations import DAQCFS, ClipReLU
from refsnn.networks.conversion import activation_outputs, calibrate, record_thresholds, to_parallel_snn
from refsnn.networks.data import load_digits
from refsnn.programs.demo import trained_networks
from refsnn.programs.figures import show_figure, tutorial_figures_dir
from refsnn.networks.containers import Sequential
from refsnn.networks.training import predict

refsnn.use_threads()  # one thread unless REFSNN_THREADS says more (the BLAS always) (README, "Threads")

FIGURES = tutorial_figures_dir(globals().get("__file__"))  # tutorials/output/

data = load_digits()
X_train, y_train, X_test, y_test = data
_, relu_net = trained_networks(data)
relu_pred = predict(relu_net, X_test)
relu_act = activation_outputs(relu_net, X_test)  # what each neuron layer will replace
print(relu_net)
print(f"ReLU ANN: test accuracy {np.mean(relu_pred == y_test):.2%} ({np.sum(relu_pred == y_test)}/{len(y_test)})")

# %% [markdown]
# ## 6.1 Stage 1: record the thresholds
#
# `record_thresholds` runs the training set through the network once and keeps, for every
# ReLU, the running maximum of its *input* over batch and space, per channel. The ReLU
# becomes $\mathrm{ClipReLU}(\theta_c)$. On the training data nothing changes: no input exceeds $\theta_c$.

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", RuntimeWarning)
    clip_net = record_thresholds(relu_net, X_train)
for w in caught:
    print("warning:", w.message)
for k, theta in enumerate(clip_net.thresholds_):
    print(f"layer {k + 1}: θ_c over {theta.size} channels from {theta.min():.2f} to {theta.max():.2f}")
for a, b in zip(activation_outputs(relu_net, X_train), activation_outputs(clip_net, X_train)):
    np.testing.assert_array_equal(a, b)  # the clip never acts on the data it was recorded on

# %% [markdown]
# **The $\theta \le 0$ guard** (refsnn's; [notation page, "Non-positive
# thresholds"](00_notation.md#non-positive-thresholds)). One channel of layer 2 (the second
# ReLU; the warning names both its position among the network's layers, "ReLU layer 4",
# and "activation 2, spiking layer 2 after conversion", the numbering used here) is never
# positive on the training set: ReLU always outputs 0 there, so the recorded maximum is
# $\le 0$. No neuron can use a threshold $\theta \le 0$ (see below), so `record_thresholds` makes
# that channel *silent*: it zeroes the channel's incoming
# weights and bias, so that its pre-activation is exactly 0, where ClipReLU, DA-QCFS and
# every neuron all output 0, and sets $\theta_c = 1$ as a harmless placeholder. It warns, naming
# the channel. On the training data the network's output is unchanged (checked above); on
# unseen data, it differs only where that channel would have turned positive.
#
# Why not keep the negative $\theta_c$? A threshold $\theta \le 0$ does not silence a neuron, it breaks
# it: QCFS divides by $\theta$, and with $\theta < 0$ a neuron fires whenever its potential exceeds a
# negative number, so at almost every step whatever its input (each soft reset even
# *adds* $\lvert\theta\rvert$ to the potential), and its "spikes" $\theta s$ are negative. The sorting argument
# needs $\theta > 0$ as well. The IF rule run by hand with $\theta = -1$ on small random currents, and
# refsnn's refusal:

# %%
rng = np.random.default_rng(0)
v, fired = np.full(1000, -0.5), []  # v_0 = θ/2 with θ = −1
for current in rng.uniform(-0.5, 0.5, size=(16, 1000)):  # the IF update of tutorial 1, by hand
    m = v + current
    fired.append(m >= -1.0)
    v = m - (-1.0) * fired[-1]
print(f"θ = −1: an IF neuron fires at {np.mean(fired):.1%} of its steps")
assert np.mean(fired) > 0.95
try:
    refsnn.if_neuron(np.zeros((4, 1)), -1.0)
    raise AssertionError("if_neuron accepted θ = −1")
except ValueError as exc:
    print("refsnn.if_neuron(..., theta=-1):", exc)

# %%
conv2 = clip_net[3]
zero_channels = np.flatnonzero(~conv2.weight.any(axis=(1, 2, 3)) & (conv2.bias == 0))
print(f"layer 2: channels {zero_channels.tolist()} silenced; their θ_c = "
      f"{clip_net.thresholds_[1][zero_channels].tolist()}")
assert len(caught) == 1 and "never receive positive input" in str(caught[0].message)
assert zero_channels.size >= 1 and (clip_net.thresholds_[1][zero_channels] == 1.0).all()
assert (clip_net.thresholds_[0] > 0).all() and (clip_net.thresholds_[1] > 0).all()
assert relu_net[3].weight[zero_channels].any()  # the source network is left untouched
active = [clip_net.thresholds_[0], np.delete(clip_net.thresholds_[1], zero_channels)]
print("θ_c of the active channels: " + "; ".join(f"layer {k + 1} from {t.min():.2f} to {t.max():.2f}, "
                                               f"ratio {t.max() / t.min():.1f}" for k, t in enumerate(active)))
assert 1.5 < active[0].min() and active[0].max() < 4.0 and 4.5 < active[1].min() and active[1].max() < 15.0
assert all(2 < t.max() / t.min() < 4 for t in active)  # a factor of about three within a layer

fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.4), layout="constrained", width_ratios=[1, 2])
for ax, theta, k in zip(axes, clip_net.thresholds_, (1, 2)):
    colors = [rp.COLORS["guide"] if (k == 2 and c in zero_channels) else rp.COLORS["relu"]
              for c in range(theta.size)]
    ax.bar(np.arange(theta.size), theta, color=colors)
    ax.set_xticks(np.arange(0, theta.size, 5 if theta.size > 16 else 3))
    ax.set_xlabel("channel")
    ax.set_title(f"layer {k}: θ_c per channel", fontsize=10)
axes[0].set_ylabel("recorded threshold θ_c")
for c in zero_channels:
    axes[1].annotate("silenced\n(θ_c = 1)", (c, 1.0), xytext=(c, 10.5), ha="center", fontsize=8,
                     arrowprops=dict(arrowstyle="->", color=rp.COLORS["guide"]))
show_figure(fig, FIGURES / "06_thresholds.png")

# %% [markdown]
# ![Recorded channel thresholds of both layers](../figures/tutorials/06_thresholds.png)
#
# $\theta_c$ varies by a factor of about three within a layer. One threshold per layer (as in a
# QCFS ANN) would waste most of the $T$ levels on the quiet channels.
#
# ## 6.2 Stages 2 and 3 at one T
#
# Calibrate at $T = 8$ ($\alpha = 0.01$, the code's `ema_residual` rule; 3 epochs over the 1,346
# training images instead of the code's one pass over a much larger set) and convert.
# The SNN must equal the DA-QCFS network exactly: its rates are the DA-QCFS activations
# and its predictions the DA-QCFS network's, in the faithful ($T$ copies) and collapsed
# (summed currents) modes alike.

# %%
EPOCHS = 3
T = 8
da_net = calibrate(clip_net, X_train, T, epochs=EPOCHS)
snn = to_parallel_snn(da_net, T)
print(snn)
pred, rates = snn.predict_and_rates(X_test, mode="faithful")
for r, a in zip(rates, activation_outputs(da_net, X_test)):
    np.testing.assert_allclose(r, a, rtol=1e-5, atol=1e-5)  # SNN rate == DA-QCFS activation
assert (pred == predict(da_net, X_test)).all()
assert (pred == snn.predict(X_test, mode="collapsed")).all()
print(f"T = {T}: SNN == DA-QCFS network (rates and predictions), faithful and collapsed modes")

# %% [markdown]
# (The rates match to float32 rounding: the SNN sums $T$ per-step products, the ANN
# multiplies once; see tutorial 3.)
#
# ## 6.3 Accuracy and rate error against T
#
# The whole pipeline for $T \in \lbrace 4, 8, 16, 32, 64 \rbrace$. For comparison we also convert without
# stage 2: ClipReLU replaced by DA-QCFS at $T$ with $\psi_\text{DA} = \varphi_\text{DA} = 0$, which is plain
# QCFS at level $T$ with channel thresholds. Rate error is the mean $\lvert r - a \rvert$ of SNN rate $r$ and ReLU
# activation $a$, in the units of the activations ($\theta_c$ is 1.6–4 in layer 1, 5–15 in layer 2).

# %%
STEPS = (4, 8, 16, 32, 64)
rows = [{"source": "relu", "method": "ann", "T": None, "accuracy": float(np.mean(relu_pred == y_test))}]
results, calibrated = {}, {}


def uncalibrated(clip_net, T):
    """Stage 3 straight after stage 1: ClipReLU(θ_c) → DA-QCFS(θ_c, T) with ψ_DA = φ_DA = 0."""
    return Sequential(*[DAQCFS(layer.theta, T) if isinstance(layer, ClipReLU) else layer for layer in clip_net])


print(f"{'T':>3} {'':13} {'accuracy':>14} {'agreement':>9}   |rate error| per layer   signed error per layer")
for T in STEPS:
    calibrated[T] = calibrate(clip_net, X_train, T, epochs=EPOCHS)
    for method, net in (("parallel", uncalibrated(clip_net, T)), ("training_free", calibrated[T])):
        pred, rates = to_parallel_snn(net, T).predict_and_rates(X_test, mode="collapsed")
        err = [float(np.mean(np.abs(r - a))) for r, a in zip(rates, relu_act)]
        signed = [float(np.mean(r - a)) for r, a in zip(rates, relu_act)]
        corr = [float(np.corrcoef(r.ravel(), a.ravel())[0, 1]) for r, a in zip(rates, relu_act)]
        results[T, method] = dict(pred=pred, rates=rates, err=err, signed=signed, corr=corr)
        rows.append({"source": "relu", "method": method, "T": T, "accuracy": float(np.mean(pred == y_test))})
        label = "calibrated" if method == "training_free" else "uncalibrated"
        print(f"{T:3d} {label:13} {np.mean(pred == y_test):7.2%} ({np.sum(pred == y_test)}) "
              f"{np.mean(pred == relu_pred):9.2%}   {'  '.join(f'{e:.4f}' for e in err)}           "
              f"{'  '.join(f'{e:+.4f}' for e in signed)}")

tf = [results[T, "training_free"] for T in STEPS]
for T in (4, 8, 16):  # what calibration changes: the mean (signed) error of layer 2
    assert abs(results[T, "training_free"]["signed"][1]) < 0.5 * abs(results[T, "parallel"]["signed"][1])
for k in range(2):  # the rate error halves with every doubling of T (quantization step θ/T)
    assert all(b["err"][k] < 0.6 * a["err"][k] for a, b in zip(tf, tf[1:]))
    assert tf[-1]["corr"][k] > 0.999
assert np.mean(tf[-1]["pred"] == relu_pred) >= 0.99  # at T = 64 the SNN agrees with the ANN
assert all(np.sum(results[T, "training_free"]["pred"] != relu_pred) <= 1 for T in (16, 32))
differ = np.flatnonzero(tf[-1]["pred"] != relu_pred)
assert differ.size <= 1  # T = 64: at most one of the 451 images differs from the ANN's prediction
assert abs(results[4, "parallel"]["signed"][1] + 0.025) < 1e-3 and abs(tf[0]["signed"][1] + 0.009) < 1e-3
for T in STEPS:  # the mean |error| is the same with and without calibration, to 3 digits
    for k in range(2):
        a, b = results[T, "parallel"]["err"][k], results[T, "training_free"]["err"][k]
        assert abs(a - b) < 0.005 * a

fig, axes = plt.subplots(1, 3, figsize=(15, 4.0), layout="constrained")
rp.plot_accuracy_vs_T(rows, ax=axes[0], n_test=len(y_test))  # the title says what one image is worth
handles, labels = axes[0].get_legend_handles_labels()
renamed = {"relu/parallel": "no calibration (stages 1, 3)", "relu/training_free": "training-free (stages 1–3)"}
axes[0].legend(handles, [renamed.get(h.get_gid(), lab) for h, lab in zip(handles, labels)], fontsize=8,
               loc="lower right")
assert sum(h.get_gid() in renamed for h in handles) == 2  # both series renamed, by their gids
axes[0].set_ylim(90, 100)  # ten points: the differences are one to three test images, and look it
for k, color in enumerate((rp.CYCLE[0], rp.CYCLE[1])):
    axes[1].plot(STEPS, [results[T, "training_free"]["err"][k] for T in STEPS], marker="D", color=color,
                 label=f"layer {k + 1}")
    for method, marker, ls in (("parallel", "o", ":"), ("training_free", "D", "-")):
        axes[2].plot(STEPS, [results[T, method]["signed"][k] for T in STEPS], marker=marker, ls=ls, color=color,
                     label=f"layer {k + 1}, {'calibrated' if method == 'training_free' else 'no calibration'}")
axes[1].set_yscale("log")
axes[1].set_ylabel("mean |SNN rate − ReLU activation|")
axes[1].set_title("|Error| halves with every doubling of T\n(calibrated or not: the same to 3 digits)", fontsize=10)
axes[2].axhline(0, color=rp.COLORS["guide"], lw=1)
axes[2].set_ylabel("mean signed error (SNN rate − ReLU)")
axes[2].set_title("The mean error: what calibration removes", fontsize=10)
for ax in axes[1:]:
    ax.set_xscale("log", base=2)
    ax.set_xticks(STEPS, [str(T) for T in STEPS])
    ax.minorticks_off()
    ax.set_xlabel("time steps T")
    ax.legend(fontsize=8, loc="upper right" if ax is axes[1] else "lower right")
show_figure(fig, FIGURES / "06_accuracy_vs_T.png")

# %% [markdown]
# ![Accuracy and rate error of the training-free SNN against T](../figures/tutorials/06_accuracy_vs_T.png)
#
# The rate error is the quantization error of a staircase with step $\theta_c/T$, so it halves
# with every doubling of $T$. From $T = 16$ on, the SNN makes the ANN's predictions on all but
# at most one test image: with networks trained on another machine (or with another number
# of BLAS threads, whose float rounding differs in the last bit) one image near a decision
# boundary can flip either way.
#
# What calibration does here, honestly: it removes most of layer 2's *mean* error (the
# signed column: −0.025 → −0.009 at $T = 4$), as tutorial 5 predicts, but the mean $\lvert\text{error}\rvert$,
# which is quantization noise, does not move, and neither does accuracy beyond an image or
# two. The test set has 451 images, so one image is 0.22 percentage points: differences of
# one or two images between rows are noise. A network with two spiking layers has little
# bias to compound; the paper's training-free ImageNet numbers (ResNet-34: 68.0, 72.5 and
# 73.0 % at $T = 16$, 32 and 64; the torchvision ResNet-34 itself scores 73.3 %) come from
# networks 34 or 101 layers deep, where it matters more.
#
# ## 6.4 Rate against activation, per layer
#
# The SNN Toolbox's diagnostic: every neuron's SNN rate against the ReLU activation it
# replaces, with Pearson's r. Healthy conversion hugs the diagonal; at small $T$ the points
# sit on $T + 1$ horizontal levels per channel.

# %%
fig, axes = plt.subplots(2, 2, figsize=(7.6, 6.8), layout="constrained")
for row, T in zip(axes, (4, 32)):
    rp.plot_rate_vs_activation(relu_act, results[T, "training_free"]["rates"],
                               layer_names=[f"T = {T}, layer 1", f"T = {T}, layer 2"], axes=row)
show_figure(fig, FIGURES / "06_rate_vs_activation.png")
for T in (4, 32):
    print(f"T = {T}: correlation per layer {np.round(results[T, 'training_free']['corr'], 4)}")

# %% [markdown]
# ![SNN rate against ReLU activation at T = 4 and T = 32](../figures/tutorials/06_rate_vs_activation.png)
#
# ## 6.5 What the spikes look like
#
# A dozen neurons of layer 1 with different counts, for one test image at $T = 16$. In the paper's order the parallel
# neuron fires in the *last* $N$ steps (the sorting property, tutorial 4); the authors'
# released code fills the *first* $N$ steps instead (`order="code"`; [notation page, "Spike
# order"](00_notation.md#spike-order)). The counts are the same.

# %%
T = 16
snns = {order: to_parallel_snn(calibrated[T], T, order=order) for order in ("paper", "code")}
trains = {order: snn.spike_trains(X_test[:1], layer=0)[:, 0].reshape(T, -1) for order, snn in snns.items()}
counts = trains["paper"].sum(axis=0)
levels = np.unique(counts)  # one neuron for each of up to 12 different counts, quiet to busy
levels = levels[np.linspace(0, levels.size - 1, min(12, levels.size)).astype(int)]
neurons = np.array([np.flatnonzero(counts == c)[0] for c in levels])
print(f"layer 1, one test image, T = {T}: counts of the neurons shown {counts[neurons].tolist()}")
assert (trains["paper"].sum(axis=0) == trains["code"].sum(axis=0)).all()
assert (trains["code"] == trains["paper"][::-1]).all()  # the code order is the time reverse

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
for ax, order in zip(axes, ("paper", "code")):
    rp.plot_raster(trains[order][:, neurons], ax=ax,
                   title=f"{order} order: spikes {'back' if order == 'paper' else 'front'}-loaded")
    ax.set_yticks(np.arange(neurons.size), [str(n) for n in neurons])
    ax.set_ylabel("neuron of layer 1 (flat index)")
fig.get_layout_engine().set(w_pad=0.4)
show_figure(fig, FIGURES / "06_raster.png")

# %% [markdown]
# ![Spike raster of 12 layer-1 neurons, paper and code order](../figures/tutorials/06_raster.png)
#
# Every train is sorted: silence, then spikes to the end (paper) or from the start (code).
# No neuron can fire before it has seen all $T$ input steps: parallel conversion is
# layer-sequential, not streaming.
#
# ## 6.6 Accuracy step by step
#
# > **Code.** The authors' evaluation sums the logits over steps and records, for every t,
# > the accuracy of the argmax of the sum over steps 1..t; the accuracy to report is the one
# > at $t = T$ ([notation page, "Evaluation and timing in the released
# > code"](00_notation.md#evaluation-and-timing-in-the-released-code)).
#
# The final sums, and so the final predictions, are the same in both orders. The partial
# sums are not:

# %%
per_step = {f"{order} order": np.mean(snn.cumulative_predictions(X_test) == y_test, axis=1)
            for order, snn in snns.items()}
for label, acc in per_step.items():
    print(f"{label}: accuracy after steps 1, 2, 4, 8, 16: "
          f"{', '.join(f'{acc[t - 1]:.1%}' for t in (1, 2, 4, 8, 16))}")
assert per_step["paper order"][-1] == per_step["code order"][-1] == np.mean(results[T, "training_free"]["pred"] == y_test)
assert per_step["code order"][0] > per_step["paper order"][0]

fig, ax = rp.plot_cumulative_accuracy(per_step)
ax.axhline(100 * np.mean(relu_pred == y_test), color=rp.COLORS["ann"], ls="--", lw=1, label="ReLU ANN")
ax.legend(fontsize=8, loc="lower right")
ax.set_title(f"Training-free SNN, T = {T}: accuracy from the logits summed over 1..t", fontsize=10)
show_figure(fig, FIGURES / "06_cumulative_accuracy.png")

# %% [markdown]
# ![Cumulative accuracy per step, paper and code order](../figures/tutorials/06_cumulative_accuracy.png)
#
# In the paper's order step 1 carries only the neurons that fire at *every* step
# (count $T$), so early partial sums say little; in the code's order step 1 carries every
# neuron that fires at all, a coarse picture of the final answer. Neither order helps a
# reader who must wait for the end anyway, since every layer needs all $T$ steps of the
# layer before it. The per-step curve is a property of the chosen order, not of the network.
#
# ## Exercises
#
# Worked solutions: [solutions/06_training_free_pipeline.md](solutions/06_training_free_pipeline.md).
# All three use the pipeline without calibration (stages 1 and 3, the `uncalibrated`
# network of §6.3), so that only the thresholds change.
#
# 1. Record the thresholds on 100 training images instead of all 1,346. How many
#    channels are silenced, and what happens to accuracy at $T = 16$? How often does
#    ClipReLU now cut the test inputs (the share of positive pre-activations above $\theta_c$)?
#    Answer check: the number of silenced channels, all layers together, a whole number:
#    `refsnn.homework.check("6.1", silenced)`.
#    ([solution](solutions/06_training_free_pipeline.md#exercise-1))
# 2. Replace the channel-wise $\theta_c$ by one threshold per layer (the largest $\theta_c$ of the
#    layer). What is the smallest $T$ in $\lbrace 4, 8, \dots, 256 \rbrace$ at which the SNN makes the ReLU
#    ANN's prediction on at least 99 % of the test images, with channel-wise and with
#    layer-wise $\theta$? One image is 0.22 percentage points, so also compare the rate error:
#    how much larger is it with one threshold per layer? (Hint: build the layer-wise
#    network as a `Sequential` of the same layers with new `ClipReLU` thresholds.)
#    Answer check: the two smallest $T$, channel-wise first, a list of 2 whole numbers:
#    `refsnn.homework.check("6.2", [T_channel, T_layer])`.
#    ([solution](solutions/06_training_free_pipeline.md#exercise-2))
# 3. Use the 99.9th percentile of the ReLU inputs instead of the maximum as $\theta_c$ (a common
#    trick in conversion papers). Compare the rate error at $T = 4, 64$ and 1024, and
#    explain why the answer differs between small and large $T$. (Hint: split the rate
#    error into a quantization part, which shrinks with $T$, and a clipping part, which
#    does not.) Answer check: the smallest of $T = 4, 64, 1024$ at which the maximum
#    gives the lower rate error in every layer, a whole number:
#    `refsnn.homework.check("6.3", T)`.
#    ([solution](solutions/06_training_free_pipeline.md#exercise-3))
