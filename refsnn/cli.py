"""The ``refsnn`` command line: ``refsnn tour`` (also ``python -m refsnn tour``)."""

import argparse
import sys


def build_parser():
    parser = argparse.ArgumentParser(
        prog="refsnn",
        description="Reference implementation of parallel ANN-SNN conversion (Hao et al., ICML 2025).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    tour = sub.add_parser("tour", help="print the neuron-level facts for a few concrete inputs")
    tour.add_argument("--theta", type=float, default=1.0, help="threshold theta > 0 (default 1)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "tour":
        if not args.theta > 0:
            build_parser().error(f"--theta must be > 0, got {args.theta}")
        from .tour import run

        run(args.theta)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
