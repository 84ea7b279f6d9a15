"""gradviz.gui: the PySide6 desktop app; the only layer that imports Qt."""

from . import _none_guard  # noqa: F401 - first: PySide6 6.12.0 on Python 3.11 needs it
