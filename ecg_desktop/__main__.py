import sys

from ecg_desktop.cli import main

sys.exit(main())
