"""The canvas is split into mixins (input, selection, viewport, colours); each of their names
must reach GraphCanvas, even where Qt has the same name (QWidget.find, the event handlers)."""

from __future__ import annotations

from gradviz.gui.canvas import GraphCanvas
from gradviz.gui.canvas_colours import CanvasColours
from gradviz.gui.canvas_input import CanvasInput
from gradviz.gui.canvas_selection import CanvasSelection
from gradviz.gui.canvas_viewport import CanvasViewport


def test_every_mixin_name_reaches_the_canvas() -> None:
    for mixin in (CanvasInput, CanvasSelection, CanvasViewport, CanvasColours):
        for name, value in vars(mixin).items():
            if (not name.startswith("__") and callable(value)) or isinstance(value, property):
                assert getattr(GraphCanvas, name) is value, f"{mixin.__name__}.{name} is shadowed"
