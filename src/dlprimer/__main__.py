"""``python -m dlprimer`` runs the CLI."""

import sys

from dlprimer.cli import main

sys.exit(main())
