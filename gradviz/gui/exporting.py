"""File › Export Image and File › Export as Python for a window.

An image is drawn off the GUI thread (a :class:`WorkerJob`) from what the canvas shows: its
graph, colours, legend and, when the graph has not changed since, its very layout. A script is
small and written at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
from PySide6.QtCore import QObject, Qt, QThreadPool, Signal

from ..graph.export import FORMATS, render_bytes
from ..graph.layout import Layout
from ..graph.layout import layout as run_layout
from ..session import export_python, fileformat
from .work import Progress, WorkCancelledError, WorkerJob

if TYPE_CHECKING:
    from .main_window import MainWindow

EXPORT_FILTERS = (
    "PNG image (*.png)",
    "SVG image (*.svg)",
    "PDF document (*.pdf)",
    "Graphviz DOT (*.dot)",
    "GraphML (*.graphml)",
)


def _render_task(
    graph: nx.DiGraph, fmt: str, options: dict, layout: Layout | None, direction: str
) -> WorkerJob:
    def reuse(sized: nx.DiGraph) -> Layout:  # the picture on screen, not a new layout
        if layout is not None and layout.direction == direction and set(sized.nodes) == set(layout.positions):
            return layout
        return run_layout(sized, direction=direction)

    def run(_progress: Progress) -> bytes:
        return render_bytes(graph, fmt, layout=reuse, **options)

    return WorkerJob(run)


class Exporter(QObject):
    """Exports for one window; ``finished`` carries the path written ('' if it failed or was
    cancelled)."""

    finished = Signal(str)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.job: WorkerJob | None = None
        self._jobs: set[WorkerJob] = set()  # running, cancelled or not (kept alive until done)
        self._pool = QThreadPool(self)

    @property
    def busy(self) -> bool:
        return self.job is not None

    def wait_for_workers(self, msecs: int) -> None:
        self._pool.waitForDone(msecs)

    # --- images ------------------------------------------------------------------------------------
    def image_dialog(self) -> None:
        w = self.window
        stem = w.path.stem if w.path else "graph"
        start = Path(str(w.settings.value("files/export_dir", str(Path.home()))))
        path = w.ask_save_path("Export image", ";;".join(EXPORT_FILTERS), str(start / f"{stem}.png"))
        if path:
            self.image(path)

    def image(self, path: str | os.PathLike[str]) -> bool:
        """Export what the canvas shows, colours and legend included, off the GUI thread."""
        w, canvas = self.window, self.window.canvas
        p = Path(path)
        fmt = p.suffix.lstrip(".").lower()
        if fmt not in FORMATS:
            w.show_error(
                "Export",
                f"gradviz can't tell the format of {p.name!r}: end the name in .{', .'.join(FORMATS)}.",
            )
            return False
        if canvas.graph.number_of_nodes() == 0:
            w.show_error("Export", "There is nothing to export yet: the graph is empty.")
            return False
        if self.job is not None:
            w.say("An export is already running")
            return False
        options = {
            "stat": canvas.stat,
            "cmap": canvas.cmap,
            "scale": canvas.color_scale or canvas.scale_mode,  # the colours on screen
            "legend": canvas.show_legend,
        }
        job = _render_task(canvas.graph, fmt, options, canvas.current_layout(), canvas.direction)
        job.context = p
        job.signals.finished.connect(self._image_done, Qt.ConnectionType.QueuedConnection)
        self.job = job
        self._jobs.add(job)
        w.progress.show()
        w.progress_cancel.show()
        w.say(f"Exporting {p.name}…")
        self._pool.start(job)
        return True

    def cancel(self) -> None:
        """Stop waiting for the running export; its file is never written."""
        if self.job is None:
            return
        self.job.cancel()
        self.job = None
        w = self.window
        w.progress.hide()
        w.progress_cancel.hide()
        w.say("Export cancelled; no file was written")
        self.finished.emit("")

    def _image_done(self, job: WorkerJob) -> None:
        self._jobs.discard(job)
        if job.cancelled or job is not self.job:
            return
        self.job = None
        w, path = self.window, job.context
        w.progress.hide()
        w.progress_cancel.hide()
        if job.error is not None or job.result is None:
            e = job.error
            w.show_error("Export failed", f"{path.name} could not be drawn: {type(e).__name__}: {e}")
            self.finished.emit("")
            return
        try:
            fileformat.write_atomic(path, job.result)
        except OSError as e:
            w.show_error("Export failed", f"{path} could not be written: {e.strerror or e}")
            self.finished.emit("")
            return
        w.settings.setValue("files/export_dir", str(path.parent))
        w.say(f"Exported {path.name}")
        self.finished.emit(str(path))

    # --- animation ---------------------------------------------------------------------------------
    def animation_dialog(self) -> None:
        w = self.window
        stem = w.path.stem if w.path else (w.suggested_stem or "backward")
        start = Path(str(w.settings.value("files/export_dir", str(Path.home()))))
        path = w.ask_save_path(
            "Export Animation", "Animated GIF (*.gif)", str(start / f"{stem}-backward.gif")
        )
        if path:
            self.animation(path)

    def animation(self, path: str | os.PathLike[str]) -> bool:
        """Backward step by step as a GIF (the steps Step Through shows), made off the GUI thread
        with progress and Cancel; the file is written whole or not at all."""
        from ..graph.animate import frames, write_animation
        from .stepper import steps_for

        w = self.window
        p = Path(path)
        if p.suffix.lower() != ".gif":
            p = p.with_name(p.name + ".gif")
        steps, _ = steps_for(w)
        c = w.canvas
        options = {"view": c.view_mode, "stat": c.stat, "cmap": c.cmap, "scale": c.scale_mode}

        def task(progress: Progress) -> Path:
            images = list(frames(steps.tensors(), steps.trace, steps.names(), progress=progress, **options))
            return write_animation(p, images)

        try:
            w.run_off_thread(task, f"Drawing {len(steps.trace)} steps of {steps.target}.backward()…")
        except WorkCancelledError:
            w.say("Export Animation cancelled; nothing was written")
            return False
        except OSError as e:
            w.show_error("Export failed", f"{p} could not be written: {e.strerror or e}")
            return False
        w.settings.setValue("files/export_dir", str(p.parent))
        w.say(f"Exported {p.name}: {len(steps.trace)} steps of {steps.target}.backward()")
        return True

    # --- Python ------------------------------------------------------------------------------------
    def python_dialog(self) -> None:
        w = self.window
        stem = w.path.stem if w.path else (w.suggested_stem or "session")
        start = w.path.parent if w.path else Path(str(w.settings.value("files/last_dir", str(Path.home()))))
        path = w.ask_save_path("Export as Python", "Python scripts (*.py)", str(start / f"{stem}.py"))
        if path:
            self.python(path)

    def python(self, path: str | os.PathLike[str]) -> bool:
        """Write the console's work as a script that runs under ``import torch``."""
        w = self.window
        p = Path(path)
        if p.suffix != ".py":
            p = p.with_name(p.name + ".py")
        text = export_python.script(w.session.transcript if w.session is not None else [], p.name)
        try:
            fileformat.write_atomic(p, text.encode("utf-8"))
        except OSError as e:
            w.show_error("Can't export", f"The script could not be written to {p}.\n\n{e.strerror or e}")
            return False
        w.say(f"Exported {p.name}: run it with python {p.name}")
        return True
