"""Help: a tour of the seed notebook's steps, the keyboard shortcuts, and About."""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable

from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

#: (what it shows, code typed in the console) for each step of the seed's y = w*x + b.
TOUR: tuple[tuple[str, str], ...] = (
    (
        "<b>Tensors hold numbers.</b> Make a scalar: it appears as a node (and in the Tensors list). "
        "Grey and hatched means no gradient will ever flow to it.",
        "x = torch.tensor(3.)",
    ),
    (
        "<b>Ask autograd to track.</b> With <code>requires_grad=True</code>, every operation on w and b "
        "is recorded. Their nodes are white: no gradient yet.",
        "w = torch.tensor(4., requires_grad=True)\nb = torch.tensor(5., requires_grad=True)",
    ),
    (
        "<b>Compute.</b> Each operation adds an op node (<i>mul</i>, <i>add</i>) between its inputs and "
        "its result: this is the dynamic computation graph.",
        "y = w*x + b\ny",
    ),
    (
        "<b>Backward.</b> <code>y.backward()</code> computes ∂y/∂w and ∂y/∂b and puts them in "
        "<code>.grad</code>. The nodes light up: the colour shows the size of each gradient.",
        "y.backward()",
    ),
    (
        "<b>Read the gradients.</b> ∂y/∂w = x = 3 and ∂y/∂b = 1; x needs no gradient, so its .grad is None. "
        "Click w in the graph: the inspector shows the same.",
        "w.grad, b.grad, x.grad",
    ),
    (
        "<b>PyTorch's own graph.</b> Switch to the Autograd view (Ctrl+2): <i>AddBackward0</i>, "
        "<i>MulBackward0</i> and <i>AccumulateGrad</i>, as <code>y.grad_fn.next_functions</code> says. "
        "Double-click a node to see its local derivative.",
        "y.grad_fn, y.grad_fn.next_functions",
    ),
    (
        "<b>Gradients add up.</b> A second backward() needs <code>retain_graph=True</code> on the first; "
        "otherwise PyTorch refuses, and so does gradviz. Try it, then use Zero grads.",
        "y.backward()",
    ),
)


class TourDialog(QDialog):
    """A short, hands-on tour: each step explains and can type its code in the console."""

    def __init__(self, run: Callable[[str], object] | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Tour: y = w*x + b, step by step")
        self.setObjectName("TourDialog")
        self.run = run
        self.resize(620, 560)
        lay = QVBoxLayout(self)
        intro = QLabel(
            "This tour follows the PyTorch basics notebook. Press <b>Run</b> on each step in order: "
            "its code goes to the console, as if typed, and the graph follows."
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        body = QWidget()
        grid = QGridLayout(body)
        grid.setColumnStretch(1, 1)
        grid.setVerticalSpacing(12)
        self.buttons: list[QPushButton] = []
        for i, (text, code) in enumerate(TOUR):
            num = QLabel(f"<b>{i + 1}</b>")
            num.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignRight)
            label = QLabel(f"{text}<br><code style='white-space:pre'>{_html(code)}</code>")
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            button = QPushButton("Run")
            button.setEnabled(run is not None)
            button.setToolTip("Type this step's code in the console and run it")
            button.clicked.connect(lambda _=False, c=code, b=button: self._run(c, b))
            self.buttons.append(button)
            grid.addWidget(num, i, 0)
            grid.addWidget(label, i, 1)
            grid.addWidget(button, i, 2, Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        lay.addWidget(scroll, 1)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        box.rejected.connect(self.reject)
        lay.addWidget(box)

    def _run(self, code: str, button: QPushButton) -> None:
        if self.run is not None:
            self.run(code)
            button.setText("Run again")


class ShortcutsDialog(QDialog):
    def __init__(self, actions: Iterable[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setObjectName("ShortcutsDialog")
        rows = [
            (
                str(a.property("base_text") or a.text()).replace("&", "").rstrip("…").strip(),
                a.shortcut().toString(a.shortcut().SequenceFormat.NativeText),
            )
            for a in actions
            if not a.shortcut().isEmpty()
        ]
        rows += [
            ("Zoom", "mouse wheel or pinch"),
            ("Pan", "drag the canvas"),
            ("Explain an operation", "double-click its node"),
            ("Fit the graph", "double-click the background"),
            ("Clear the selection", "Esc"),
            ("Cancel a long open, undo or edit", "Esc, or Cancel in the status bar"),
            ("Console history", "Up / Down"),
            ("Complete a name", "Tab"),
        ]
        table = QTableWidget(len(rows), 2, self)
        table.setHorizontalHeaderLabels(["Action", "Shortcut"])
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        for r, (what, keys) in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(what))
            table.setItem(r, 1, QTableWidgetItem(keys))
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table = table
        lay = QVBoxLayout(self)
        lay.addWidget(table)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        box.rejected.connect(self.reject)
        lay.addWidget(box)
        self.resize(460, 520)


def versions() -> dict[str, str]:
    import numpy
    import PySide6

    import gradviz

    return {
        "gradviz": gradviz.__version__,
        "Python": platform.python_version(),
        "Qt": qVersion(),
        "PySide6": PySide6.__version__,
        "numpy": numpy.__version__,
    }


def about_html() -> str:
    v = versions()
    rows = "".join(f"<tr><td>{k}</td><td>&nbsp;{val}</td></tr>" for k, val in v.items())
    return (
        "<h3>gradviz</h3><p>See autograd at work: build tensors, combine them, call backward(), "
        "and watch the computation graph colour itself by gradient.</p>"
        f"<table>{rows}</table>"
        "<p>The engine is gradviz's own, on numpy, with PyTorch's names, semantics and messages.</p>"
    )


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
