"""``python -m samstream.cli``: the same as the ``samstream`` command."""

import sys

from . import main

sys.exit(main())
