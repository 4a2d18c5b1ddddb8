"""``python -m classifier`` is the ``smtp-classifier`` command."""

import sys

from .cli import main

sys.exit(main())
