"""The toolbar fits a 1280-pixel window whole, Find box included, even when Backward names a
long target: nothing drops into the overflow menu where a newcomer would not look."""

from __future__ import annotations

from driving import idle, type_in_console


def test_every_toolbar_control_shows_at_1280_pixels(window, qtbot):
    w = window()
    for line in ("w = torch.tensor(4., requires_grad=True)", "cross_entropy_loss = w * 2"):
        type_in_console(qtbot, w, line)
    idle(qtbot, w)
    assert w.actions["backward"].iconText() == "Backward from cross_entropy…"  # shortened on the button
    assert "cross_entropy_loss.backward()" in w.actions["backward"].toolTip()  # whole in its tip
    qtbot.wait(10)
    tb = w.toolbar
    shown = 0
    for a in tb.actions():
        b = tb.widgetForAction(a)
        if b is not None and not a.isSeparator():
            assert b.isVisible() and b.geometry().right() <= tb.width(), a.text() or b.objectName()
            shown += 1
    assert shown >= 13 and w.find_box.isVisible()
