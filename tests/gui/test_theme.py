"""View > Theme and Presentation Mode, chosen as a person would, read back as a person sees them:
palettes, pixels of the canvas, the legend and the panels, font sizes, nothing clipped."""

from __future__ import annotations

import pytest
from driving import idle
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from gradviz.gui.theme import PRESENTATION_SCALE, theme


@pytest.fixture(autouse=True)
def _back_to_system():
    """The theme belongs to the application: leave it as the next test expects it."""
    yield
    theme().set("system", False)


def menu_action(w, *path: str):
    """The action a person reaches through the menu bar by these (ampersand-free) titles."""
    actions = w.menuBar().actions()
    for i, title in enumerate(path):
        found = next(a for a in actions if a.text().replace("&", "") == title)
        if i == len(path) - 1:
            return found
        actions = found.menu().actions()
    raise AssertionError(path)


def pixel(widget, x: int, y: int) -> QColor:
    return widget.grab().toImage().pixelColor(x, y)


def canvas_background(w) -> QColor:
    """The canvas's colour where no node, legend or minimap is: its left edge, half way down."""
    vp = w.canvas.viewport()
    return pixel(vp, 3, vp.height() // 2)


def test_dark_then_light_from_the_view_menu_every_element_follows(window, qtbot):
    w = window()
    w.open_example("linear")
    idle(qtbot, w)
    menu_action(w, "View", "Theme", "Dark").trigger()
    qtbot.waitUntil(lambda: w.palette().color(QPalette.ColorRole.Window).lightness() < 80)

    assert canvas_background(w).lightness() < 60
    legend = w.canvas.legend_overlay
    assert legend.isVisible()
    assert pixel(legend, legend.width() // 2, 6).lightness() < 90  # the card, not a white box
    assert w.panel.table.palette().color(QPalette.ColorRole.Base).lightness() < 60
    assert pixel(w.panel.table.viewport(), w.panel.table.viewport().width() - 3, 3).lightness() < 80
    console = w.console.view.viewport()
    assert pixel(console, console.width() - 4, console.height() - 4).lightness() < 60
    value = w.inspector.value_view.viewport()
    assert pixel(value, value.width() - 3, value.height() // 2).lightness() < 60
    assert w.canvas.minimap.palette().color(QPalette.ColorRole.Window).lightness() < 80
    assert QColor(w.canvas.background).lightness() < 60  # what the minimap paints behind its nodes
    # The window text, the menus and the status bar are light on dark.
    assert w.menuBar().palette().color(QPalette.ColorRole.WindowText).lightness() > 180
    assert w.status_action.palette().color(QPalette.ColorRole.WindowText).lightness() > 180
    assert w.actions["theme_dark"].isChecked()
    assert w.settings.value("view/theme") == "dark"

    menu_action(w, "View", "Theme", "Light").trigger()
    qtbot.waitUntil(lambda: w.palette().color(QPalette.ColorRole.Window).lightness() > 200)
    assert canvas_background(w).lightness() > 240
    assert pixel(legend, legend.width() // 2, 6).lightness() > 240
    assert pixel(console, console.width() - 4, console.height() - 4).lightness() > 240
    assert w.settings.value("view/theme") == "light"


def test_the_theme_is_remembered_for_the_next_window(window, qtbot):
    w = window()
    menu_action(w, "View", "Theme", "Dark").trigger()
    w.close()
    theme().set("system", False)  # as a fresh start would have it
    w2 = window()
    assert w2.actions["theme_dark"].isChecked()
    assert w2.palette().color(QPalette.ColorRole.Window).lightness() < 80
    assert canvas_background(w2).lightness() < 60


def test_system_follows_the_os_colour_scheme_as_it_changes(window, qtbot):
    w = window()
    menu_action(w, "View", "Theme", "System").trigger()
    assert w.actions["theme_system"].isChecked()
    hints = QGuiApplication.styleHints()
    before = hints.colorScheme()
    try:
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)  # what the OS announces
        qtbot.waitUntil(lambda: w.palette().color(QPalette.ColorRole.Window).lightness() < 80)
        assert canvas_background(w).lightness() < 60
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
        qtbot.waitUntil(lambda: w.palette().color(QPalette.ColorRole.Window).lightness() > 200)
        assert canvas_background(w).lightness() > 200
        # A chosen theme is not overridden by the OS.
        menu_action(w, "View", "Theme", "Dark").trigger()
        qtbot.waitUntil(lambda: w.palette().color(QPalette.ColorRole.Window).lightness() < 80)
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
        qtbot.wait(50)
        assert w.palette().color(QPalette.ColorRole.Window).lightness() < 80
    finally:
        hints.colorSchemeChanged.emit(before)


def no_text_clipped(w) -> None:
    """What a person would see cut off: a scroll bar in the Value box, a toolbar item past the
    window's edge, a status line or dock title shorter than its text."""
    v = w.inspector.value_view
    assert not v.verticalScrollBar().isVisible(), "the Value box cuts its text"
    tb = w.toolbar
    for a in tb.actions():
        b = tb.widgetForAction(a)
        if b is not None and not a.isSeparator():
            assert b.isVisible() and b.geometry().right() <= tb.width(), a.text() or b.objectName()
    assert w.status_action.height() >= w.status_action.fontMetrics().height()
    for dock in (w.tensors_dock, w.inspector_dock, w.console_dock):
        title = dock.widget().geometry().top()  # the title bar is what is above the content
        assert title >= dock.fontMetrics().height(), dock.windowTitle()
    ih = w.console.input
    assert ih.height() >= ih.fontMetrics().lineSpacing() + 2 * ih.frameWidth()


def test_presentation_mode_scales_text_everywhere_and_strengthens_the_canvas(window, qtbot):
    w = window()
    w.open_example("broadcasting")
    idle(qtbot, w)
    menu_action(w, "View", "Theme", "Light").trigger()
    base = QApplication.font().pointSizeF()
    console_pt = w.console.input.font().pointSizeF()
    value_pt = w.inspector.value_view.font().pointSizeF()
    row_h = w.panel.table.verticalHeader().defaultSectionSize()
    legend_w = w.canvas.legend_overlay.width()
    dock_pt = w.tensors_dock.font().pointSizeF()

    w.canvas.setFocus()
    qtbot.keyClick(w, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: w.actions["presentation"].isChecked())
    qtbot.wait(50)  # the docks and the graph settle into their new sizes

    k = PRESENTATION_SCALE
    assert QApplication.font().pointSizeF() == pytest.approx(base * k)
    assert w.menuBar().font().pointSizeF() == pytest.approx(base * k)
    assert w.console.input.font().pointSizeF() == pytest.approx(console_pt * k)
    assert w.console.view.font().pointSizeF() == pytest.approx(console_pt * k)
    assert w.inspector.value_view.font().pointSizeF() == pytest.approx(value_pt * k)
    assert w.inspector.grad_note.font().pointSizeF() == pytest.approx(base * k)  # under a style sheet
    assert w.tensors_dock.font().pointSizeF() == pytest.approx(dock_pt * k)
    assert w.panel.table.verticalHeader().defaultSectionSize() > row_h * 1.3
    # High contrast: a pure white page without the dot grid, lines drawn heavier.
    vp = w.canvas.viewport()
    img = vp.grab().toImage()
    column = {img.pixelColor(3, y).name() for y in range(0, vp.height(), 3)}
    assert column == {"#ffffff"}
    assert w.canvas.line_scale > 1.5
    # At 1280 px the tensors dock takes at most 40% of the window: a column that does not fit
    # is reached by scrolling, never cut off.
    t = w.panel.table
    hh = t.horizontalHeader()
    last = hh.count() - 1
    right = hh.sectionViewportPosition(last) + hh.sectionSize(last) + t.horizontalScrollBar().value()
    bar = t.horizontalScrollBar()
    assert right <= t.viewport().width() or (
        bar.isVisible() and bar.maximum() >= right - t.viewport().width()
    )
    no_text_clipped(w)
    # On a 1920 x 1080 projector every column of the tensors table shows whole.
    w.resize(1920, 1080)
    w.actions["presentation"].trigger()
    w.actions["presentation"].trigger()  # presentation mode sizes the docks for the new window
    qtbot.wait(50)
    assert w.actions["presentation"].isChecked()
    right = hh.sectionViewportPosition(last) + hh.sectionSize(last)
    assert right <= t.viewport().width()
    assert not bar.isVisible()
    assert w.canvas.legend_overlay.width() > legend_w * 1.2  # room for the large legend
    no_text_clipped(w)

    menu_action(w, "View", "Theme", "Dark").trigger()  # combines with the dark theme
    qtbot.waitUntil(lambda: w.palette().color(QPalette.ColorRole.Window).lightness() < 80)
    img = vp.grab().toImage()
    assert {img.pixelColor(3, y).name() for y in range(0, vp.height(), 3)} == {"#000000"}
    assert QApplication.font().pointSizeF() == pytest.approx(base * k)
    no_text_clipped(w)
    assert w.settings.value("view/presentation") == "true"

    menu_action(w, "View", "Presentation Mode").trigger()  # and off again
    assert not w.actions["presentation"].isChecked()
    assert QApplication.font().pointSizeF() == pytest.approx(base)
    assert w.console.input.font().pointSizeF() == pytest.approx(console_pt)
    assert w.inspector.value_view.font().pointSizeF() == pytest.approx(value_pt)
    assert w.canvas.line_scale == 1.0
    assert w.settings.value("view/presentation") == "false"


def test_dialogs_and_the_explanation_follow_the_theme(window, qtbot):
    w = window()
    w.open_example("linear")
    idle(qtbot, w)
    menu_action(w, "View", "Theme", "Dark").trigger()
    menu_action(w, "View", "Presentation Mode").trigger()
    d = w.new_tensor()
    qtbot.waitUntil(d.isVisible)
    assert d.palette().color(QPalette.ColorRole.Window).lightness() < 80
    assert d.name_edit.font().pointSizeF() > 9 * 1.4  # its monospace fields are large too
    assert pixel(d, d.width() // 2, d.height() - 3).lightness() < 80
    d.reject()
    add = next(i for i in w.canvas.node_items().values() if i.kind == "op")
    w.canvas.show_explanation(add.nid)
    bubble = w.canvas.explanation
    qtbot.waitUntil(bubble.isVisible)
    assert pixel(bubble, bubble.width() // 2, bubble.height() - 4).lightness() < 80
    assert bubble.label.font().pointSizeF() == pytest.approx(QApplication.font().pointSizeF())
    assert bubble.label.sizeHint().height() <= bubble.label.height() + 1


def test_presentation_mode_in_a_small_window_keeps_the_legend_off_the_graph(window, qtbot):
    """At 1280 px with every dock open, the larger legend would sit on the broadcasting graph:
    it is drawn smaller instead, and the graph is fitted clear of it, still legible."""
    from test_canvas_viewport import covered

    from gradviz.gui.canvas import LEGIBLE_ZOOM

    w = window()
    w.open_example("broadcasting")
    idle(qtbot, w)
    normal_legend = w.canvas.legend_overlay.width()
    menu_action(w, "View", "Theme", "Dark").trigger()
    menu_action(w, "View", "Presentation Mode").trigger()
    qtbot.wait(50)
    idle(qtbot, w)
    c = w.canvas
    assert c.legend_overlay.isVisible()
    assert c.legend_overlay.width() <= c.viewport().width() * 0.45 + 1
    assert c.legend_overlay.width() >= normal_legend * 0.75 - 1  # smaller, not shrunk away
    assert c.zoom >= LEGIBLE_ZOOM
    assert covered(c) == []
    w.resize(1920, 1080)  # room again: the legend takes its large size
    qtbot.waitUntil(lambda: c.legend_overlay.width() > normal_legend * 1.2)
