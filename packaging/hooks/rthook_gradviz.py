"""PyInstaller runtime hook: runs inside the bundle before gradviz is imported.

1. The bundle ships graphviz-pure (a static, dot-compatible binary) in ``bin/``. gradviz looks for
   it by name on PATH after ``GRADVIZ_DOT`` (DESIGN.md's order), so ``bin/`` goes first on PATH: a
   user's ``GRADVIZ_DOT`` still wins, and layout works on a machine with no Graphviz at all.
2. On Linux the bootloader points LD_LIBRARY_PATH at the bundle. This process has already read it
   (the dynamic loader reads it once, at start), so give child processes the user's own value
   back: a browser or file manager that Qt starts must load the system's libraries, not ours.
"""

import os
import sys

_bin = os.path.join(sys._MEIPASS, "bin")
if os.path.isdir(_bin):
    _path = os.environ.get("PATH", "")
    # never leave an empty entry: it would put the current directory on PATH
    os.environ["PATH"] = _bin + os.pathsep + _path if _path else _bin

if sys.platform.startswith("linux"):
    _orig = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if _orig is not None:
        os.environ["LD_LIBRARY_PATH"] = _orig
    elif os.environ.get("LD_LIBRARY_PATH", "").startswith(sys._MEIPASS):
        del os.environ["LD_LIBRARY_PATH"]
