"""Text from a session or a tensor is shown as text, never as HTML.

Qt guesses: a QLabel in its default AutoText format, a tooltip and a QMessageBox render any
text that looks like HTML (``Qt::mightBeRichText``), so a leaf's source from a stranger's file
could show markup or load a local image. Labels that show such text are PlainText; tooltips,
which have no format switch, get the text escaped inside a tag that makes Qt treat it as HTML.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget

PLAIN = Qt.TextFormat.PlainText


def plain_tip(text: str) -> str:
    """``text`` as a tooltip that Qt shows literally: escaped, inside a tag so that Qt reads it as
    HTML (left bare, escaped text that doesn't look like HTML would show its ``&lt;``)."""
    if not text:
        return ""
    return f"<p style='white-space:pre-wrap'>{html.escape(text, quote=False)}</p>"


def escape(text: str) -> str:
    """For the few widgets that are rich text by design (notes with emphasis, the console)."""
    return html.escape(text, quote=False)


def plain_labels(root: QWidget, *rich: QLabel) -> None:
    """Make every label under ``root`` plain text, except the ``rich`` ones (which escape)."""
    for label in root.findChildren(QLabel):
        if label not in rich:
            label.setTextFormat(PLAIN)


def plain_box(box: QMessageBox) -> QMessageBox:
    """A message box whose text and informative text are plain (they quote names and files)."""
    box.setTextFormat(PLAIN)
    for label in box.findChildren(QLabel):
        label.setTextFormat(PLAIN)
    return box


def tip_text(tip: str) -> str:
    """What a person reads in a tooltip: rendered as Qt renders it (tests read it back this way)."""
    from PySide6.QtGui import Qt as QtGuiNamespace  # mightBeRichText lives in QtGui
    from PySide6.QtGui import QTextDocument

    if not QtGuiNamespace.mightBeRichText(tip):
        return tip
    doc = QTextDocument()
    doc.setHtml(tip)
    return doc.toPlainText().replace("\u2029", "\n").replace("\xa0", " ")
