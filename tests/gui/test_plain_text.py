"""Text from a file or a tensor is shown as text: markup in a leaf's source, a typed name or a
file name appears literally in every label, tooltip, message and title, and loads nothing."""

from __future__ import annotations

import pytest
from driving import idle, message_text
from PySide6 import QtGui
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QLabel, QMessageBox

from gradviz.gui.plain import plain_tip
from gradviz.session import fileformat as ff
from gradviz.session.document import Session

PAYLOADS = [
    '<img src="file:///etc/passwd"><b>x</b>',
    "<b>bold</b> and <i>it</i>",
    '<a href="https://example.com">click</a>',
    "<h1>big</h1><table><tr><td>cell</td></tr></table>",
    "<qt>whole</qt>",
    "a &amp; b &lt;c&gt;",
    "<p style='color:red'>red</p>",
    "<!-- hidden -->shown",
]


def seen(text: str, fmt: Qt.TextFormat = Qt.TextFormat.AutoText) -> str:
    """What Qt draws for ``text`` in a label of format ``fmt`` (or a tooltip: AutoText)."""
    rich = fmt == Qt.TextFormat.RichText or (fmt == Qt.TextFormat.AutoText and QtGui.Qt.mightBeRichText(text))
    if not rich:
        return text
    doc = QTextDocument()
    doc.setHtml(text)
    return doc.toPlainText().replace("\u2029", "\n").replace("\xa0", " ")


def label_seen(label: QLabel) -> str:
    return seen(label.text(), label.textFormat())


def visible_labels(root) -> list[QLabel]:
    return [lab for lab in root.findChildren(QLabel) if lab.isVisible() and lab.text()]


def assert_no_label_renders(root, payload: str) -> None:
    """Every visible label that holds the payload shows it as written."""
    for lab in visible_labels(root):
        if payload in lab.text() or payload in label_seen(lab):
            assert payload in label_seen(lab), (lab.objectName(), lab.text())


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_plain_tip_shows_exactly_its_text(qtbot, payload: str) -> None:
    for text in (payload, f"first line\n{payload}\n  indented"):
        assert seen(plain_tip(text)) == text


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_leaf_source_from_a_file_shows_its_markup(qtbot, window, tmp_path, payload: str) -> None:
    s = Session()
    s.add_leaf("x", [1.0, -2.0], requires_grad=True, source=payload)
    s.apply("mul", ["x", "x"], name="y")
    s.apply("sum", ["y"], name="L")
    s.backward("L")
    path = tmp_path / "stranger.gradviz"
    ff.save(s, path)
    w = window()
    assert w.open_path(path, confirmed=True)
    idle(qtbot, w)
    # select x as a person does: a click on its row in the Tensors list
    row = w.panel.model.row_of("x")
    table = w.panel.table
    rect = table.visualRect(w.panel.model.index(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert w.inspector.name == "x"
    made = w.inspector.fields["made by"]
    assert made.isVisible() and made.textFormat() == Qt.TextFormat.PlainText
    assert label_seen(made) == payload
    assert_no_label_renders(w, payload)
    # every label in the inspector is plain text but the note that escapes a name by design
    for lab in visible_labels(w.inspector):
        assert lab.textFormat() == Qt.TextFormat.PlainText or lab is w.inspector.grad_note
    # tooltips read back as the text they were given: the panel's and the canvas node's
    tip = w.panel.model.data(w.panel.model.index(row, 0), Qt.ItemDataRole.ToolTipRole)
    assert seen(tip) == "x: [2], gradviz.float32\nrequires_grad=True, is_leaf=True\ngrad: [2.0, -4.0]"
    node = w.canvas.item_for("x")
    assert node is not None  # lines and runs of spaces kept, as the graph layer wrote them
    assert seen(node.toolTip()) == (
        "x  (leaf, requires_grad=True)\nshape: [2]   dtype: gradviz.float32\nvalue: [1.0, -2.0]\ngrad: [2.0, -4.0]"
    )
    # the same for the computed tensor, whose expression quotes names
    w.select("y", source="panel")
    assert label_seen(w.inspector.fields["made by"]) == "x * x"


@pytest.mark.parametrize("payload", PAYLOADS[:4])
def test_a_typed_search_is_quoted_literally_in_the_status_bar(qtbot, window, payload: str) -> None:
    w = window()
    w.find_box.setFocus()
    qtbot.keyClicks(w.find_box, payload)
    qtbot.keyClick(w.find_box, Qt.Key.Key_Return)
    status = w.status_action
    assert status.textFormat() == Qt.TextFormat.PlainText
    assert payload.strip() in label_seen(status)
    assert payload.strip() in seen(status.toolTip())


@pytest.mark.parametrize("stem", ["<b>bold", "<img src=x>", "a &amp; b", "<i>it"])
def test_file_names_with_markup_in_messages_and_titles(qtbot, window, tmp_path, stem: str) -> None:
    w = window()
    bad = tmp_path / f"{stem}.gradviz"
    bad.write_bytes(b"not a zip <b>at all</b>")
    assert not w.open_path(bad, confirmed=True)
    box = w.last_message_box
    assert isinstance(box, QMessageBox) and box.textFormat() == Qt.TextFormat.PlainText
    shown = [label_seen(lab) for lab in box.findChildren(QLabel) if lab.text()]
    assert any(f"{stem}.gradviz could not be" in t for t in shown), shown
    assert message_text(w).startswith(f"{stem}.gradviz")
    assert f"{stem}.gradviz" in label_seen(w.status_action)
    good = tmp_path / f"{stem} ok.gradviz"
    s = Session()
    s.add_leaf("x", 1.0)
    ff.save(s, good)
    assert w.open_path(good, confirmed=True)
    idle(qtbot, w)
    assert f"{stem} ok" in w.windowTitle()
    assert label_seen(w.status_action) == f"Opened {stem} ok.gradviz"
    assert_no_label_renders(w, stem)


@pytest.mark.parametrize("name", ["<b>work.gradviz", "<img src=x>.gradviz", "<qt>a &amp; b.gradviz"])
def test_a_restore_question_quotes_the_document_name_literally(qtbot, window, monkeypatch, name) -> None:
    """The document's name comes from the recovery file's metadata."""
    w = window()
    seen_boxes: list[QMessageBox] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: seen_boxes.append(box) or 0)
    w.ask_restore("12:00", f"/home/me/{name}")
    (box,) = seen_boxes
    informative = box.findChild(QLabel, "qt_msgbox_informativelabel")
    assert informative.textFormat() == Qt.TextFormat.PlainText
    assert f"(working on {name})" in label_seen(informative)
