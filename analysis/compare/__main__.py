"""``python -m analysis.compare ...`` runs ``antimag compare ...``."""

import sys

from sim.cli import main

sys.exit(main(["compare", *sys.argv[1:]]))
