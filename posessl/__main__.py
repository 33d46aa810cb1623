"""``python -m posessl <command> ...``: the same as the ``posessl`` command
(see :mod:`posessl.launcher`)."""
import sys

from posessl.launcher import main

sys.exit(main())
