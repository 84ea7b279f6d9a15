"""The main window: the canvas in the middle, tensors, inspector and console around it.

Every user action goes through the session (each one undoable); the window listens to the
session's events through :class:`SessionBridge` and refreshes what changed. Anything that goes
wrong becomes a message a learner can act on, and the session is never left half-changed.

Questions that need an answer right away (unsaved changes, a file name, a new name) go through
small ``ask_*`` methods, so tests and scripts can answer them without a modal loop.

The window assembles its parts: the actions (``actions``, a table) and the menus, toolbar and
status bar built from it (``menus``), documents (``documents``), exports (``exporting``), the
tensor commands (``tensor_commands``), view settings (``view_settings``) and the busy runner
for long work (``busy``).
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QSettings,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QColor,
    QFont,
    QKeySequence,
    QPalette,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QMainWindow,
    QMessageBox,
    QToolButton,
    QWidget,
)

from ..graph.snapshot import NOTE as SNAPSHOT_NOTE
from ..graph.snapshot import SnapshotSource
from ..session import examples, fileformat
from ..session.autosave import Autosaver
from ..session.backward_plan import BackwardTarget
from ..session.document import Change, ReplayCancelledError, Session, SessionError
from ..session.log import Entry
from ..session.recent import RecentFiles
from ..session.train_code import loop_length
from . import gc_guard, gradient_check
from .actions import THEME_CHOICES, action_table, glyph_icon, make_actions
from .bridge import SessionBridge
from .busy import BusyRunner
from .canvas import GraphCanvas, SessionSource, TensorsSource
from .documents import Documents
from .exporting import Exporter
from .inspector import Inspector
from .menus import build_menus, build_statusbar, build_toolbar
from .plain import plain_box, plain_tip
from .recovery_label import RecoveryLabel
from .script_runner import ScriptRunner
from .stepper import DOCK_HEIGHT, BackwardStepper, backward_stepper, forward_stepper, make_stepper_dock
from .tensor_commands import TensorCommands, learner_message
from .tensors_panel import TensorsPanel
from .theme import theme
from .title_width import fit_title
from .training_panel import TRAINING_DOCK_HEIGHT, TrainingPanel
from .training_view import TrainingView
from .view_settings import ViewSettings
from .work import WorkCancelledError, WorkerJob

ORG = APP = "gradviz"
TARGET_CHARS = 14  # of a Backward target's name on the toolbar button
ROOMY_WIDTH = 1600  # a window this wide has room for the tensors dock to grow with large text
SUFFIX = fileformat.SUFFIX


QUIET_FOR_SWEEP = 3.0  # seconds without a change before the garbage collector may sweep all


def settings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG, APP)


# --- the window ------------------------------------------------------------------------------------


class MainWindow(QMainWindow):
    closed = Signal()
    export_finished = Signal(str)  # the path written ('' if it failed or was cancelled)

    def __init__(
        self,
        session: Session | None = None,
        *,
        tensors: Any = None,
        names: dict[str, Any] | None = None,
        autosave: bool = True,
        persist: bool = True,
        title: str = "",
        record: Any = None,
        snapshot: Any = None,
    ) -> None:
        """``persist=False``: read the preferences but write nothing back (no settings, no
        recent files), for screenshots and scripts. ``record``: what a ``gradviz.capture`` saw
        of the PyTorch ``tensors`` (by default the last capture's). ``snapshot``: a PyTorch
        snapshot (``graph.snapshot.Snapshot``) to view, read-only."""
        super().__init__()
        gc_guard.install(self.gc_quiet)  # before any worker thread can start a collection
        self._changed_at = time.monotonic()  # of the session's last change (see gc_quiet)
        self.documents = Documents(self)
        self.view_settings = ViewSettings(self)
        self.commands = TensorCommands(self)
        self.busy = BusyRunner(self)  # a file being opened or a log being replayed
        self.last_open_error = ""  # why the last file failed to open, for the command line
        self.open_problems: list[str] = []  # parts of the last file opened that were left out
        self.tour_window: MainWindow | None = None  # where Help › Tour runs
        self.scratch = False  # a practice window (the tour's): closing it discards without asking
        self._canvas_working = False  # a layout is running (its progress waits behind others)
        self._said_before_layout: tuple[str, str, str] = ("", "", "")  # status before it, its own, tip before
        self.persist = persist
        self.setObjectName("MainWindow")
        self.snapshot = snapshot  # a PyTorch snapshot shown: viewable, not replayable
        self.viewer = tensors is not None or snapshot is not None
        self.session: Session | None = (
            None if self.viewer else (session if session is not None else Session())
        )
        self.path: Path | None = None
        self.document_title = title
        self.suggested_stem = ""  # the file name Save As offers for an untitled document
        self.current = ""  # the selected tensor's name
        self.backward_from = BackwardTarget()  # what Backward starts from: not the selection
        self.stepper: BackwardStepper | None = None  # Step Through, while it runs
        self._stepper_dock: QDockWidget | None = None
        self.settings = settings()
        self.recent = RecentFiles()
        self.actions: dict[str, QAction] = {}
        self.active_dialog: Any = None
        self.last_message_box: QMessageBox | None = None
        self.exporter = Exporter(self)
        self.exporter.finished.connect(self.export_finished)
        if snapshot is not None:
            self.source: Any = SnapshotSource(snapshot)
        else:
            self.source = (
                TensorsSource(tensors, names, record) if self.viewer else SessionSource(self.session)
            )
        self.scripts = ScriptRunner(self)  # File › Open PyTorch Script

        self.canvas = GraphCanvas(None, self)
        self.setCentralWidget(self.canvas)
        self.panel = TensorsPanel(self.source, self)
        self.inspector = Inspector(self.source, self)
        self.console = None
        self.bridge = None
        if self.session is not None:
            from .console_widget import ConsoleWidget

            self.console = ConsoleWidget(self.session, self)
            self.console.runner = self._run_cell
            self.session.replayer = self._replay
            self.session.runner = self._run_action
            self.session.stop_requested = self._stop_requested
            self.bridge = SessionBridge(self.session, self)
            self.bridge.changed.connect(self._session_changed)
            self.console.ran.connect(self._console_ran)
            self.console.transcript_changed.connect(self._transcript_changed)
        self._make_docks()
        self.actions.update(make_actions(self, action_table(), self.icon_color(), self.guard))
        self.scripts.label_actions()
        theme().changed.connect(self.theme_changed)
        build_menus(self)
        build_toolbar(self)
        build_statusbar(self)
        self._wire()
        self.view_settings.load_preferences()
        self.autosaver = Autosaver(self.session) if (autosave and self.session is not None) else None
        self.status_recovery = None  # shown only while recovery files cannot be written
        if self.autosaver is not None:
            self.status_recovery = RecoveryLabel(self.autosaver, self)
            self.statusBar().addPermanentWidget(self.status_recovery)
        if self.session is not None:
            self._empty_canvas_text()
        self.canvas.set_source(self.source)
        self.panel.refresh()
        self.update_actions()
        self.update_title()

    # --- construction ------------------------------------------------------------------------------
    def _make_docks(self) -> None:
        self.setDockNestingEnabled(True)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tensors_dock = self._dock(
            "Tensors", "tensorsDock", self.panel, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.inspector_dock = self._dock(
            "Inspector", "inspectorDock", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.console_dock = None
        # The graph gets the whole height: graphs grow downward. The console sits under the
        # tensors it makes, the inspector has the right side to itself.
        if self.console is not None:
            self.console_dock = self._dock(
                "Console", "consoleDock", self.console, Qt.DockWidgetArea.LeftDockWidgetArea
            )
            self.splitDockWidget(self.tensors_dock, self.console_dock, Qt.Orientation.Vertical)
            self.resizeDocks([self.tensors_dock, self.console_dock], [300, 500], Qt.Orientation.Vertical)
        self.resizeDocks([self.tensors_dock, self.inspector_dock], [380, 380], Qt.Orientation.Horizontal)
        # Under the graph, shown when a training loop has run (gui/training.py)
        self.training = TrainingPanel()
        self.training_dock = self._dock(
            "Training", "trainingDock", self.training, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.resizeDocks([self.training_dock], [TRAINING_DOCK_HEIGHT], Qt.Orientation.Vertical)
        self.training_dock.hide()
        self.training_view = TrainingView(self)

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        # A dock draws its title in the font of the day it was made unless it has a font of its
        # own: a bold one, of the size of the day, so the title follows presentation mode.
        bold, regular = QFont(), QFont()
        bold.setBold(True)
        regular.setBold(False)
        dock.setFont(bold)
        widget.setFont(regular)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    def icon_color(self) -> QColor:
        return self.palette().color(QPalette.ColorRole.WindowText)

    def _wire(self) -> None:
        self.canvas.selection_changed.connect(lambda name: self.select(name, source="canvas"))
        self.canvas.picture_updated.connect(self._picture_updated)
        self.canvas.busy_changed.connect(self._canvas_busy)
        self.canvas.message.connect(self.say)
        self.panel.selected.connect(lambda name: self.select(name, source="panel"))
        self.panel.activated.connect(lambda name: self.canvas.select(name, center=True))
        self.panel.message.connect(self._panel_message)
        self.inspector.message.connect(self.say)
        self.inspector.check_requested.connect(
            lambda name: self.guard(lambda: self.check_gradient(name), "Check gradient")()
        )
        if self.console is not None:
            self.inspector.ran_code.connect(self.console.log_action)
        ac = self.actions
        if not self.viewer:
            self.panel.context_actions = [
                ac["backward"],
                ac["backward_options"],
                None,
                ac["rename"],
                ac["delete"],
            ]

    def _empty_canvas_text(self) -> None:
        links = "<br>".join(f"<a href='example:{ex.name}'>{ex.title}</a>" for ex in examples.EXAMPLES)
        self.canvas.empty_hint.setText(
            "<div style='font-size:16pt; font-weight:600'>Nothing to draw yet</div>"
            "<p>Create a tensor with <b>New Tensor</b> (Ctrl+T), or type in the console below:</p>"
            "<p style='font-family:monospace; font-size:11pt'>x = torch.tensor(3.)</p>"
            "<p>New to autograd? <a href='tour'>Take the tour</a> (y = w*x + b, step by step)</p>"
            f"<p>or open an example:<br>{links}</p>"
        )
        self.canvas.empty_hint.linkActivated.connect(self._empty_link)

    def _empty_link(self, href: str) -> None:
        if href == "tour":
            self.show_tour()
        elif href.startswith("example:"):
            self.guard(lambda: self.open_example(href.split(":", 1)[1]), "Open example")()

    # --- asking (tests and scripts replace these) -------------------------------------------------------
    def ask_save_changes(self) -> str:
        """'save', 'discard' or 'cancel' for a session with unsaved changes."""
        box = plain_box(QMessageBox(self))
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Unsaved changes")
        box.setText(f"Save the changes to {self._doc_name()}?")
        box.setInformativeText("Your changes will be lost if you don't save them.")
        box.setStandardButtons(
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel
        )
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        return {QMessageBox.StandardButton.Save: "save", QMessageBox.StandardButton.Discard: "discard"}.get(
            QMessageBox.StandardButton(answer), "cancel"
        )

    def ask_open_path(self) -> str:
        start = (
            str(self.path.parent)
            if self.path
            else str(self.settings.value("files/last_dir", str(Path.home())))
        )
        path, _ = QFileDialog.getOpenFileName(
            self, "Open session", start, f"gradviz sessions (*{SUFFIX});;All files (*)"
        )
        return path

    def ask_save_path(self, title: str, filters: str, suggested: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self, title, suggested, filters)
        return path

    def ask_text(self, title: str, label: str, text: str) -> str | None:
        box = QInputDialog(self)
        box.setWindowTitle(title)
        box.setLabelText(label)
        box.setTextValue(text)
        fit_title(box)
        ok = box.exec() == QInputDialog.DialogCode.Accepted
        return box.textValue() if ok else None

    def ask_restore(self, when: str, document: str | None) -> bool:
        doc = f" (working on {Path(document).name})" if document else ""
        box = plain_box(QMessageBox(self))  # the document name comes from the recovery file
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Restore your work?")
        box.setText("gradviz did not close properly last time.")
        box.setInformativeText(f"A copy of the session from {when}{doc} was kept. Restore it?")
        restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(restore)
        box.exec()
        return box.clickedButton() is restore

    # --- messages ----------------------------------------------------------------------------------
    def say(self, text: str, more: str = "") -> None:
        """A line in the status bar that stays until the next one; ``more``: its tooltip, when
        there is more to read than the line (what a script printed), else the line itself."""
        self.status_action.setText(text)
        self.status_action.setToolTip(plain_tip(more or text))

    def show_error(self, title: str, text: str, details: str = "") -> QMessageBox:
        """A message box that does not block (window-modal), so the app keeps running."""
        box = plain_box(QMessageBox(self))  # the text quotes file names and what was typed
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(title)
        box.setText(text)
        if details:
            box.setDetailedText(details)
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.track_box(box)
        box.open()
        self.say(text.split("\n")[0])
        return box

    def track_box(self, box: QMessageBox) -> QMessageBox:
        """The message box on show, until it closes (what tests and the input blocker read)."""
        self.last_message_box = box
        box.finished.connect(
            lambda *_: setattr(self, "last_message_box", None) if self.last_message_box is box else None
        )
        return box

    def guard(self, fn: Callable[..., Any], what: str) -> Callable[..., Any]:
        """Run an action; errors become messages, never a crash."""

        def run(*args: Any) -> Any:
            if self._work_job is not None:  # e.g. a native menu, which the input filter can't see
                if fn == self.close:  # Quit: as the window's close button, once the work is done
                    self._close_when_work_done()
                else:
                    self.say(f"{what}: gradviz is still busy; try again when it is done")
                return None
            try:
                return fn()
            except ReplayCancelledError as e:  # the person asked for it: no alarm, just a note
                self.say(str(e))
            except SessionError as e:
                self.show_error(what, learner_message(str(e)))
            except Exception as e:
                traceback.print_exc()
                self.show_error(
                    what,
                    f"Something went wrong: {type(e).__name__}: {e}\n\nYour session is unchanged and gradviz "
                    "keeps running.",
                    traceback.format_exc(),
                )
            return None

        return run

    def _panel_message(self, text: str) -> None:
        self.show_error("Rename", learner_message(text))

    # --- selection --------------------------------------------------------------------------------
    def select(self, name: str, source: str = "") -> None:
        """Select the tensor ``name`` everywhere ('' for none)."""
        self.current = name
        if source != "canvas":
            self.canvas.select(name, center=source == "panel")
        if source != "panel":
            self.panel.select(name if not name.startswith("_") else "")
        self.inspector.show_tensor(name)
        self.update_actions()

    # --- session events ---------------------------------------------------------------------------
    def gc_quiet(self) -> bool:
        """Whether a full garbage sweep (gc_guard), a pause of up to a tenth of a second, would
        go unnoticed now: the picture is up to date, nothing runs, and the session has not
        changed for a few seconds (a learner typing ops or stepping changes it more often)."""
        canvas = getattr(self, "canvas", None)
        return (
            canvas is not None
            and canvas.is_idle()
            and getattr(self, "busy", None) is not None
            and self.busy.job is None
            and time.monotonic() - self._changed_at > QUIET_FOR_SWEEP
        )

    def _session_changed(self, change: Change) -> None:
        self._changed_at = time.monotonic()
        gradient_check.forget(self)
        self.training_view.session_changed(change.label)
        for old, new in change.renamed:
            if self.current == old:
                self.current = new
        if self.current and self.current not in self.session:
            self.current = ""
        self.canvas.refresh()
        self.panel.refresh()
        visible = [n for n in change.added if not n.startswith("_")]
        label = change.label
        if visible and label != "open" and not label.startswith(("undo", "redo")):
            self.select(visible[-1])
        else:
            self.select(self.current)
        self.completer.model().setStringList(self.session.names())
        if self.status_memory is not None:
            self.status_memory.refresh()
        self.say(_status_label(label))
        self.update_actions()
        self.update_title()

    def _transcript_changed(self) -> None:
        # The cell is added after its run changed the session: the recovery file takes it too.
        if self.autosaver is not None and self.session.dirty:
            self.autosaver.mark_changed()

    def copy_code(self) -> str:
        """Edit › Copy Code: the statements of the console's selected cells (all, if none)."""
        if self.console is None:
            return ""
        text = self.console.copy_code()
        self.say(f"Copied {text.count(chr(10))} line{'s' if text.count(chr(10)) != 1 else ''} of code")
        return text

    def export_python_dialog(self) -> None:
        self.exporter.python_dialog()

    def export_animation_dialog(self) -> None:
        self.exporter.animation_dialog()

    def export_python(self, path: str | os.PathLike[str]) -> bool:
        """Write the console's work as a script that runs under ``import torch``."""
        return self.exporter.python(path)

    def _console_ran(self, source: str, result: Any) -> None:
        self.training_view.ran()
        if result is not None and getattr(result, "error", None):
            self.say(f"Console: {result.error_type}: {result.error}")

    def _picture_updated(self, nodes: int, provider: str) -> None:
        self.status_nodes.setText(f"{nodes:,} node{'s' if nodes != 1 else ''}")
        self.status_layout.setText(f"layout: {provider}" if provider else "")
        self.panel.set_scale(self.canvas.color_scale)
        if not self.viewer:
            return
        self.completer.model().setStringList(self.source.names())

    def _canvas_busy(self, busy: bool, what: str) -> None:
        was_working, self._canvas_working = self._canvas_working, busy
        if self.exporter.busy or self._work_job is not None:
            return  # their progress has the status bar; the layout's shows after theirs
        self.progress.setVisible(busy)
        self.progress_cancel.setVisible(busy)
        if busy:
            before, said, tip = self._said_before_layout
            if not (was_working and self.status_action.text() == said):
                # a new stretch of layout, not its next stage
                before, tip = self.status_action.text(), self.status_action.toolTip()
            self._said_before_layout = (before, what, tip)
            self.say(what)
        elif self._said_before_layout[1] and self.status_action.text() == self._said_before_layout[1]:
            before, _, tip = self._said_before_layout  # the last action again, not a stale "Laying out…"
            self.say(before)
            self.status_action.setToolTip(tip)

    def show_background_progress(self) -> None:
        """After a replay or file open: the status bar shows an export or layout still running."""
        busy = self.exporter.busy or self._canvas_working
        self.progress.setRange(0, 0)
        self.progress.setVisible(busy)
        self.progress_cancel.setVisible(busy)

    def cancel_work(self) -> None:
        if self._work_job is not None:
            self._work_job.cancel()  # a rollback can't be cancelled: it must finish
        elif self.exporter.busy:
            self.exporter.cancel()
        else:
            self.canvas.cancel_layout()

    # --- state of actions and title ------------------------------------------------------------------
    def _doc_name(self) -> str:
        if self.path is not None:
            return self.path.name
        return self.document_title or "Untitled"

    def update_title(self) -> None:
        note = f" ({SNAPSHOT_NOTE})" if self.snapshot is not None else ""
        self.setWindowTitle(f"{self._doc_name()}{note}[*] — gradviz")
        self.setWindowModified(bool(self.session is not None and self.session.dirty))

    def backward_target(self) -> str:
        """What Backward starts from: the session's output (its latest scalar result) unless
        the learner chose another in the Backward menu; never just the selection."""
        return self.backward_from.resolve(self.session) if self.session is not None else ""

    def update_actions(self) -> None:
        ac = self.actions
        s = self.session
        if s is None:
            for k in (
                "undo",
                "redo",
                "backward",
                "step_through",
                "check_all",
                "step_forward",
                "backward_options",
                "zero_grads",
                "train",
                "delete",
                "rename",
                "new_tensor",
                "operation",
                "save",
                "save_as",
                "new",
                "open",
            ):
                ac[k].setEnabled(False)
            ac["save_as"].setEnabled(self.snapshot is not None)
            return
        ac["undo"].setEnabled(s.can_undo)
        ac["redo"].setEnabled(s.can_redo)
        ac["undo"].setText(f"&Undo {s.undo_label}" if s.can_undo else "&Undo")
        ac["redo"].setText(f"&Redo {s.redo_label}" if s.can_redo else "&Redo")
        for key, label, can in (("undo", s.undo_label, s.can_undo), ("redo", s.redo_label, s.can_redo)):
            keys = ac[key].shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            ac[key].setToolTip(f"{key.capitalize()} {label} ({keys})" if can else f"Nothing to {key}")
        named = bool(self.current) and self.current in s and not self.current.startswith("_")
        target = self.backward_target()
        ac["backward"].setEnabled(bool(target))
        ac["check_all"].setEnabled(bool(target))
        ac["step_forward"].setEnabled(any(e.kind in ("op", "loop") for e in s.entries))
        ac["step_through"].setEnabled(bool(target) or any(e.kind in ("backward", "loop") for e in s.entries))
        ac["backward_options"].setEnabled(bool(target))
        ac["backward"].setText(f"&Backward from {target}" if target else "&Backward")
        # The toolbar button keeps a long name short, so the toolbar still fits (the tip has it whole).
        short = target if len(target) <= TARGET_CHARS else target[: TARGET_CHARS - 1] + "…"
        ac["backward"].setIconText(f"Backward from {short}" if target else "Backward")
        keys = ac["backward"].shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        why = (
            "you chose it in the Backward menu"
            if self.backward_from.chosen
            else "the latest result; choose another in the Backward menu"
        )
        ac["backward"].setToolTip(
            f"Call {target}.backward(): {why} ({keys})"
            if target
            else "Nothing to call backward() on yet: compute a result from a tensor with requires_grad=True"
        )
        self.commands.update_train_action(target)
        ac["delete"].setEnabled(named)
        ac["rename"].setEnabled(named)
        ac["zero_grads"].setEnabled(any(t.peek_grad() is not None for t in s.tensors().values()))
        ac["operation"].setEnabled(bool(s.names()))

    # --- documents (gui/documents.py) ------------------------------------------------------------
    def new_session(self) -> None:
        self.documents.new()

    def open_dialog(self) -> None:
        self.documents.open_dialog()

    def open_path(self, path: str | os.PathLike[str], *, confirmed: bool = False) -> bool:
        """Open a session file; on failure say why and leave the current session untouched."""
        return self.documents.open_path(path, confirmed=confirmed)

    def open_example(self, name: str) -> bool:
        """Open a shipped example as a new, untitled document (saving asks for a name)."""
        return self.documents.open_example(name)

    def save(self) -> bool:
        return self.documents.save()

    def save_as(self) -> bool:
        return self.documents.save_as()

    def _save_to(self, path: Path) -> bool:
        return self.documents.save_to(path)

    def offer_recovery(self) -> bool:
        """After a crash, offer to restore the recovery file it left. True if restored."""
        return self.documents.offer_recovery()

    def wait_for_workers(self, msecs: int = 10000) -> None:
        """Let layout, export and replay workers finish before the window goes away (their
        signals must not outlive it)."""
        self.canvas.cancel_layout()
        self.canvas.wait_for_workers(msecs)
        self.exporter.wait_for_workers(msecs)
        self.busy.pool.waitForDone(msecs)

    def run_off_thread(
        self, task: Callable[[Any], Any], what: str, *, cancellable: bool = True, progress_after_ms: int = 0
    ) -> Any:
        """Run ``task(progress)`` on a worker while the window keeps painting (see BusyRunner)."""
        return self.busy.run(task, what, cancellable=cancellable, progress_after_ms=progress_after_ms)

    @property
    def _work_job(self) -> WorkerJob | None:
        """The job the window waits for, if any."""
        return self.busy.job

    def _close_when_work_done(self) -> None:
        self.busy.close_when_done()

    def _run_cell(self, run: Callable[[], Any]) -> Any:
        with self.training_view.watching():
            return self._run_cell_off_thread(run)

    def _run_cell_off_thread(self, run: Callable[[], Any]) -> Any:
        """The console's runner: a cell runs on a worker (a huge tensor takes seconds to make,
        and the window must not freeze meanwhile). Stop (or Escape) ends it at the next op, and
        the cell is undone whole: its statements are one undo step. No single op runs long (the
        session prices each before it runs). Its change events reach the window queued."""
        source = self.console.running_source if self.console is not None else ""
        lines = source.strip().splitlines() or [""]
        # (a loop's own line says what runs: Train's starts with the grads it clears first)
        first = (
            next((x for x in lines if x.startswith("for ")), lines[0]) if loop_length(source) else lines[0]
        )
        what = f"Running {first[:48] + '…' if len(first) > 48 else first}"
        with self.busy.counting_steps(self.console.console if self.console is not None else None, source):
            return self.run_off_thread(lambda progress: run(), what, cancellable=True, progress_after_ms=150)

    def _stop_requested(self) -> bool:
        """Asked by the session, on the worker, between ops: did the person press Stop?"""
        return self.busy.stop_requested()

    def _run_action(self, work: Callable[[], None], label: str) -> None:
        """The session's runner: an action (a new tensor, an op, backward) runs on a worker."""
        self.run_off_thread(
            lambda progress: work(), f"{_status_label(label)}…", cancellable=False, progress_after_ms=150
        )

    def _replay(self, entries: Sequence[Entry], label: str, cancellable: bool) -> Any:
        """The session's replayer: undo, redo and edits replay the log on a worker."""
        what = "Loading the session" if label == "open" else _status_label(label)
        try:
            return self.run_off_thread(
                lambda progress: self.session.replay(entries, progress),
                f"{what}…",
                cancellable=cancellable,
                progress_after_ms=150,
            )
        except WorkCancelledError:
            raise ReplayCancelledError(f"{what} cancelled; nothing was changed") from None

    # --- export ----------------------------------------------------------------------------------------
    def export_dialog(self) -> None:
        self.exporter.image_dialog()

    def export_image(self, path: str | os.PathLike[str]) -> bool:
        """Export what the canvas shows, colours and legend included, off the GUI thread."""
        return self.exporter.image(path)

    def is_exporting(self) -> bool:
        return self.exporter.busy

    # --- tensor actions ------------------------------------------------------------------------------
    def new_tensor(self) -> Any:
        return self.commands.new_tensor()

    def backward(self) -> Any:
        """backward() on the session's output or the tensor chosen in Tensor › Backward From."""
        return self.commands.backward()

    def step_through(self) -> BackwardStepper | None:
        """Backward one node at a time (gui/stepper.py); leaving it is a plain backward()."""
        if self.session is None:
            return None
        if self.stepper is not None:
            self.stepper.leave()
        self.stepper = backward_stepper(self)
        self.stepper.start()
        self.update_actions()
        return self.stepper

    def step_forward(self) -> BackwardStepper | None:
        """Step Through Forward: the ops in the order they ran, each value as it is computed."""
        if self.session is None:
            return None
        if self.stepper is not None:
            self.stepper.leave()
        self.stepper = forward_stepper(self)
        self.stepper.start()
        self.update_actions()
        return self.stepper

    def check_gradient(self, name: str) -> Any:
        """Check Gradient: ``name``'s gradient by nudging, beside autograd's (gui/gradient_check.py)."""
        return gradient_check.check_one(self, name)

    def check_all_gradients(self) -> Any:
        """Tensor › Check All Gradients: every leaf that requires grad, marked on the graph."""
        return gradient_check.check_all(self)

    def stepper_dock(self) -> QDockWidget:
        """The Backward Steps dock, under the graph; made the first time it is needed."""
        if self._stepper_dock is None:
            self._stepper_dock = make_stepper_dock(self)
            self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self._stepper_dock)
            self.resizeDocks([self._stepper_dock], [DOCK_HEIGHT], Qt.Orientation.Vertical)
            self._stepper_dock.hide()
        return self._stepper_dock

    # --- view settings (gui/view_settings.py) ---------------------------------------------------
    def set_view(self, mode: str) -> None:
        self.view_settings.set_view(mode)

    def set_colors(
        self, stat: str | None = None, cmap: str | bool | None = False, log_scale: bool | None = None
    ) -> None:
        self.view_settings.set_colors(stat, cmap, log_scale)

    def save_preferences(self) -> None:
        self.view_settings.save_preferences()

    def apply_document_view(self) -> None:
        self.view_settings.apply_document_view()

    def store_view(self) -> None:
        self.view_settings.store_view()

    # --- theme -----------------------------------------------------------------------------------------
    def set_theme(self, scheme: str) -> None:
        """System, light or dark colours for every window, at once; remembered."""
        theme().set(scheme=scheme)
        label = next(lbl for key, lbl, _ in THEME_CHOICES if key == theme().scheme)
        self.say(f"Theme: {label.replace('&', '')}")
        self.save_preferences()

    def set_presentation(self, on: bool) -> None:
        """Presentation mode: large text throughout and a high-contrast graph; remembered."""
        theme().set(presentation=on)
        self.say("Presentation mode on (Ctrl+Shift+P turns it off)" if on else "Presentation mode off")
        self.save_preferences()

    def theme_changed(self) -> None:
        t = theme()
        self.actions[f"theme_{t.scheme}"].setChecked(True)
        self.actions["presentation"].setChecked(t.presentation)
        # What is sized in pixels grows with the text; so the toolbar still fits the window in
        # large text, Operation, Zero Grads and the view buttons show only
        # their icons (their tooltips still name them).
        self.toolbar.setIconSize(QSize(round(18 * t.font_scale), round(18 * t.font_scale)))
        compact = (
            Qt.ToolButtonStyle.ToolButtonIconOnly
            if t.presentation
            else Qt.ToolButtonStyle.ToolButtonTextBesideIcon
        )
        for key in ("operation", "zero_grads", "train", "fit"):
            button = self.toolbar.widgetForAction(self.actions[key])
            if button is not None:
                button.setToolButtonStyle(compact)
        colours = self.findChild(QToolButton, "coloursButton")
        if colours is not None:
            colours.setToolButtonStyle(compact)
        self.find_box.setPlaceholderText("Find (Ctrl+F)" if t.presentation else "Find a tensor (Ctrl+F)")
        self.find_box.setFixedWidth(180)
        self.progress.setFixedWidth(round(110 * t.font_scale))
        if t.font_scale != getattr(self, "_fitted_scale", t.font_scale):
            if t.presentation:
                self._tensors_dock_width = self.tensors_dock.width()
            # Once the columns have measured their new text (a turn of the event loop later).
            QTimer.singleShot(0, self, self._fit_to_text_size)
        self._fitted_scale = t.font_scale

    def _fit_to_text_size(self) -> None:
        """Large text in a roomy window: widen the tensors dock so its columns still show whole (up
        to 40% of the window; a narrower window keeps its room for the graph, and the table
        scrolls); back to normal text: give the graph back what was taken. Then fit the graph."""
        dock = self.tensors_dock
        if theme().presentation and self.width() >= ROOMY_WIDTH:
            want = min(self.panel.needed_width(), int(self.width() * 0.4))
            if want > dock.width():
                self.resizeDocks([dock], [want], Qt.Orientation.Horizontal)
        elif getattr(self, "_tensors_dock_width", None):
            self.resizeDocks([dock], [self._tensors_dock_width], Qt.Orientation.Horizontal)
            self._tensors_dock_width = None
        self.layout().activate()  # the docks take their new sizes now, so the graph fits what is left
        self.canvas.fit()

    def focus_find(self) -> None:
        self.find_box.setFocus()
        self.find_box.selectAll()

    def find_entered(self) -> None:
        self.find(self.find_box.text())

    def find(self, text: str) -> bool:
        ok = self.canvas.find(text)
        self.mark_find(ok or not text.strip())
        if ok:  # replaces a "No tensor called …" left by an earlier search
            self.say(f"Found '{text.strip()}'")
        return ok

    def mark_find(self, ok: bool) -> None:
        red = "#ff8a80" if self.palette().color(QPalette.ColorRole.Window).lightness() < 128 else "#c62828"
        self.find_box.setStyleSheet(
            "" if ok else f"QLineEdit {{ border: 2px solid {red}; border-radius: 3px; }}"
        )

    # --- help --------------------------------------------------------------------------------------------
    def show_tour(self) -> Any:
        """The tour runs in a fresh session in a window of its own, so that its tensors never
        mix into the learner's graph; the learner's session stays as it was, open here."""
        from .help import TourDialog

        if self.tour_window is None or not self.tour_window.isVisible():
            self.tour_window = MainWindow(autosave=False, persist=False, title="Tour (practice, not saved)")
            self.tour_window.scratch = True
            self.tour_window.resize(self.size())
            self.tour_window.show()
        tour = self.tour_window
        tour.raise_()

        def run_and_show(code: str) -> Any:
            if tour.console_dock is not None:
                tour.console_dock.show()
            return tour.console.submit(code)

        dlg = TourDialog(run_and_show, tour)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.setModal(False)
        dlg.show()
        self.active_dialog = tour.active_dialog = dlg
        self.say("The tour runs in a window of its own; your session is unchanged")
        return dlg

    def show_shortcuts(self) -> Any:
        from .help import ShortcutsDialog

        dlg = ShortcutsDialog([a for a in self.actions.values() if not a.shortcut().isEmpty()], self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.open()
        self.active_dialog = dlg
        return dlg

    def show_about(self) -> Any:
        from .help import about_html

        box = QMessageBox(self)
        box.setWindowTitle("About gradviz")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(about_html())
        from .app import app_icon

        box.setIconPixmap(app_icon().pixmap(64, 64))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.last_message_box = box
        return box

    # --- closing -------------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.documents.confirm_discard():
            event.ignore()
            return
        self.save_preferences()
        if self.tour_window is not None and self.tour_window.isVisible():
            self.tour_window.close()
        if self.autosaver is not None:
            self.autosaver.close(clean=True)
            self.autosaver = None
        if self.status_recovery is not None:
            self.status_recovery.close_link()
        if self.bridge is not None:
            self.bridge.close()
        if self.session is not None and self.session.replayer == self._replay:
            self.session.replayer = None  # the session may outlive the window (gradviz.show)
            self.session.runner = None
            self.session.stop_requested = None
        self.wait_for_workers(5000)  # a layout still running must not signal a window that's gone
        event.accept()
        self.closed.emit()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.viewer and not getattr(self, "_names_fitted", False):
            self._names_fitted = True
            # Once the window has its size (a turn of the event loop later).
            QTimer.singleShot(0, self, self._fit_dock_to_names)

    def _fit_dock_to_names(self) -> None:
        """A graph handed in (``gradviz.show``, a PyTorch snapshot) comes with its names at once,
        module paths such as ``encoder.layers.0.linear1.weight`` among them: widen the tensors
        dock so they show whole, up to 40% of the window (as large text does), the graph keeping the rest."""
        dock = self.tensors_dock
        want = min(self.panel.needed_width(), int(self.width() * 0.4))
        if want > dock.width():
            self.resizeDocks([dock], [want], Qt.Orientation.Horizontal)

    def changeEvent(self, event: Any) -> None:
        if event.type() in (event.Type.PaletteChange, event.Type.ApplicationPaletteChange):
            color = self.icon_color()
            for a in self.actions.values():
                g = a.property("glyph")
                if g:
                    a.setIcon(glyph_icon(g, color))
            colours = self.findChild(QToolButton, "coloursButton")
            if colours is not None:
                colours.setIcon(glyph_icon("◐", color))
                colours.style().unpolish(colours)  # its style sheet keeps the old text colour
                colours.style().polish(colours)
        super().changeEvent(event)


def _status_label(label: str) -> str:
    """A session's undo label as a status line: "Created w", "y.backward()", "Ran y = w*x + b"."""
    if label == "open":
        return "Opened"
    if label.startswith("console: "):
        return "Ran " + label[len("console: ") :]
    first = label.split(" ", 1)[0]
    if first in ("create", "zero", "rename", "delete", "undo", "redo", "edit", "unname", "set"):
        return label[:1].upper() + label[1:]  # a verb, not a tensor's name
    return label
