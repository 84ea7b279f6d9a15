"""The Backward button: it says what it starts from, lets the learner choose, asks before a
surprising backward (gradients accumulate; a leaf's backward touches only itself), and offers to
run the forward pass again when an earlier backward freed the graph."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QCheckBox, QMenu, QMessageBox, QWidget

from gradviz.session import backward_plan
from gradviz.session.backward_plan import BackwardPreview, BackwardTarget
from gradviz.session.document import Session

from .plain import plain_box


class TargetMenu(QMenu):
    """The Backward button's menu: "Follow the latest output (y)" and each tensor to choose."""

    def __init__(
        self,
        target: BackwardTarget,
        session: Callable[[], Session | None],
        changed: Callable[[], None],
        parent: QWidget,
    ) -> None:
        super().__init__("Backward &From", parent)
        self.setObjectName("backwardTargetMenu")
        self.target = target
        self._session = session
        self._changed = changed
        self.aboutToShow.connect(self.fill)

    def fill(self) -> None:
        self.clear()
        s = self._session()
        if s is None:
            return
        group = QActionGroup(self)
        latest = backward_plan.default_target(s)
        follow = self.addAction(f"The Latest Output ({latest})" if latest else "The Latest Output (none yet)")
        follow.setObjectName("follow_output")
        follow.setCheckable(True)
        follow.setChecked(not self.target.chosen)
        follow.setToolTip("Backward starts from the last result computed, whatever is selected")
        follow.triggered.connect(lambda: self._choose(""))
        group.addAction(follow)
        self.addSeparator()
        for name in self.target.candidates(s):
            a = self.addAction(name)
            a.setObjectName(f"target_{name}")
            a.setCheckable(True)
            a.setChecked(self.target.chosen == name)
            if s.tensor(name).is_leaf:
                a.setToolTip(f"{name} is a leaf: {name}.backward() only adds 1 to {name}.grad")
            a.triggered.connect(lambda _=False, n=name: self._choose(n))
            group.addAction(a)

    def _choose(self, name: str) -> None:
        self.target.choose(name)
        self._changed()

    def action_for(self, name: str) -> QAction | None:
        """The menu entry for ``name`` ('' for following the output), after fill()."""
        key = f"target_{name}" if name else "follow_output"
        return next((a for a in self.actions() if a.objectName() == key), None)


def ask_before_backward(
    parent: QWidget, session: Session, plan: BackwardPreview, answer: Callable[[str, bool], None]
) -> QMessageBox:
    """Say what ``plan`` will do and ask; ``answer(choice, dont_ask_again)`` gets 'accumulate',
    'zero_first' or 'cancel'. Window-modal, so the app keeps running."""
    t = plan.target
    box = plain_box(QMessageBox(parent))
    box.setObjectName("backwardQuestion")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(f"Backward from {t}")
    box.setText(
        f"{t}.backward() will add to gradients that already hold values"
        if plan.accumulates
        else f"{t}.backward() on a leaf"
    )
    box.setInformativeText(plan.explanation(session))
    go = box.addButton(
        "Backward (Accumulate)" if plan.accumulates else "Backward", QMessageBox.ButtonRole.AcceptRole
    )
    go.setObjectName("accumulate")
    zero = None
    if plan.accumulates:
        zero = box.addButton("Zero Grads, Then Backward", QMessageBox.ButtonRole.ActionRole)
        zero.setObjectName("zero_first")
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    cancel.setObjectName("cancel")
    box.setDefaultButton(zero or go)
    again = QCheckBox("Don't ask again in this window")
    again.setObjectName("dont_ask")
    box.setCheckBox(again)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def clicked(button: object) -> None:
        choice = "accumulate" if button is go else "zero_first" if button is zero else "cancel"
        answer(choice, again.isChecked() and choice != "cancel")

    box.buttonClicked.connect(clicked)
    box.open()
    return box


def offer_rerun(parent: QWidget, target: str, message: str, answer: Callable[[str], None]) -> QMessageBox:
    """PyTorch's words for a freed graph, what they mean, and Re-run Forward beside them;
    ``answer`` gets 'rerun', 'rerun_backward' or 'close'."""
    box = plain_box(QMessageBox(parent))
    box.setObjectName("freedGraph")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Backward")
    box.setText(message)
    box.setInformativeText(
        f"In other words: backward() already ran through this graph and freed what it saved. "
        f"Re-run Forward computes {target} again from its leaves, as running its cells again would, "
        "so that backward has a fresh graph. (Or tick retain graph in Backward with Options… the "
        "first time, to keep the graph.)"
    )
    rerun = box.addButton("Re-run Forward", QMessageBox.ButtonRole.ActionRole)
    rerun.setObjectName("rerun")
    both = box.addButton("Re-run Forward, Then Backward", QMessageBox.ButtonRole.AcceptRole)
    both.setObjectName("rerun_backward")
    close = box.addButton(QMessageBox.StandardButton.Close)
    close.setObjectName("close")
    box.setDefaultButton(both)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.buttonClicked.connect(
        lambda b: answer("rerun" if b is rerun else "rerun_backward" if b is both else "close")
    )
    box.open()
    return box
