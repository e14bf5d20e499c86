"""Entry point of the frozen app: the same ``ecg-desktop`` command line.

``freeze_support`` lets the analyzer's spawned worker processes start from the bundle's
executable (multiprocessing re-runs it with special arguments)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from ecg_desktop.cli import main

    sys.exit(main())
