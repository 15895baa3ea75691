"""python3 -m parbench_tools: the same command line as parbench-tools."""

import signal
import sys

_interrupted = []


def _note_interrupt(_signum, _frame) -> None:
    _interrupted.append(True)


if __name__ == "__main__":
    # Ctrl-C while the modules load is noted, not raised: a KeyboardInterrupt inside a compiled
    # module's initialisation is printed by Python as an ignored exception with its traceback.
    signal.signal(signal.SIGINT, _note_interrupt)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # held by parbench-tools
    from .cli import main
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        if _interrupted:
            raise KeyboardInterrupt
        sys.exit(main())
    except KeyboardInterrupt:  # main catches it while a command runs; this, around it
        print("parbench-tools: interrupted", file=sys.stderr)
        sys.exit(130)
