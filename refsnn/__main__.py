"""``python -m refsnn``: the same command line as ``refsnn``."""

import sys

from .programs.cli import main

if __name__ == "__main__":
    sys.exit(main())
