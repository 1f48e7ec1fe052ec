"""``python -m sim``: the same as the ``antimag`` command."""

import sys

from sim.cli import main

sys.exit(main())
