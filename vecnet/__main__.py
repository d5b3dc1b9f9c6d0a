"""``python -m vecnet ...`` runs the ``vecnet`` command."""

import sys

from .cli import main

sys.exit(main())
