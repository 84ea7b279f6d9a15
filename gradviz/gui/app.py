"""Starting the app: ``gradviz [FILE]``, ``gradviz --screenshot OUT.png [FILE]``, ``gradviz.show(t)``."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

APP_NAME = "gradviz"


def application(argv: Sequence[str] | None = None) -> Any:
    """The running QApplication, made if there is none yet."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(list(argv) if argv else [APP_NAME])
        import gradviz

        app.setApplicationName(APP_NAME)
        app.setApplicationDisplayName("gradviz")
        app.setOrganizationName(APP_NAME)
        app.setApplicationVersion(gradviz.__version__)
        app.setDesktopFileName("gradviz")
        from .main_window import glyph_icon

        from PySide6.QtGui import QColor

        app.setWindowIcon(glyph_icon("∇", QColor("#2a7de1")))
    return app


def _install_excepthook(window: Any) -> None:
    """An unexpected error in a slot becomes a message; the app keeps running."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, value, tb)
            return
        traceback.print_exception(kind, value, tb)
        try:
            window.show_error(
                "Something went wrong",
                f"{kind.__name__}: {value}\n\nYour session is safe and gradviz keeps running.",
                "".join(traceback.format_exception(kind, value, tb)),
            )
        except Exception:
            previous(kind, value, tb)

    sys.excepthook = hook


def screenshot(window: Any, out: str | os.PathLike[str], size: tuple[int, int] = (1360, 860)) -> Path:
    """Render ``window`` offscreen to an image once its graph is drawn."""
    from PySide6.QtWidgets import QApplication

    window.resize(*size)
    window.show()
    app = QApplication.instance()
    for _ in range(5):
        app.processEvents()
    window.canvas.wait_until_idle(120)
    app.processEvents()
    window.canvas.fit()
    app.processEvents()
    out = Path(out)
    if not window.grab().save(str(out)):
        raise OSError(f"could not write {out}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """The ``gradviz`` command (without ``render``): open the window."""
    argv = list(sys.argv[1:] if argv is None else argv)
    import gradviz

    parser = argparse.ArgumentParser(
        prog="gradviz",
        description="See autograd at work: open the gradviz window, optionally on a session file. "
        "`gradviz render INPUT -o OUT` draws a graph without a window.",
    )
    parser.add_argument("file", nargs="?", metavar="FILE", help="a .gradviz session to open")
    parser.add_argument("--version", action="version", version=f"gradviz {gradviz.__version__}")
    parser.add_argument("--screenshot", metavar="OUT.png", help="render the window offscreen to an image and exit")
    parser.add_argument("--view", choices=("tensors", "autograd"), help="which view of the graph to show")
    parser.add_argument("--size", default="1360x860", metavar="WxH", help="window size for --screenshot")
    args = parser.parse_args(argv)

    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.file and not Path(args.file).exists():
        print(f"gradviz: error: {args.file}: no such file", file=sys.stderr)
        return 1
    app = application([sys.argv[0] if sys.argv else APP_NAME])
    from .main_window import MainWindow

    window = MainWindow(autosave=not args.screenshot)
    if args.file and not window.open_path(args.file, confirmed=True):
        if args.screenshot:
            box = window.last_message_box
            text = box.text() if box is not None else "could not open"
            print(f"gradviz: error: {args.file}: {text.splitlines()[0] if text else ''}", file=sys.stderr)
            return 1
    if args.view:
        window.set_view(args.view)
    if args.screenshot:
        try:
            w, h = (int(v) for v in args.size.lower().split("x"))
        except ValueError:
            print(f"gradviz: error: --size {args.size!r}: expected WIDTHxHEIGHT, e.g. 1360x860", file=sys.stderr)
            return 2
        try:
            out = screenshot(window, args.screenshot, (w, h))
        except OSError as e:
            print(f"gradviz: error: {e}", file=sys.stderr)
            return 1
        window.session.dirty = False
        window.close()
        print(out)
        return 0
    _install_excepthook(window)
    window.show()
    window.offer_recovery()
    return app.exec()


def show(outputs: Any, *, view: str = "tensors", names: Mapping[str, Any] | None = None, title: str = "") -> None:
    """Open a window with the graph of ``outputs`` and return when it is closed (like plt.show()).

    ``names``: ``{name: tensor}`` labels; by default the caller's variable names are used.
    """
    from PySide6.QtCore import QEventLoop

    from ..graph.draw import caller_names
    from ..engine.tensor import Tensor

    if names is None:
        by_id = caller_names()
        # caller_names gives {id: name}; the window wants {name: tensor}, found among the outputs' graph
        names = _names_for(outputs, by_id)
    app = application()
    from .main_window import MainWindow

    window = MainWindow(tensors=outputs, names=dict(names), autosave=False, title=title or "graph")
    if view != "tensors":
        window.set_view(view)
    window.show()
    window.raise_()
    loop = QEventLoop()
    window.closed.connect(loop.quit)
    window.setAttribute(window.windowFlags() and __import__("PySide6.QtCore", fromlist=["Qt"]).Qt.WidgetAttribute.WA_DeleteOnClose)
    loop.exec()
    del app, Tensor


def _names_for(outputs: Any, by_id: Mapping[int, str]) -> dict[str, Any]:
    """The caller's named tensors that the graph of ``outputs`` contains."""
    from ..engine.tensor import Tensor

    roots = [outputs] if isinstance(outputs, Tensor) else list(outputs.values()) if isinstance(outputs, Mapping) else list(outputs)
    found: dict[str, Any] = {}
    seen: set[int] = set()
    stack: list[Any] = list(roots)
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if id(t) in by_id:
            found.setdefault(by_id[id(t)], t)
        fn = t.grad_fn
        if fn is not None:
            nodes = [fn]
            visited: set[int] = set()
            while nodes:
                n = nodes.pop()
                if id(n) in visited:
                    continue
                visited.add(id(n))
                for x in getattr(n, "inputs", ()):
                    if isinstance(x, Tensor) and id(x) not in seen:
                        stack.append(x)
                for nf, _ in n.next_functions:
                    if nf is not None:
                        nodes.append(nf)
    return found
