"""Entry point of the frozen app: the same ``ecg-desktop`` command line.

``freeze_support`` lets spawned worker processes (the analyzer's pool) start from the
bundle's executable. ``-m MODULE ARGS`` runs a bundled module as ``python -m`` would: the
app starts its reference analyzer as ``<executable> -m ecg_desktop.analyzer``, and in a
bundle the executable is this program, not a Python interpreter.
"""

import multiprocessing
import runpy
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    if len(sys.argv) > 2 and sys.argv[1] == "-m":
        module = sys.argv[2]
        sys.argv = [sys.argv[0], *sys.argv[3:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        sys.exit(0)
    from ecg_desktop.cli import main

    sys.exit(main())
