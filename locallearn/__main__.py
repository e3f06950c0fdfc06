"""``python -m locallearn``: see :mod:`locallearn.cli`."""

import sys

from locallearn.cli import main

sys.exit(main())
