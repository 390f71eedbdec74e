"""`python -m verdeelmodel ...`: the same command line as `verdeelmodel ...`."""

import sys

from verdeelmodel.cli import main

sys.exit(main())
