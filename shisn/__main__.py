"""`python -m shisn`: the command line (shisn.cli)."""

import sys

from shisn.cli import main

if __name__ == "__main__":
    sys.exit(main())
