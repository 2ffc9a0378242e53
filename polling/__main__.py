"""`python -m polling`: the same as the `polling` command."""

import sys

from ._cli import main

sys.exit(main())
