"""`python -m wildrydes` is the same as the `wildrydes` command."""

import sys

from wildrydes.cli import main

sys.exit(main())
