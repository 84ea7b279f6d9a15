"""The canvas never looks current while it is behind the model: from the moment the session
changes until the new picture is on screen it shows what it is waiting for, with Cancel, and it
never shows "Nothing to draw yet" while a file it will draw is still opening."""

from __future__ import annotations

import time

import pytest
from driving import idle, toolbar_click
from PySide6.QtCore import Qt, QTimer

import gradviz.gui.canvas_layout as canvas_module
from gradviz.session import fileformat
from gradviz.session.document import Session


def chain(n: int) -> Session:
    s = Session()
    s.add_leaf("x", 2.0, requires_grad=True)
    prev = "x"
    for i in range(n):
        prev = s.apply("mul", [prev, 1.01], name=f"h{i}")
    return s


@pytest.fixture
def slow_layout(monkeypatch):
    """Each layout takes half a second more, as dot does on a graph of a thousand nodes."""
    real = canvas_module.run_layout

    def slow(*args, **kwargs):
        time.sleep(0.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(canvas_module, "run_layout", slow)


class Watcher:
    """Looks at the canvas every few milliseconds, as a person glancing at it would."""

    def __init__(self, w) -> None:
        self.w, self.c = w, w.canvas
        self.seen: list[dict] = []
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self.look)
        self.timer.start()

    def look(self) -> None:
        c = self.c
        self.seen.append(
            {
                "idle": c.is_idle(),  # the picture shows the model as it is
                "working": self.w._work_job is not None,  # a worker is changing the session
                "overlay": c.busy.isVisible(),
                "text": c.busy.label.text() if c.busy.isVisible() else "",
                "cancel": c.busy.button.isVisible() and c.busy.button.isEnabled(),
                "empty_hint": c.empty_hint.isVisible(),
                "status": self.w.status_action.text(),
            }
        )

    def stop(self) -> list[dict]:
        self.timer.stop()
        return self.seen


def test_after_a_backward_the_canvas_says_it_is_updating_until_the_gradients_show(
    qtbot, window, slow_layout
) -> None:
    w = window(chain(60))
    c = w.canvas
    c.busy_after_ms = 0  # the rule without its grace period against flicker, so it can be seen
    assert "grad: None" in c.item_for("x").toolTip()
    at_change: list[tuple[bool, bool, str]] = []
    w.bridge.changed.connect(
        lambda _: at_change.append((c.is_idle(), c.busy.isVisible(), c.busy.label.text()))
    )
    watch = Watcher(w)
    toolbar_click(qtbot, w, "backward")
    idle(qtbot, w)
    seen = watch.stop()
    # At the moment the model changed the canvas was behind, and said so.
    assert at_change and all(not idle_ and shown for idle_, shown, _ in at_change)
    assert "backward" in at_change[0][2].lower()
    behind = [s for s in seen if not s["idle"]]
    assert behind and all(s["overlay"] for s in behind), [s for s in behind if not s["overlay"]][:3]
    laying = [s for s in behind if s["text"].startswith("Laying out")]
    assert laying and all(s["cancel"] for s in laying)
    nodes = len(c.node_items())
    assert {s["text"] for s in laying} == {f"Laying out {nodes:,} nodes…"}
    assert any(s["status"] == f"Laying out {nodes:,} nodes…" for s in laying)  # the status bar too
    # Caught up: the overlay is gone and the canvas shows the gradients the table shows.
    assert not c.busy.isVisible()
    assert "grad: None" not in c.item_for("x").toolTip()


def test_the_progress_counts_the_nodes_it_lays_out_not_those_on_screen(qtbot, window, slow_layout) -> None:
    w = window(chain(5))
    c = w.canvas
    before = len(c.node_items())
    watch = Watcher(w)
    cell = "\n".join(["g0 = h4 * 2"] + [f"g{i} = g{i - 1} * 2" for i in range(1, 40)])
    assert w.console.submit(cell).ok
    idle(qtbot, w)
    texts = {s["text"] for s in watch.stop() if s["text"].startswith("Laying out")}
    after = len(c.node_items())
    assert after > before + 80
    assert texts == {f"Laying out {after:,} nodes…"}


def test_cancel_on_the_overlay_stops_the_layout_and_the_canvas_says_it_is_out_of_date(
    qtbot, window, slow_layout
) -> None:
    w = window(chain(10))
    c = w.canvas
    c.busy_after_ms = 0
    assert w.console.submit("z = h9 * 3").ok
    qtbot.waitUntil(lambda: c.busy.label.text().startswith("Laying out"), timeout=5000)
    qtbot.mouseClick(c.busy.button, Qt.MouseButton.LeftButton)
    assert c.is_idle() and not c.busy.isVisible()
    assert c.notice.isVisible() and "out of date" in c.notice.label.text()
    assert c.item_for("z") is None


def test_opening_a_large_file_never_shows_the_empty_hint_while_it_loads(
    qtbot, window, slow_layout, tmp_path
) -> None:
    path = tmp_path / "chain.gradviz"
    fileformat.save(chain(120), path)
    w = window()
    c = w.canvas
    c.busy_after_ms = 0
    assert c.empty_hint.isVisible()
    watch = Watcher(w)
    assert w.open_path(path, confirmed=True)
    idle(qtbot, w)
    seen = watch.stop()
    behind = [s for s in seen if not s["idle"] or s["working"]]
    assert behind and not any(s["empty_hint"] for s in behind)
    assert all(s["overlay"] for s in behind)
    texts = [s["text"] for s in behind]
    assert any("Opening chain.gradviz" in t for t in texts)
    assert any(t.startswith("Laying out") for t in texts)
    assert not c.empty_hint.isVisible() and c.item_for("h119") is not None
