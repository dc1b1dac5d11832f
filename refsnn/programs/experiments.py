"""``refsnn experiment NAME``: the paper's accuracy claims where they really appear.

The demo's shallow CNN has two spiking layers, too few for the IF neuron's unevenness
error to matter: its IF SNN lands within a test image or two of the parallel SNN. The
paper's comparisons are on deep networks (VGG-16, ResNet-20/34 with BatchNorm). These
experiments build such networks in miniature (:mod:`refsnn.networks.models`) and report
every claim as a mean and range over seeds.

``depth``
    QCFS MLPs of growing depth at T̃ = 4: the parallel SNN at T = T̃ against IF SNNs at
    T = T̃, 2T̃, 4T̃, 8T̃, with accuracy, agreement with the ANN and the rate error of
    every layer. Claim: the parallel SNN equals the ANN at any depth (Theorem 4.1), while
    the IF SNN's error compounds with depth.
``resnet``
    The ResNet-20-shaped network with BatchNorm: QCFS at T̃ = 4 converted to parallel and
    IF SNNs; parallel SNNs at T = 2 and 8 with and without DA-QCFS calibration; and the
    training-free pipeline from a ReLU ResNet at T = 2 … 64 with and without calibration.

Every row extends the demo's (``source``, ``method``, ``T``, ``accuracy``,
``agreement``, ``rate_error`` per layer) with ``experiment``, ``data``, ``model``,
``depth`` (spiking layers) and ``seed``. Trained weights are cached as in the demo.
Training is deterministic for a seed on one machine; another machine's BLAS can round
differently and move a result by a test image or two.
"""

import time
import warnings

import numpy as np

from .._checks import as_int, check_choice
from ..networks.activations import QCFS, ReLU
from ..networks.containers import set_training
from ..networks.conversion import activation_outputs, calibrate, record_thresholds, to_if_snn, to_parallel_snn
from ..networks.data import load_cifar10, load_digits, load_mnist
from ..networks.models import count_activations, deep_mlp, resnet_mini
from ..networks.training import fit, predict
from ..threads import thread_setting
from .cache import array_digest, cache_path, check_cache, trained
from .outputs import check_output_path, json_output, save_figure
from .results import ann_row, snn_row

__all__ = ["EXPERIMENTS", "DATASETS", "run_experiment", "run_depth", "run_resnet", "summarize", "format_summary", "load_data"]

EXPERIMENTS = ("depth", "resnet")
DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10")

#: Settings of each experiment (those that determine the trained weights are named in
#: DEPTH_WEIGHTS and RESNET_WEIGHTS). Tests pass smaller ones.
DEPTH = {
    "depths": (2, 4, 8, 12),
    "width": 32,
    "T_tilde": 4,
    "theta0": 2.0,
    "epochs": 60,
    "batch_size": 32,
    "lr": 1e-3,
    "if_multiples": (1, 2, 4, 8),
}
RESNET = {
    "width": 8,
    "blocks": 3,
    "T_tilde": 4,
    "theta0": 2.0,
    "epochs": 30,
    "batch_size": 32,
    "lr": 3e-3,
    "if_multiples": (1, 2, 4, 8),
    "other_steps": (2, 8),
    "training_free_steps": (2, 4, 8, 16, 32, 64),
    "calibration_epochs": 5,
}
#: The settings that determine the trained weights (with the training settings epochs,
#: batch_size and lr, the seed and the training data): part of the cache key.
DEPTH_WEIGHTS = ("width", "T_tilde", "theta0")
RESNET_WEIGHTS = {"qcfs": ("width", "blocks", "T_tilde", "theta0"), "relu": ("width", "blocks")}
#: On MNIST and CIFAR-10 the training sets are 40× larger than the digits'.
LARGE_DATA_EPOCHS = 5


def load_data(data="digits", data_dir=None, seed=0):
    """(X_train, y_train, X_test, y_test) of a data set, images shaped (B, C, H, W).

    ``digits`` is embedded (split by ``seed``); the others are read from ``data_dir``:
    the four IDX files of MNIST or Fashion-MNIST, or CIFAR-10's python batches.
    """
    check_choice("data", data, DATASETS)
    if data == "digits":
        return load_digits(seed=seed)
    if data_dir is None:
        raise ValueError(f"--data {data} reads local files: pass --data-dir DIR")
    if data == "cifar10":
        return load_cifar10(data_dir)
    return load_mnist(data_dir, kind="mnist" if data == "mnist" else "fashion")


def _trained(name, build, settings, data, config, seed, retrain, log, cache):
    """Build and train a network, or load it from the cache.

    The cache key holds everything that determines the weights: ``name``, ``seed``, the
    training settings of ``config`` and ``settings``, the rest (the model's settings such
    as width, T̃ and θ0, and the training data's digest, :func:`_data_key`).
    """
    X_train, y_train = data[0], data[1]
    training = {k: config[k] for k in ("epochs", "batch_size", "lr")}
    key = {"model": name, "seed": seed, **settings, **training}

    def train():
        net = build()
        start = time.perf_counter()
        fit(net, X_train, y_train, **training, rng=np.random.default_rng(1000 + seed))
        set_training(net, False)
        log(f"  trained {name} (seed {seed}, {count_activations(net)} spiking layers) in "
            f"{time.perf_counter() - start:.1f} s with {thread_setting()}")
        return net

    return trained(cache_path(f"experiment-{name}", seed, key), train, retrain, log,
                   loaded=f"  loaded {name} (seed {seed}) from the cache", cache=cache)


def _data_key(data):
    """The training arrays' part of a cache key: their digest
    (:func:`refsnn.programs.cache.array_digest`), computed once per run."""
    return {"data": array_digest(data[0], data[1])}


def _epochs(config, data):
    return dict(config, epochs=config["epochs"] if data == "digits" else min(config["epochs"], LARGE_DATA_EPOCHS))


def run_depth(data_name, data, seeds, config=None, retrain=False, log=print, cache=True):
    """The ``depth`` experiment: rows for every depth and seed.

    ``cache=False`` saves no trained network (cached ones are still loaded).
    """
    config = _epochs(dict(DEPTH, **(config or {})), data_name)
    X_test, y_test = data[2], data[3]
    data_key = _data_key(data)
    in_features = int(np.prod(data[0].shape[1:]))
    T_tilde, rows = config["T_tilde"], []
    for seed in seeds:
        for depth in config["depths"]:
            name = f"mlp{depth}x{config['width']}-qcfs{T_tilde}-{data_name}"
            settings = {"depth": depth, **{k: config[k] for k in DEPTH_WEIGHTS}, **data_key}
            net = _trained(name, lambda: deep_mlp(depth, config["width"], lambda: QCFS(config["theta0"], T_tilde),
                                                 seed=seed, in_features=in_features),
                           settings, data, config, seed, retrain, log, cache)
            ann_pred = predict(net, X_test)
            ann = ann_row("qcfs", ann_pred, y_test)
            act = activation_outputs(net, X_test)
            found = [ann, snn_row("qcfs", "parallel", T_tilde, to_parallel_snn(net, T_tilde), X_test, y_test,
                                  ann_pred, act)]
            for m in config["if_multiples"]:
                found.append(snn_row("qcfs", "if", m * T_tilde, to_if_snn(net, m * T_tilde), X_test, y_test,
                                     ann_pred, act))
            for row in found:
                rows.append({"experiment": "depth", "data": data_name, "model": f"mlp{depth}x{config['width']}",
                             "depth": depth, "seed": seed, **row})
            log(f"  depth {depth:2} seed {seed}: ANN {ann['accuracy']:.4f}, parallel@T~ {found[1]['accuracy']:.4f}, "
                + ", ".join(f"IF@{r['T']} {r['accuracy']:.4f}" for r in found[2:]))
    return rows


def run_resnet(data_name, data, seeds, config=None, retrain=False, phi_update="ema_residual", log=print,
               cache=True):
    """The ``resnet`` experiment: rows for every seed (QCFS and ReLU ResNets with BatchNorm).

    ``cache=False`` saves no trained network (cached ones are still loaded).
    """
    config = _epochs(dict(RESNET, **(config or {})), data_name)
    data_key = _data_key(data)
    X_train, X_test, y_test = data[0], data[2], data[3]
    in_shape = tuple(int(s) for s in X_train.shape[1:])
    T_tilde, rows = config["T_tilde"], []
    cal = dict(phi_update=phi_update, epochs=config["calibration_epochs"])
    for seed in seeds:
        model = f"resnet{config['blocks']}x{config['width']}"
        build = {"qcfs": lambda: QCFS(config["theta0"], T_tilde), "relu": ReLU}
        nets = {source: _trained(f"{model}-{source}-{data_name}",
                                 lambda f=factory: resnet_mini(f, seed=seed, in_shape=in_shape, width=config["width"],
                                                               blocks=config["blocks"]),
                                 {**{k: config[k] for k in RESNET_WEIGHTS[source]}, **data_key},
                                 data, config, seed, retrain, log, cache)
                for source, factory in build.items()}
        found = []
        qcfs_net, relu_net = nets["qcfs"], nets["relu"]
        pred = predict(qcfs_net, X_test)
        ann = ann_row("qcfs", pred, y_test)
        act = activation_outputs(qcfs_net, X_test)
        found += [ann, snn_row("qcfs", "parallel", T_tilde, to_parallel_snn(qcfs_net, T_tilde), X_test, y_test,
                               pred, act)]
        for m in config["if_multiples"]:
            found.append(snn_row("qcfs", "if", m * T_tilde, to_if_snn(qcfs_net, m * T_tilde), X_test, y_test, pred, act))
        for T in config["other_steps"]:
            found.append(snn_row("qcfs", "parallel", T, to_parallel_snn(qcfs_net, T), X_test, y_test, pred, act))
            calibrated = calibrate(qcfs_net, X_train, T, **cal)
            found.append(snn_row("qcfs", "parallel_calibrated", T, to_parallel_snn(calibrated, T), X_test, y_test,
                                 pred, act))
        relu_pred = predict(relu_net, X_test)
        found.append(ann_row("relu", relu_pred, y_test))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # silent channels: counted in the log below
            clip_net = record_thresholds(relu_net, X_train)
        relu_act = activation_outputs(relu_net, X_test)
        for T in config["training_free_steps"]:
            uncalibrated = calibrate(clip_net, X_train, T, epochs=0)  # DA-QCFS with ψ_DA = φ_DA = 0
            found.append(snn_row("relu", "training_free", T, to_parallel_snn(uncalibrated, T), X_test, y_test,
                                 relu_pred, relu_act))
            calibrated = calibrate(clip_net, X_train, T, **cal)
            found.append(snn_row("relu", "training_free_calibrated", T, to_parallel_snn(calibrated, T), X_test, y_test,
                                 relu_pred, relu_act))
        depth = count_activations(qcfs_net)
        for row in found:
            rows.append({"experiment": "resnet", "data": data_name, "model": model, "depth": depth, "seed": seed,
                         **row})
        log(f"  seed {seed}: QCFS ANN {ann['accuracy']:.4f}, parallel@T~ {found[1]['accuracy']:.4f}, "
            + ", ".join(f"IF@{r['T']} {r['accuracy']:.4f}" for r in found[2:2 + len(config["if_multiples"])]))
    return rows


def summarize(rows):
    """Mean, minimum and maximum of accuracy and agreement over seeds, per
    (experiment, model, source, method, T): a list of dicts in first-seen order."""
    groups = {}
    for row in rows:
        key = (row["experiment"], row["model"], row["source"], row["method"], row["T"])
        groups.setdefault(key, []).append(row)
    out = []
    for (experiment, model, source, method, T), group in groups.items():
        acc = np.array([r["accuracy"] for r in group])
        agree = np.array([r["agreement"] for r in group])
        out.append({"experiment": experiment, "model": model, "depth": group[0]["depth"], "source": source,
                    "method": method, "T": T, "seeds": [r["seed"] for r in group],
                    "accuracy_mean": float(acc.mean()), "accuracy_min": float(acc.min()),
                    "accuracy_max": float(acc.max()), "agreement_mean": float(agree.mean()),
                    "agreement_min": float(agree.min()), "agreement_max": float(agree.max())})
    return out


def format_summary(summary):
    """The summary as a fixed-width text table (percentages)."""
    lines = [f"{'model':14} {'source':6} {'method':24} {'T':>3}  {'accuracy mean [min, max]':>26}  "
             f"{'agreement mean [min, max]':>26}  seeds"]
    for s in summary:
        T = "-" if s["T"] is None else str(s["T"])
        acc = f"{100 * s['accuracy_mean']:6.2f} [{100 * s['accuracy_min']:6.2f}, {100 * s['accuracy_max']:6.2f}]"
        agr = f"{100 * s['agreement_mean']:6.2f} [{100 * s['agreement_min']:6.2f}, {100 * s['agreement_max']:6.2f}]"
        lines.append(f"{s['model']:14} {s['source']:6} {s['method']:24} {T:>3}  {acc:>26}  {agr:>26}  {len(s['seeds'])}")
    return lines


def run_experiment(name, data="digits", data_dir=None, seeds=None, config=None, retrain=False,
                   phi_update="ema_residual", log=print):
    """Run one experiment and return ``{"experiment", "data", "seeds", "rows", "summary", "seconds"}``."""
    check_choice("name", name, EXPERIMENTS)
    seeds = [as_int("seeds", s, minimum=0) for s in (seeds if seeds is not None else (range(5) if name == "depth"
                                                                                      else range(3)))]
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    if len(set(seeds)) < len(seeds):  # a repeated seed would count one run twice in the summary
        raise ValueError(f"seeds must be distinct, got {' '.join(map(str, seeds))}")
    start = time.perf_counter()
    cache = check_cache(log)
    rows = []
    files = None if data == "digits" else load_data(data, data_dir)  # read once: the same for every seed
    for seed in seeds:
        split = files if files is not None else load_data(data, data_dir, seed)
        log(f"{name} on {data}: {len(split[0])} training and {len(split[2])} test images, seed {seed}")
        if name == "depth":
            rows += run_depth(data, split, [seed], config, retrain, log, cache)
        else:
            rows += run_resnet(data, split, [seed], config, retrain, phi_update, log, cache)
    return {"experiment": name, "data": data, "seeds": seeds, "rows": rows, "summary": summarize(rows),
            "seconds": time.perf_counter() - start, "thread_setting": thread_setting()}


def draw_figures(result, out_dir):
    """Draw an experiment's figures into ``out_dir`` (which must exist); returns the paths.

    ``depth``: ``depth.png`` (accuracy and agreement against depth), ``depth_layers.png``
    (per-layer rate error of the deepest net) and ``depth_accuracy_vs_T.png``.
    ``resnet``: ``resnet_accuracy_vs_T.png`` and ``resnet_layers.png``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plotting.experiments import plot_depth, plot_layer_rate_error, plot_seed_accuracy_vs_T

    rows, name = result["rows"], result["experiment"]
    figures = {"depth": {"depth.png": lambda: plot_depth(rows),
                         "depth_layers.png": lambda: plot_layer_rate_error(rows),
                         "depth_accuracy_vs_T.png": lambda: plot_seed_accuracy_vs_T(rows)},
               "resnet": {"resnet_accuracy_vs_T.png": lambda: plot_seed_accuracy_vs_T(rows),
                          "resnet_layers.png": lambda: plot_layer_rate_error(rows)}}[name]
    paths = []
    for filename, draw in figures.items():
        fig, _ = draw()
        path = f"{out_dir}/{filename}"
        try:
            save_figure(fig, path, dpi=120, metadata={"Software": None})
        finally:
            plt.close(fig)
        paths.append(path)
    return paths


def run(name, data="digits", data_dir=None, seeds=None, json_path=None, out_dir=None, retrain=False,
        phi_update="ema_residual"):
    """Entry point of ``refsnn experiment NAME``: run, print the per-seed rows and the
    summary over seeds, and optionally write JSON and figures.

    ``json_path`` and ``out_dir`` are checked before the work starts; ``json_path="-"``
    writes the JSON to standard output and the rest to standard error.
    """
    check_choice("name", name, EXPERIMENTS)
    with json_output(json_path, "--json") as write_json:
        if out_dir is not None:
            check_output_path(out_dir, "--out", directory=True)
        result = run_experiment(name, data, data_dir, seeds, retrain=retrain, phi_update=phi_update)
        print()
        print(f"{name} on {data}: mean [min, max] over seeds {', '.join(map(str, result['seeds']))} (percent)")
        print("\n".join(format_summary(result["summary"])))
        print(f"\ntotal {result['seconds']:.1f} s with {thread_setting()}")
        write_json(result)
        if out_dir is not None:
            from pathlib import Path

            Path(out_dir).mkdir(exist_ok=True)
            for path in draw_figures(result, out_dir):
                print(f"wrote {path}")
    return result
