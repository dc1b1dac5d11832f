"""The ``refsnn`` command line (also ``python -m refsnn``).

``refsnn demo``   the conversion experiments on the embedded digits (the main job)
``refsnn bench``  kernel bandwidth and parallel against sequential inference
``refsnn figures`` regenerate every figure in ``figures/``
``refsnn tour``   the neuron-level facts for a few concrete inputs
"""

import argparse
import sys


def build_parser():
    parser = argparse.ArgumentParser(
        prog="refsnn",
        description="Reference implementation of parallel ANN-SNN conversion (Hao et al., ICML 2025).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="train, convert and compare SNNs on the embedded digits")
    demo.add_argument("--seed", type=int, default=0, help="seed of the data split and training (default 0)")
    demo.add_argument("--retrain", action="store_true", help="train again even if cached weights exist")
    demo.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    demo.add_argument("--phi-update", choices=("ema_residual", "accumulate"), default="ema_residual",
                      help="DA-QCFS phi update rule (default: ema_residual, as in the authors' code)")

    bench = sub.add_parser("bench", help="measure kernel bandwidth and parallel vs sequential inference")
    bench.add_argument("--quick", action="store_true", help="a small version (under 30 s)")
    bench.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")

    figures = sub.add_parser("figures", help="regenerate every figure as PNG")
    figures.add_argument("--out", default="figures", metavar="DIR", help="output directory (default: figures)")
    figures.add_argument("--demo-json", metavar="PATH", help="results of 'refsnn demo --json' for the network figures")
    figures.add_argument("--bench-json", metavar="PATH", help="results of 'refsnn bench --json' for the speed-up figure")

    tour = sub.add_parser("tour", help="print the neuron-level facts for a few concrete inputs")
    tour.add_argument("--theta", type=float, default=1.0, help="threshold theta > 0 (default 1)")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "tour":
        if not args.theta > 0:
            parser.error(f"--theta must be > 0, got {args.theta}")
        from .tour import run

        run(args.theta)
    elif args.command == "demo":
        from .demo import run

        run(seed=args.seed, retrain=args.retrain, json_path=args.json, phi_update=args.phi_update)
    elif args.command == "bench":
        from .bench import run

        run(quick=args.quick, json_path=args.json)
    elif args.command == "figures":
        from .figures import run

        run(args.out, args.demo_json, args.bench_json)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
