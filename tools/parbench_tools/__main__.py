"""python3 -m parbench_tools: the same command line as parbench-tools."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
