"""The Tensor and Edit menus' commands: new tensors and operations (through their dialogs),
backward (asking first when gradients would accumulate, offering to run forward again when
the graph was freed), zero grads, delete, rename, undo and redo. Each goes through the session
(one undoable step) and is written to the console as the code that does the same."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer

from ..session import backward_plan, train_code
from ..session.document import SessionError
from .backward_control import ask_before_backward, offer_rerun
from .dialogs.backward import FREED_HINT

if TYPE_CHECKING:
    from .main_window import MainWindow


class TensorCommands:
    """The commands for one window; dialogs open as its children."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.unasked = False  # the learner said: don't ask before accumulating again

    def open_dialog(self, dialog: Any) -> Any:
        w = self.window
        w.active_dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def done(result: int) -> None:
            if result and w.console is not None and getattr(dialog, "code", ""):
                w.console.log_action(dialog.code)
            if w.active_dialog is dialog:
                w.active_dialog = None

        dialog.finished.connect(done)
        dialog.open()
        return dialog

    def new_tensor(self) -> Any:
        w = self.window
        from .dialogs.new_tensor import NewTensorDialog

        return self.open_dialog(NewTensorDialog(w.session, w))

    def new_operation(self) -> Any:
        w = self.window
        from .dialogs.operation import OperationDialog

        sel = w.current if w.current and not w.current.startswith("_") else None
        return self.open_dialog(OperationDialog(w.session, w, selected=sel))

    def target_or_explain(self) -> str | None:
        w = self.window
        target = w.backward_target()
        if not target:
            w.show_error(
                "Backward",
                "Nothing to call backward() on yet: compute a result from a tensor with "
                "requires_grad=True (for example y = w * x + b), or choose one in Tensor ▸ Backward From.",
            )
        return target

    def backward(self) -> Any:
        """backward() on the session's output (or the tensor chosen in the Backward menu): at
        once for a scalar, through the dialog otherwise; it first says what will happen when
        gradients would accumulate or the target is a leaf."""
        w = self.window
        target = self.target_or_explain()
        if not target:
            return None
        t = w.session.tensor(target)
        if t.numel() != 1:
            return self.backward_with_options()
        plan = backward_plan.preview(w.session, target)
        if plan.needs_word and not self.unasked:

            def answer(choice: str, dont_ask: bool) -> None:
                self.unasked = self.unasked or dont_ask
                if choice != "cancel":
                    w.guard(
                        lambda: self.run_backward(target, zero_first=choice == "zero_first"), "Backward"
                    )()

            w.track_box(ask_before_backward(w, w.session, plan, answer))
            return None
        return self.run_backward(target)

    def run_backward(self, target: str, *, zero_first: bool = False) -> Any:
        w = self.window
        if zero_first:
            self.zero_grads()
        try:
            w.session.backward(target)
        except SessionError as e:
            if FREED_HINT in str(e):
                w.track_box(
                    offer_rerun(
                        w,
                        target,
                        str(e),
                        lambda choice: w.guard(lambda: self.rerun(target, choice), "Re-run forward")(),
                    )
                )
                w.say(str(e).split(".")[0])
            else:
                w.show_error("Backward", learner_message(str(e), target))
            return None
        if w.console is not None:
            w.console.log_action(f"{target}.backward()")
        return True

    def rerun(self, target: str, choice: str) -> None:
        w = self.window
        if choice == "close" or target not in w.session:
            return
        names = backward_plan.rerun_forward(w.session, target)
        if w.console is not None:  # runnable code where it has one, so the export runs too
            code = backward_plan.forward_code(w.session, target)
            which = (
                f"{names[0]} computed again from its leaves"
                if len(names) == 1
                else f"{', '.join(names)} computed again from their leaves"
            )
            w.console.log_action(code if code else f"re-run forward: {which}")
        if choice == "rerun_backward":
            self.backward()  # which asks first if the leaves' gradients would accumulate

    def backward_with_options(self) -> Any:
        w = self.window
        from .dialogs.backward import BackwardDialog

        target = self.target_or_explain()
        if not target:
            return None
        rerun = lambda: self.rerun(target, "rerun")  # noqa: E731
        return self.open_dialog(BackwardDialog(w.session, target, w, rerun=rerun))

    def update_train_action(self, target: str) -> None:
        """Train is there for a session with a scalar output (its tip says why not otherwise)."""
        action = self.window.actions["train"]
        why = train_code.scalar_output(self.window.session, target) if target else ""
        action.setEnabled(bool(target) and not why)
        keys = action.shortcut().toString()
        if not target:
            tip = "Nothing to train yet: compute a scalar loss from tensors with requires_grad=True"
        elif why:
            tip = f"Train: {why}"
        else:
            tip = f"Train {target}: choose leaves, an optimiser, a learning rate and steps ({keys})"
        action.setToolTip(tip)

    def train(self) -> Any:
        """Train: the dialog chooses a loop that minimises the output; OK runs it in the console,
        as a cell (one undo step, Stop and progress as any cell has)."""
        w = self.window
        from .dialogs.train import TrainDialog

        target = w.backward_target()
        why = train_code.scalar_output(w.session, target)
        if why:
            w.show_error("Train", why)
            return None
        in_use = w.console.console.variables if w.console is not None else ()
        dialog = TrainDialog(w.session, target, w, in_use=list(in_use))
        w.active_dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def done(result: int) -> None:
            code = dialog.code if result else ""
            if w.active_dialog is dialog:
                w.active_dialog = None
            if code:  # once the dialog has gone: the cell's run spins an event loop of its own
                QTimer.singleShot(0, w.guard(lambda: self.run_training(code), "Train"))

        dialog.finished.connect(done)
        dialog.open()
        return dialog

    def run_training(self, code: str) -> Any:
        """Run Train's loop as a console cell, keeping what was being typed there."""
        w = self.window
        if w.console is None:
            return None
        if w.console_dock is not None:
            w.console_dock.show()
        draft = w.console.input.toPlainText()
        result = w.console.submit(code)
        if draft.strip():
            w.console.input.setPlainText(draft)
        return result

    def zero_grads(self) -> None:
        w = self.window
        # What PyTorch code does the same to the tensors it can name: their .grad = None
        had = [n for n, t in w.session.tensors(include_hidden=False).items() if t.peek_grad() is not None]
        w.session.zero_grad()
        if w.console is not None:
            code = "; ".join(f"{n}.grad = None" for n in had if w.session.tensor(n).is_leaf)
            w.console.log_action(code or "zero grads: no gradients to clear")

    def delete_selected(self) -> None:
        w = self.window
        name = w.current
        if not name or name.startswith("_"):
            w.show_error("Delete", "Select a tensor to delete first.")
            return
        w.session.delete(name)
        if w.console is not None:
            w.console.log_action(f"del {name}")

    def rename_selected(self) -> None:
        w = self.window
        name = w.current
        if not name or name.startswith("_"):
            w.show_error("Rename", "Select a tensor to rename first.")
            return
        new = w.ask_text(f"Rename {name}", f"New name for {name}:", name)
        if new is None or new.strip() == name:
            return
        w.session.rename(name, new.strip())
        if w.console is not None:
            w.console.log_action(f"{new.strip()} = {name}; del {name}")

    def undo(self) -> None:
        w = self.window
        if w.session is not None and w.session.can_undo:
            w.session.undo()

    def redo(self) -> None:
        w = self.window
        if w.session is not None and w.session.can_redo:
            w.session.redo()


def learner_message(message: str, target: str = "") -> str:
    """PyTorch's words, plus what to do about them when they are cryptic for a learner."""
    if "backward through the graph a second time" in message:
        return (
            f"{message}\n\nIn other words: backward() already ran through this graph and freed what it "
            "saved. Use Backward with Options… and tick retain graph the first time, or build the "
            "graph again."
        )
    if "does not require grad and does not have a grad_fn" in message:
        who = target or "this tensor"
        return f"{message}\n\n{who} was not computed from any tensor with requires_grad=True, so there is nothing to differentiate."
    return message
