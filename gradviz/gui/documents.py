"""The window's documents: New, Open (a file, an example, a recent file), Save and Save As,
and the glue to autosave and crash recovery. The document state (path, title) stays on the
window, which shows it; this class changes it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .. import resources
from ..graph.snapshot import NOTE as SNAPSHOT_NOTE
from ..session import examples, fileformat, snapshot_file
from ..session.autosave import find_recovery
from ..session.document import ReplayCancelledError
from .plain import plain_tip
from .work import WorkCancelledError

if TYPE_CHECKING:
    from .main_window import MainWindow

SUFFIX = fileformat.SUFFIX


class Documents:
    """Opening and saving for one window."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def confirm_discard(self) -> bool:
        w = self.window
        if w.session is None or not w.session.dirty or w.scratch:
            return True
        answer = w.ask_save_changes()
        if answer == "save":
            return w.save()  # the window's, which a script may replace
        return answer == "discard"

    def new(self) -> None:
        w = self.window
        if not self.confirm_discard():
            return
        w.session.load_entries([], {})
        self.after_change(None, "")
        w.say("New session")

    def open_dialog(self) -> None:
        w = self.window
        if not self.confirm_discard():
            return
        path = w.ask_open_path()
        if path:
            self.open_path(path, confirmed=True)

    def open_path(self, path: str | os.PathLike[str], *, confirmed: bool = False) -> bool:
        """Open a session file; on failure say why and leave the current session untouched."""
        w = self.window
        path = Path(path)
        if snapshot_file.is_snapshot(path):  # a window of its own: this session stays as it is
            return self.open_snapshot(path)
        if not confirmed and not self.confirm_discard():
            return False
        if w.session is None:  # a viewer (of a snapshot, say) holds no session to open into
            w.show_error("Can't open this file here", f"{path.name}: open sessions in a session window.")
            return False
        try:
            self.open_off_thread(path)
        except (WorkCancelledError, ReplayCancelledError):
            w.say(f"Opening {path.name} cancelled; {self.unchanged()}")
            return False
        except (fileformat.SessionFileError, OSError) as e:
            return self._refused(path, e)
        self._remember(path)
        self.after_change(path, "")
        w.say(f"Opened {path.name}")
        if w.open_problems:
            w.show_error(
                "Opened, with a problem",
                f"{path.name} was opened, but " + "; and ".join(w.open_problems) + ".",
            )
        return True

    def open_snapshot(self, path: Path) -> bool:
        """A PyTorch snapshot file: read (never run) off the GUI thread and shown in a viewer
        window of its own; this window's session is left as it was."""
        w = self.window
        try:
            snap = w.run_off_thread(lambda progress: snapshot_file.load(path), f"Opening {path.name}…")
        except WorkCancelledError:
            w.say(f"Opening {path.name} cancelled; {self.unchanged()}")
            return False
        except fileformat.SessionFileError as e:
            return self._refused(path, e)
        self._remember(path)
        w.scripts.show(snap, path.name, path)
        w.say(f"Opened {path.name} in a window of its own: a PyTorch snapshot, viewable, not replayable")
        return True

    def _refused(self, path: Path, e: Exception) -> bool:
        """Why ``path`` did not open, said once; the open session stays as it was."""
        w = self.window
        bad_file = isinstance(e, fileformat.SessionFileError)
        w.last_open_error = str(e) if bad_file or not isinstance(e, OSError) else f"{e.strerror or e}"
        w.show_error(
            "Can't open this file",
            f"{path.name} could not be {'opened' if bad_file else 'read'}.\n\n{w.last_open_error}"
            + ("\n\nThe session you had open is unchanged." if self.had_document() else ""),
        )
        return False

    def _remember(self, path: Path) -> None:
        """An opened file goes to File ▸ Open Recent, and its folder is where the next dialog starts."""
        w = self.window
        if w.persist:
            w.recent.add(path)
            w.settings.setValue("files/last_dir", str(path.parent))

    def had_document(self) -> bool:
        w = self.window
        return bool(w.session is not None and w.session.entries) or w.path is not None

    def unchanged(self) -> str:
        return "the session you had open is unchanged" if self.had_document() else "nothing was changed"

    def open_off_thread(self, path: Path) -> None:
        """Read and replay ``path`` on a worker, then swap it in; raises what the worker raised,
        the session untouched."""
        w = self.window
        doc, state = w.run_off_thread(
            lambda progress: fileformat.prepare_document(w.session, path, progress),
            f"Opening {path.name}…",
        )
        fileformat.load_document_into(w.session, doc, path.name, state=state)
        w.open_problems = doc.problems

    def open_example(self, name: str) -> bool:
        """Open a shipped example as a new, untitled document (saving asks for a name)."""
        w = self.window
        if not self.confirm_discard():
            return False
        ex = next(e for e in examples.EXAMPLES if e.name == name)
        path = resources.examples_dir() / f"{name}{SUFFIX}"
        try:
            fileformat.open_into(w.session, path)
        except ReplayCancelledError:
            w.say(f"Opening the example cancelled; {self.unchanged()}")
            return False
        except (fileformat.SessionFileError, OSError):
            w.session.load_entries(ex.build().entries, ex.build().view)  # the file is missing: build it
        self.after_change(None, f"{ex.title} (example)")
        w.suggested_stem = ex.name
        w.say(f"Opened the example: {ex.title}")
        return True

    def after_change(self, path: Path | None, title: str, *, keep_recovery: bool = False) -> None:
        """``keep_recovery``: the document was just restored after a crash, and its fresh
        recovery file is all that keeps it until it is saved."""
        w = self.window
        w.path = path
        w.document_title = title
        w.suggested_stem = ""
        if w.autosaver is not None:
            if not keep_recovery:
                w.autosaver.discard()
            w.autosaver.set_document(path)
        if w.console is not None:
            w.console.reload()  # the document's own transcript (none for a new one)
        w.apply_document_view()
        w.canvas.reset_layouts()  # a new document: laid out afresh
        w.update_title()
        w.update_actions()

    def save(self) -> bool:
        w = self.window
        if w.session is None:
            return False
        if w.path is None:
            return self.save_as()
        return self.save_to(w.path)

    def save_as(self) -> bool:
        w = self.window
        if w.snapshot is not None:
            return self.save_snapshot_as()
        if w.session is None:
            return False
        p = self.ask_save_path("Save session", "gradviz sessions", "untitled")
        return p is not None and self.save_to(p)

    def ask_save_path(self, caption: str, kind: str, default_stem: str) -> Path | None:
        """Ask where to save, starting beside the document (or in the last folder used), the
        name given ``.gradviz`` if it was typed without; None if the person cancelled."""
        w = self.window
        stem = w.path.stem if w.path else (w.suggested_stem or default_stem)
        start = w.path.parent if w.path else Path(str(w.settings.value("files/last_dir", str(Path.home()))))
        path = w.ask_save_path(caption, f"{kind} (*{SUFFIX})", str(start / f"{stem}{SUFFIX}"))
        if not path:
            return None
        p = Path(path)
        return p if p.suffix == SUFFIX else p.with_name(p.name + SUFFIX)

    def save_to(self, path: Path) -> bool:
        w = self.window
        w.store_view()
        try:
            fileformat.save(w.session, path)
        except (fileformat.SessionFileError, OSError) as e:
            w.show_error(
                "Can't save",
                f"The session could not be saved to {path}.\n\n{e}\n\nNothing was lost: it is still open here.",
            )
            return False
        w.path = path
        w.document_title = ""
        w.recent.add(path)
        w.settings.setValue("files/last_dir", str(path.parent))
        if w.autosaver is not None:
            w.autosaver.discard()
            w.autosaver.set_document(path)
        w.update_title()
        w.say(f"Saved {path.name}")
        return True

    def save_snapshot_as(self) -> bool:
        """Save the PyTorch snapshot shown as a ``.gradviz`` file (marked as a snapshot)."""
        w = self.window
        p = self.ask_save_path("Save PyTorch snapshot", "gradviz files", "snapshot")
        if p is None:
            return False
        try:
            snapshot_file.save(w.snapshot, p)
        except (fileformat.SessionFileError, OSError) as e:
            w.show_error("Can't save", f"The snapshot could not be saved to {p}.\n\n{e}")
            return False
        w.path = p
        w.document_title = ""
        if w.persist:
            w.recent.add(p)
            w.settings.setValue("files/last_dir", str(p.parent))
        w.update_title()
        w.say(f"Saved {p.name} ({SNAPSHOT_NOTE})")
        return True

    def fill_recent(self) -> None:
        w = self.window
        w.recent_menu.clear()
        files = w.recent.files()
        if not files:
            a = w.recent_menu.addAction("No recent files")
            a.setEnabled(False)
            return
        for f in files:
            a = w.recent_menu.addAction(f.name)
            a.setToolTip(plain_tip(str(f)))
            a.setStatusTip(str(f))
            a.triggered.connect(w.guard(lambda _=False, p=f: self.open_path(p), "Open"))
        w.recent_menu.addSeparator()
        clear = w.recent_menu.addAction("Clear Recent Files")
        clear.triggered.connect(w.recent.clear)

    def offer_recovery(self) -> bool:
        """After a crash, offer to restore the recovery file it left. True if restored."""
        w = self.window
        if w.session is None:
            return False
        rec = find_recovery()
        if rec is None:
            return False
        when = rec.time.astimezone().strftime("%d %b %Y, %H:%M")
        if not w.ask_restore(when, rec.document):
            rec.discard()
            return False
        try:
            rec.open_into(w.session, w.autosaver)
        except ReplayCancelledError:
            w.say("Restoring cancelled; it will be offered again at the next start")
            return False
        except (fileformat.SessionFileError, OSError) as e:
            w.show_error(
                "Can't restore", f"The recovery file could not be read: {e}\nIt was kept at {rec.path}."
            )
            return False
        self.after_change(None, "Recovered session", keep_recovery=True)
        w.session.dirty = True
        w.update_title()
        w.say("Restored the session from before the crash; save it to keep it")
        return True
