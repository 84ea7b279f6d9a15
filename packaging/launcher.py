"""The bundle's entry point: what ``gradviz`` and ``python -m gradviz`` run."""

import sys

from gradviz.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
