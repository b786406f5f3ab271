"""``python -m medlab``: the same command line as the ``medlab`` script."""

import sys

from medlab.course.cli import main

sys.exit(main())
