"""python3 -m parbench_tools: the same command line as parbench-tools."""

import sys

if __name__ == "__main__":
    try:
        from .cli import main
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C while the modules load (main catches it after)
        print("parbench-tools: interrupted", file=sys.stderr)
        sys.exit(130)
