"""The ``refsnn`` command line (also ``python -m refsnn``).

``refsnn demo``   the conversion experiments on the embedded digits (the main job)
``refsnn bench``  kernel bandwidth and parallel against sequential inference
``refsnn figures`` regenerate every figure in ``figures/``
``refsnn tour``   the neuron-level facts for a few concrete inputs
``refsnn experiment NAME`` the paper's accuracy claims on deep networks, over seeds
``refsnn verify`` the paper's neuron-level claims as Hypothesis properties, printed as a report
(``--against MODULE:NAME``: on a neuron implemented elsewhere)
``refsnn evaluate`` a checkpoint of the authors' code as an ANN and as SNNs, on CIFAR, MNIST or digits

Every argument is checked before any work starts: a bad one (a negative seed, an
infinite threshold, an output path that cannot be written, a results file of the wrong
kind, a missing or damaged data file) ends the program with exit status 2 and one ``refsnn <command>: error:`` line that
names the flag, as argparse does for its own errors.

Every command takes ``--threads N`` and runs on N threads for NumPy's BLAS and Numba
(:mod:`refsnn.threads`): by default ``REFSNN_THREADS``, else 1, applied before any work;
every timing it prints says the setting in force.

``--json -`` (or ``/dev/stdout``) writes the JSON to standard output and everything else
to standard error, so that ``refsnn verify --json - | python -m json.tool`` works. Once the
work has started, the program ends in one line, never a traceback: a result file that
cannot be written (a full disk) gives ``refsnn <command>: error:`` with the reason and
where the result was kept instead, and exit status 1; Ctrl-C gives ``refsnn <command>:
interrupted`` and exit status 130. A standard output whose reader has gone (``refsnn tour
| head -1``) is left quietly, as Unix tools do: the work goes on, its files are written,
and the exit status is 141 (128 + SIGPIPE).
"""

import argparse
import math
import sys

from .. import __version__
from ..claims import DEFAULT_EXAMPLES, SEARCH_EXAMPLES
from ..threads import check_threads, default_threads, use_threads
from .outputs import OutputError, check_output_path, stdout_guard

DESCRIPTIONS = {
    "demo": (
        "Train a small QCFS CNN and a ReLU CNN on the embedded 8x8 digits (or load them from "
        "the cache), convert them to SNNs (parallel, sequential IF, with and without DA-QCFS "
        "calibration, training-free from ReLU) and print accuracy, agreement with the ANN, "
        "per-layer rate errors, per-step cumulative accuracy and timing. About 30 seconds on "
        "2 CPU cores the first time."
    ),
    "bench": (
        "Measure the neuron kernels against memory-copy bandwidth, the demo CNN in its "
        "three modes (sequential IF, faithful and collapsed parallel) and as an ANN, and "
        "start-up costs (import, Numba compilation), on this machine. With --peers, also "
        "time the same neurons, network and training step in PyTorch, SpikingJelly and "
        "snnTorch when they are installed."
    ),
    "figures": (
        "Regenerate every figure, byte for byte the same on every run. The neuron figures are "
        "always drawn; the accuracy and calibration figures are drawn from --demo-json, the "
        "speed-up figure and peers.png (if the benchmark ran with --peers) from --bench-json, "
        "which default to the committed figures/data/demo.json and figures/data/bench.json "
        "under the working folder. --style slides draws them for a lecture: 16:9, large type, "
        "one message per figure (best with --format svg or pdf)."
    ),
    "experiment": (
        "Run one of the paper's accuracy comparisons in miniature, over several seeds: "
        "'depth' (QCFS MLPs of 2 to 12 spiking layers: parallel SNN at T = T~ against IF SNNs) "
        "or 'resnet' (a ResNet-20-shaped network with BatchNorm: parallel against IF, DA-QCFS "
        "calibration at T != T~, and the training-free pipeline). Prints the rows and the mean "
        "and range over seeds; trained weights are cached as in the demo."
    ),
    "verify": (
        "Check the paper's neuron-level claims (Theorem 4.1 at T = T~ and T != T~, the sorting "
        "property, the firing methods, the spike orders, IF against QCFS) as Hypothesis properties "
        "on inputs where floats are exact, and find the documented counterexamples (leaky and "
        "no-reset neurons, a float tie, the IF unevenness error). Prints one line per claim; exit "
        "status 0 if every claim came out as expected, 1 otherwise. About 6 s on 2 cores (15 s "
        "the first time, when Numba compiles). With --against MODULE:NAME --neuron parallel|if, run "
        "the claims that apply to any implementation on a neuron implemented elsewhere instead "
        "(tutorials/verify_against.md)."
    ),
    "evaluate": (
        "Read a PyTorch checkpoint of the authors' code (torch is not needed) into their architecture, "
        "and evaluate it on the test set as the ANN, the parallel SNN at each --T (collapsed mode, the "
        "cost of one ANN pass), optionally after DA-QCFS calibration on --calibrate N training images, "
        "and the sequential IF SNN at each --if-T (T ANN passes each). Prints the rows of 'refsnn "
        "experiment' (accuracy, agreement with the ANN, per-layer rate error)."
    ),
    "tour": (
        "Print the paper's neuron-level facts for a few concrete inputs: QCFS level against "
        "IF and parallel spike counts (Theorem 4.1), spike trains in both orders, binary "
        "search for the first spike step, and the conversion matrices for T = 4."
    ),
}

#: The flags of ``refsnn figures``, named in its error messages.
FIGURES_FLAGS = {"out_dir": "--out", "demo_json": "--demo-json", "bench_json": "--bench-json"}
#: ``refsnn figures --format`` and ``--style``, as in :mod:`refsnn.programs.figures` (which
#: is not imported before it is needed: it is checked against these in the tests).
FIGURES_FORMATS, FIGURES_STYLES = ("png", "svg", "pdf"), ("page", "slides")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="refsnn",
        description="Reference implementation of parallel ANN-SNN conversion (Hao et al., ICML 2025).",
    )
    parser.add_argument("--version", action="version", version=f"refsnn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name, help):
        command = sub.add_parser(name, help=help, description=DESCRIPTIONS[name])
        command.set_defaults(subparser=command)  # reports bad values with this command's usage
        command.add_argument("--threads", type=int, metavar="N",
                             help="threads for NumPy's BLAS and Numba (and torch in bench --peers), 1 to the cores "
                                  "(default: $REFSNN_THREADS, else 1: see the README)")
        return command

    demo = add("demo", "train, convert and compare SNNs on the embedded digits")
    demo.add_argument("--seed", type=int, default=0,
                      help="seed of the data split and training, an integer >= 0 (default 0)")
    demo.add_argument("--retrain", action="store_true", help="train again even if cached weights exist")
    demo.add_argument("--json", metavar="PATH",
                      help="also write the results as JSON to PATH (its folder must exist; - for standard output)")
    demo.add_argument("--phi-update", choices=("ema_residual", "accumulate"), default="ema_residual",
                      help="DA-QCFS phi update rule (default: ema_residual, as in the authors' code)")

    bench = add("bench", "measure kernel bandwidth and parallel vs sequential inference")
    bench.add_argument("--quick", action="store_true", help="a small version (under 30 s)")
    bench.add_argument("--json", metavar="PATH",
                       help="also write the results as JSON to PATH (its folder must exist; - for standard output)")
    bench.add_argument("--peers", action="store_true",
                       help="also time torch, SpikingJelly and snnTorch (the 'peers' extra; skipped if absent)")
    bench.add_argument("--full-size", action="store_true",
                       help="instead: ResNet-20 and VGG-16 at 3x32x32, refsnn beside torch if installed "
                            "(a few minutes; with --quick smaller batches)")

    figures = add("figures", "regenerate every figure (PNG, SVG or PDF; page or slide style)")
    figures.add_argument("--out", default="figures", metavar="DIR",
                         help="output directory, created if missing inside an existing folder (default: figures)")
    figures.add_argument("--demo-json", metavar="PATH",
                         help="results of 'refsnn demo --json' for the network figures "
                              "(default: figures/data/demo.json if it exists)")
    figures.add_argument("--bench-json", metavar="PATH",
                         help="results of 'refsnn bench --json' for the speed-up and peers figures "
                              "(default: figures/data/bench.json if it exists)")
    figures.add_argument("--format", choices=FIGURES_FORMATS, default="png", help="file format (default: png)")
    figures.add_argument("--style", choices=FIGURES_STYLES, default="page",
                         help="page: as the README and tutorials show them (default); slides: 16:9, large type")

    experiment = add("experiment", "the paper's accuracy comparisons on deep networks, over seeds")
    experiment.add_argument("name", choices=("depth", "resnet"), help="which experiment")
    experiment.add_argument("--data", choices=("digits", "mnist", "fashion-mnist", "cifar10"), default="digits",
                            help="data set (default: the embedded digits; the others are read from --data-dir)")
    experiment.add_argument("--data-dir", metavar="DIR",
                            help="folder with the MNIST / Fashion-MNIST IDX files or CIFAR-10 python batches")
    experiment.add_argument("--seeds", type=int, nargs="+", metavar="S",
                            help="seeds, integers >= 0 (default 0 1 2 3 4 for depth, 0 1 2 for resnet)")
    experiment.add_argument("--json", metavar="PATH",
                            help="also write the rows and the summary as JSON to PATH "
                                 "(its folder must exist; - for standard output)")
    experiment.add_argument("--out", metavar="DIR",
                            help="also draw the experiment's figures into DIR (created inside an existing folder)")
    experiment.add_argument("--retrain", action="store_true", help="train again even if cached weights exist")
    experiment.add_argument("--phi-update", choices=("ema_residual", "accumulate"), default="ema_residual",
                            help="DA-QCFS phi update rule (default: ema_residual, as in the authors' code)")

    evaluate = add("evaluate", "evaluate a checkpoint of the authors' code as an ANN and as SNNs")
    evaluate.add_argument("--checkpoint", required=True, metavar="PATH", help="a torch.save file (zip format)")
    evaluate.add_argument("--arch", required=True, choices=("vgg16", "resnet18", "resnet20", "resnet34", "resnet18_relu",
                                                             "resnet34_relu", "resnet50_relu", "resnet101_relu"),
                          help="the authors' architecture the checkpoint holds")
    evaluate.add_argument("--levels", type=int, metavar="L",
                          help="the QCFS level T~ the network was trained with (not stored in a checkpoint); "
                               "required for QCFS networks, left out for the *_relu ones")
    evaluate.add_argument("--data", required=True, choices=("cifar10", "cifar100", "mnist", "digits"), help="test set")
    evaluate.add_argument("--data-dir", metavar="DIR",
                          help="folder of the data (cifar-10-batches-py/, cifar-100-python/, or their parent)")
    evaluate.add_argument("--T", type=int, nargs="+", metavar="T", help="time steps of the parallel SNN (default: L; required for *_relu)")
    evaluate.add_argument("--if-T", type=int, nargs="+", default=[], metavar="T", help="time steps of the IF SNN")
    evaluate.add_argument("--calibrate", type=int, default=0, metavar="N",
                          help="also calibrate DA-QCFS on the first N training images (default 0: no); "
                               "*_relu: record the thresholds and calibrate on them (required)")
    evaluate.add_argument("--limit", type=int, metavar="N", help="the first N test images only")
    evaluate.add_argument("--batch-size", type=int, default=100, metavar="B", help="images per chunk (default 100)")
    evaluate.add_argument("--json", metavar="PATH", help="also write the rows as JSON to PATH (its folder must exist)")

    tour = add("tour", "print the neuron-level facts for a few concrete inputs")
    tour.add_argument("--theta", type=float, default=1.0, help="threshold theta, finite and > 0 (default 1)")

    verify = add("verify", "check the paper's neuron-level claims and print a report")
    verify.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES, metavar="N",
                        help=f"examples per property that should hold, an integer >= 1 (default {DEFAULT_EXAMPLES}); "
                             f"a counterexample search tries at least {SEARCH_EXAMPLES}")
    verify.add_argument("--seed", type=int, metavar="S",
                        help="seed of the examples, an integer >= 0 (default: derandomized, the same every run)")
    verify.add_argument("--json", metavar="PATH",
                        help="also write the report as JSON to PATH (its folder must exist; - for standard output)")
    verify.add_argument("--against", metavar="MODULE:NAME",
                        help="check another implementation instead: NAME(currents, theta, psi) for a parallel neuron "
                             "or NAME(currents, theta, v0) for an IF neuron, float32 currents (T, N) in, (T, N) spikes "
                             "of 0 and 1 out (or a class built from (T, theta, psi)); MODULE is a module importable "
                             "from here or a .py file (see tutorials/verify_against.md)")
    verify.add_argument("--neuron", choices=("parallel", "if"), help="with --against: what NAME is")
    verify.add_argument("--order", choices=("paper", "code"),
                        help="with --against --neuron parallel: NAME fires the last N steps (paper, the default) "
                             "or the first N (code, as the authors' code)")
    return parser


def _check_args(args):
    """Check the parsed arguments before any work starts; raise ValueError naming the flag.

    The program modules check again, under their parameter names, when called directly.
    ``args.threads`` becomes the number of threads to run on (--threads, else REFSNN_THREADS, else 1).
    """
    args.threads = default_threads() if args.threads is None else check_threads(args.threads, "--threads")
    if args.command == "tour" and not (math.isfinite(args.theta) and args.theta > 0):
        raise ValueError(f"--theta must be a finite number > 0, got {args.theta}")
    if args.command in ("demo", "verify") and args.seed is not None and args.seed < 0:
        raise ValueError(f"--seed must be an integer >= 0, got {args.seed}")
    if args.command == "verify" and args.examples < 1:
        raise ValueError(f"--examples must be an integer >= 1, got {args.examples}")
    if args.command in ("demo", "bench", "experiment", "verify") and args.json is not None:
        check_output_path(args.json, "--json")
    if args.command == "verify":
        _check_against(args)
    if args.command == "bench" and args.full_size and args.peers:
        raise ValueError("--full-size times torch itself when it is installed: leave out --peers")
    if args.command == "experiment":
        if args.seeds is not None and any(seed < 0 for seed in args.seeds):
            raise ValueError(f"--seeds must be integers >= 0, got {' '.join(map(str, args.seeds))}")
        if args.seeds is not None and len(set(args.seeds)) < len(args.seeds):
            raise ValueError(f"--seeds must be distinct, got {' '.join(map(str, args.seeds))}")
        if args.data != "digits" and args.data_dir is None:
            raise ValueError(f"--data {args.data} reads local files: pass --data-dir DIR")
        if args.data_dir is not None:
            from pathlib import Path

            if not Path(args.data_dir).is_dir():
                raise ValueError(f"--data-dir {args.data_dir} is not a folder")
        if args.data != "digits":
            from .experiments import load_data

            try:  # read once to check: a missing or damaged file is an argument error, not a traceback
                load_data(args.data, args.data_dir)
            except (OSError, ValueError) as exc:  # the loaders' messages name the file
                raise ValueError(f"--data-dir: {exc}") from None
        if args.out is not None:
            check_output_path(args.out, "--out", directory=True)
    if args.command == "evaluate":
        _check_evaluate(args)
    if args.command == "figures":
        from .figures import check_inputs, committed_results

        check_inputs(args.out, *committed_results(args.demo_json, args.bench_json), names=FIGURES_FLAGS)


def _check_against(args):
    """Check --against, --neuron and --order, and load --against's NAME into ``args.fire``:
    loaded once, here, so that a missing module or a wrong signature is an argument error."""
    if args.against is None:
        if args.neuron is not None or args.order is not None:
            raise ValueError("--neuron and --order go with --against MODULE:NAME")
        return
    if args.neuron is None:
        raise ValueError("--against needs --neuron parallel or --neuron if")
    if args.neuron == "if" and args.order is not None:
        raise ValueError("--order applies to --neuron parallel only")
    from ..against import load

    try:
        args.fire = load(args.against, args.neuron)
    except ValueError as exc:
        raise ValueError(f"--against: {exc}") from None


def _check_evaluate(args):
    """``refsnn evaluate``'s numbers, paths and files, before any work starts."""
    from pathlib import Path

    levels = [] if args.levels is None else [args.levels]
    for flag, values, minimum in (("--levels", levels, 1), ("--T", args.T or [], 1),
                                  ("--if-T", args.if_T, 1), ("--calibrate", [args.calibrate], 0),
                                  ("--limit", [] if args.limit is None else [args.limit], 1),
                                  ("--batch-size", [args.batch_size], 1)):
        if any(v < minimum for v in values):
            raise ValueError(f"{flag} must be integers >= {minimum}, got {' '.join(map(str, values))}")
    if args.data != "digits" and args.data_dir is None:
        raise ValueError(f"--data {args.data} reads local files: pass --data-dir DIR")
    if args.data_dir is not None and not Path(args.data_dir).is_dir():
        raise ValueError(f"--data-dir {args.data_dir} is not a folder")
    if not Path(args.checkpoint).is_file():
        raise ValueError(f"--checkpoint {args.checkpoint} is not a file")
    if args.json is not None:
        check_output_path(args.json, "--json")


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    with stdout_guard() as stdout:
        try:
            status = _run(args)
        except KeyboardInterrupt:
            print(f"refsnn {args.command}: interrupted", file=sys.stderr)
            return 130
        except OutputError as exc:
            print(f"refsnn {args.command}: error: {exc}", file=sys.stderr)
            return 1
    return 141 if stdout.reader_gone else status


def _run(args):
    """Check the arguments, then run the command; return its exit status."""
    try:
        _check_args(args)
    except (TypeError, ValueError) as exc:
        args.subparser.error(str(exc))  # prints usage and one error line, exits with status 2
    use_threads(args.threads)
    if args.command == "tour":
        from .tour import run

        run(args.theta)
    elif args.command == "demo":
        from .demo import run

        run(seed=args.seed, retrain=args.retrain, json_path=args.json, phi_update=args.phi_update)
    elif args.command == "bench":
        if args.full_size:
            from .bench.full_size import run_full_size

            run_full_size(quick=args.quick, json_path=args.json, threads=args.threads)
        else:
            from .bench import run

            run(quick=args.quick, json_path=args.json, threads=args.threads, peers=args.peers)
    elif args.command == "figures":
        from .figures import run

        run(args.out, args.demo_json, args.bench_json, fmt=args.format, style=args.style)
    elif args.command == "experiment":
        from .experiments import run

        run(args.name, args.data, args.data_dir, args.seeds, json_path=args.json, out_dir=args.out,
            retrain=args.retrain, phi_update=args.phi_update)
    elif args.command == "verify" and args.against is not None:
        from .verify import run_against

        return run_against(args.fire, args.against, args.neuron, args.order or "paper", examples=args.examples,
                           seed=args.seed, json_path=args.json)
    elif args.command == "verify":
        from .verify import run

        return run(examples=args.examples, seed=args.seed, json_path=args.json)
    elif args.command == "evaluate":
        from .evaluate import run

        try:  # a damaged checkpoint or data file, or a checkpoint of another layout, is named in one line
            run(args.checkpoint, args.arch, args.levels, args.data, args.data_dir, args.T, args.if_T, args.calibrate,
                args.limit, args.batch_size, json_path=args.json)
        except (OSError, ValueError) as exc:
            args.subparser.error(str(exc))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
