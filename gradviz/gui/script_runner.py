"""File ▸ Open PyTorch Script: ask for a script, warn that it runs as code, run it in a child
process off the GUI thread (Stop ends the process), and show what it left as a PyTorch snapshot
in a viewer window of its own (``session.pytorch_script``); the window it was asked from is left
as it was. A snapshot file opened later shows the same window, and never runs anything."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from ..graph.snapshot import NOTE, Snapshot
from ..graph.torch_capture import INSTALL_HINT
from ..session.pytorch_script import ScriptError, run_script, torch_available
from .plain import plain_box
from .work import WorkCancelledError

if TYPE_CHECKING:
    from .main_window import MainWindow

_OPEN: set[MainWindow] = set()  # every snapshot window on screen
TIP_LINES = 30  # of a script's output, shown on hovering the status line
STOP_TIP = "Stop the script: its process is ended, and nothing is opened"


class ScriptRunner:
    """Opening PyTorch scripts (and the snapshot windows they make) for one window."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.windows: list[MainWindow] = []  # the snapshot windows opened from here, kept alive
        self.has_torch = torch_available()

    def label_actions(self) -> None:
        """Without PyTorch the menu item says what it needs, and how to install it; in a
        snapshot's window Save As says what it saves."""
        if self.window.snapshot is not None:
            tip = "Save this PyTorch snapshot as a .gradviz file (viewable, not replayable)"
            self.window.actions["save_as"].setStatusTip(tip)
            self.window.actions["save_as"].setToolTip(tip)
        a = self.window.actions["open_script"]
        if not self.has_torch:
            a.setText("Open PyTorch &Script… (needs PyTorch)")
            tip = "Needs PyTorch, which is not installed: pip install gradviz[torch]"
            a.setToolTip(tip)
            a.setStatusTip(tip)

    # --- asking (tests replace these) ------------------------------------------------------------
    def ask_script_path(self) -> str:
        w = self.window
        start = str(w.settings.value("files/last_script_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(
            w, "Open PyTorch script", start, "Python scripts (*.py);;All files (*)"
        )
        return path

    def ask_run(self, path: Path) -> bool:
        """The warning: the script runs as code on this machine. True to run it."""
        box = plain_box(QMessageBox(self.window))
        box.setObjectName("runScriptWarning")
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Run this script?")
        box.setText(f"{path.name} will run as Python code on this machine, with your permissions.")
        box.setInformativeText(
            f"{path}\n\nA script can do anything a program you start can do, such as read, change or "
            "delete your files. Run only scripts you trust.\n\ngradviz runs it in a process of its own "
            "(Stop ends it) and shows the PyTorch graph it leaves. A saved snapshot never runs code."
        )
        run = box.addButton("Run Script", QMessageBox.ButtonRole.AcceptRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        box.exec()
        return box.clickedButton() is run

    # --- the command -------------------------------------------------------------------------------
    def open_dialog(self) -> MainWindow | None:
        """File › Open PyTorch Script…: the script's snapshot window, or None."""
        w = self.window
        if not self.has_torch:
            w.show_error("Open PyTorch Script", f"{INSTALL_HINT}, then start gradviz again.")
            return None
        path = self.ask_script_path()
        if not path:
            return None
        return self.open_script(path)

    def open_script(self, path: str | Path, *, confirmed: bool = False) -> MainWindow | None:
        """Warn (unless ``confirmed``), run the script, show its snapshot; None if it did not run."""
        w = self.window
        path = Path(path)
        if not confirmed and not self.ask_run(path):
            w.say(f"{path.name} was not run")
            return None
        if w.persist:
            w.settings.setValue("files/last_script_dir", str(path.parent))
        try:
            snap = self._run(path)
        except WorkCancelledError:
            w.say(f"Stopped {path.name}: its process was ended before it finished; nothing was opened")
            return None
        except ScriptError as e:
            w.show_error(
                "Can't draw this script",
                f"{e}\n\nNothing was opened"
                + ("; your session is unchanged." if w.session is not None else "."),
                e.details,
            )
            return None
        window = self.show(snap, f"{path.name}")
        w.say(f"Ran {path.name}: its graph is open in a window of its own ({NOTE})")
        output = snap.meta.get("output", "")
        if output:  # what it printed (losses, say): the last line said, the last 30 on hover
            lines = output.splitlines()
            s = "s" * (len(lines) != 1)
            shown = lines[-TIP_LINES:]
            heading = f"Output (the last {len(shown)} lines):" if len(lines) > len(shown) else "Output:"
            window.say(
                f"{path.name} printed {len(lines)} line{s}; the last: {lines[-1]}",
                "\n".join([heading, *shown]),
            )
        return window

    def _run(self, path: Path) -> Snapshot:
        w = self.window
        buttons = (w.progress_cancel, w.canvas.busy.button)
        for b in buttons:
            b.setText("Stop")
            b.setToolTip(STOP_TIP)
        try:
            return w.run_off_thread(
                lambda progress: run_script(path, progress=lambda seconds: progress(0, 0)),
                f"Running {path.name}…",
                cancellable=True,
            )
        finally:
            for b in buttons:
                b.setText("Cancel")
            w.progress_cancel.setToolTip("")

    def show(self, snap: Snapshot, title: str, path: Path | None = None) -> MainWindow:
        """A viewer window on ``snap`` (``path``: the file it was read from)."""
        from .main_window import MainWindow

        w = self.window
        view = MainWindow(snapshot=snap, autosave=False, persist=w.persist, title=title)
        view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        view.path = path
        view.suggested_stem = Path(snap.script).stem if snap.script else "snapshot"
        view.update_title()
        view.resize(w.size())
        self.windows.append(view)
        _OPEN.add(view)  # alive until closed, whichever window opened it is closed first

        def gone(v: MainWindow = view) -> None:
            _OPEN.discard(v)
            if v in self.windows:
                self.windows.remove(v)

        view.closed.connect(gone)
        view.show()
        view.raise_()
        view.say(f"{title}: {NOTE}")
        return view
