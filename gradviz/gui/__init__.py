"""gradviz.gui: the PySide6 desktop app; the only layer that imports Qt."""
