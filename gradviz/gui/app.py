"""Starting the app: ``gradviz [FILE]``, ``gradviz --screenshot OUT.png [FILE]``, ``gradviz.show(t)``."""

from __future__ import annotations

import argparse
import gc
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

        app.setWindowIcon(app_icon())
        _quiet_qt_messages()
    return app


def app_icon() -> Any:
    """The app's icon from resources/icons, or a drawn ∇ where the icons are not installed."""
    from PySide6.QtGui import QColor, QIcon

    from .. import resources

    icon = QIcon()
    for path in resources.icon_files():
        icon.addFile(str(path))
    if icon.isNull():
        from .actions import glyph_icon

        icon = glyph_icon("∇", QColor("#2a7de1"))
    return icon


_NOISE = ("propagateSizeHints",)  # the offscreen platform's complaint, not the user's business


def _quiet_qt_messages() -> None:
    from PySide6.QtCore import qInstallMessageHandler

    def handler(mode: Any, context: Any, message: str) -> None:
        if any(n in message for n in _NOISE):
            return
        print(message, file=sys.stderr)

    qInstallMessageHandler(handler)


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


def _has_display() -> bool:
    """Whether Qt can open a window here (Qt aborts the process when it cannot)."""
    if os.environ.get("QT_QPA_PLATFORM") or sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _open_error_line(path: str, reason: str) -> str:
    """What ``gradviz --screenshot OUT FILE`` prints when FILE won't open, as ``gradviz render``
    prints it: the path, then the reason the window gave."""
    name = Path(path).name
    if reason.startswith(f"{name}: "):  # the path already names the file
        reason = reason[len(name) + 2 :]
    return f"gradviz: error: {path}: {' '.join(reason.split()) or 'could not be opened'}"


def _dispose(window: Any) -> None:
    """Close a window main() made without running the event loop (``--screenshot``), with the
    message box it may have opened, and delete it: ``main()`` can be called in a running app
    (the tests do), where a window-modal box left on screen would stay the app's active modal
    widget and hold up everything that waits for none (a file the Finder asks to open)."""
    box = window.last_message_box
    if box is not None:
        box.done(0)
    if window.session is not None:
        window.session.dirty = False
    window.close()
    window.wait_for_workers()
    window.deleteLater()


def _snapshot_window(path: str, persist: bool) -> Any:
    """The window of a PyTorch snapshot file, or None: not a snapshot, or one that won't open
    (the session window then opens it, and says why it can't)."""
    from ..session import snapshot_file
    from .main_window import MainWindow

    if not snapshot_file.is_snapshot(path):
        return None
    try:
        snap = snapshot_file.load(path)
    except snapshot_file.SessionFileError:
        return None
    window = MainWindow(snapshot=snap, autosave=False, persist=persist, title=Path(path).name)
    window.path = Path(path)
    window.update_title()
    return window


def main(argv: Sequence[str] | None = None) -> int:
    """The ``gradviz`` command (without ``render``): open the window."""
    argv = list(sys.argv[1:] if argv is None else argv)
    import gradviz
    from gradviz.resources import example_names

    parser = argparse.ArgumentParser(
        prog="gradviz",
        description="See autograd at work: open the gradviz window, optionally on a session file "
        "or one of the examples.",
        epilog=f"examples: {', '.join(example_names())}. "
        "Without a window: `gradviz render INPUT -o OUT` (or `gradviz render --example NAME -o OUT`) "
        "draws a graph to PNG, SVG, PDF, DOT or GraphML; see `gradviz render --help`.",
    )
    parser.add_argument("file", nargs="?", metavar="FILE", help="a .gradviz session to open")
    parser.add_argument(
        "--example", choices=example_names(), metavar="NAME", help="open a shipped example (listed below)"
    )
    parser.add_argument("--version", action="version", version=f"gradviz {gradviz.__version__}")
    parser.add_argument(
        "--screenshot", metavar="OUT.png", help="render the window offscreen to an image and exit"
    )
    parser.add_argument("--view", choices=("tensors", "autograd"), help="which view of the graph to show")
    parser.add_argument("--size", default="1360x860", metavar="WxH", help="window size for --screenshot")
    args = parser.parse_args(argv)
    if args.file and args.example:
        parser.error("give a FILE or --example, not both")

    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.file and not Path(args.file).exists():
        print(f"gradviz: error: {args.file}: no such file", file=sys.stderr)
        return 1
    if not args.screenshot and not _has_display():
        print(
            "gradviz: error: there is no display to open the window on (DISPLAY and WAYLAND_DISPLAY are "
            "not set). `gradviz --screenshot OUT.png FILE` and `gradviz render INPUT -o OUT` work "
            "without one.",
            file=sys.stderr,
        )
        return 1
    app = application([sys.argv[0] if sys.argv else APP_NAME])
    opener = None
    if not args.screenshot:
        from .file_open import FileOpenHandler

        # From here on a file the system asks us to open (macOS: Finder, the Dock, and maybe
        # the launch file itself) is kept until the window is up, then opened in it.
        opener = FileOpenHandler(app)
    from .main_window import MainWindow

    # `gradviz SNAPSHOT.gradviz`: the snapshot's own window (it holds no session)
    window = _snapshot_window(args.file, not args.screenshot) if args.file else None
    if window is None:
        window = MainWindow(autosave=not args.screenshot, persist=not args.screenshot)
        if args.file and not window.open_path(args.file, confirmed=True) and args.screenshot:
            print(_open_error_line(args.file, window.last_open_error), file=sys.stderr)
            _dispose(window)  # its "Can't open this file" box must not outlive main()
            return 1
    if args.example:
        window.open_example(args.example)
    if args.view:
        window.set_view(args.view)
    if args.screenshot:
        try:
            w, h = (int(v) for v in args.size.lower().split("x"))
        except ValueError:
            print(
                f"gradviz: error: --size {args.size!r}: expected WIDTHxHEIGHT, e.g. 1360x860", file=sys.stderr
            )
            _dispose(window)
            return 2
        try:
            out = screenshot(window, args.screenshot, (w, h))
        except OSError as e:
            print(f"gradviz: error: {e}", file=sys.stderr)
            return 1
        finally:
            _dispose(window)
        print(out)
        return 0
    _install_excepthook(window)
    window.show()
    window.offer_recovery()
    if opener is not None:
        opener.attach(window)
    # What start-up made lives as long as the app: keep it out of the garbage collector's full
    # sweeps, which stop every thread (the GUI's included) for as long as they take.
    gc.collect()
    gc.freeze()
    try:
        return app.exec()
    finally:
        if opener is not None:  # the app may outlive main() (the tests run it in theirs)
            opener.close()
            opener.deleteLater()


def show(
    outputs: Any,
    *,
    view: str = "tensors",
    names: Mapping[str, Any] | None = None,
    title: str = "",
    model: Any = None,
) -> None:
    """Open a window with the graph of ``outputs`` and return when it is closed (like plt.show()).

    ``names``: ``{name: tensor}`` labels; by default the caller's variable names are used.
    PyTorch tensors are drawn from torch's own graph; ``model``: an ``nn.Module`` whose
    parameters are then named by their module path (``layer1.0.conv1.weight``).

    ``outputs`` may be the run a ``with gradviz.watch(net) as run:`` block recorded (or the
    loss of its last step): the window then shows the last step's graph with the Training
    panel, whose scrubber shows each step's parameter values and gradients (``run.show()``
    does the same).
    """
    import inspect

    from ..graph.model import check_outputs

    run = watched_run(outputs)
    if run is None:
        # Before any window: a PyTorch tensor (or a number, or None) would fail deep inside.
        outputs = check_outputs(outputs, "gradviz.show()")

    from PySide6.QtCore import QEventLoop, Qt

    if names is None:
        frame = inspect.currentframe()
        caller = frame.f_back if frame is not None else None
        try:
            namespace = {**(caller.f_globals if caller else {}), **(caller.f_locals if caller else {})}
        finally:
            del frame, caller
        names = {k: v for k, v in namespace.items() if not k.startswith("_")}
    app = application()
    from .main_window import MainWindow

    if run is not None:
        window = training_window(run, names=names, title=title)
    else:
        window = MainWindow(
            tensors=outputs, names=reachable(outputs, names, model), autosave=False, title=title or "graph"
        )
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if view != "tensors":
        window.set_view(view)
    window.show()
    window.raise_()
    loop = QEventLoop()
    window.closed.connect(loop.quit)
    loop.exec()
    del app


def watched_run(outputs: Any) -> Any:
    """The ``gradviz.watch`` run ``outputs`` stands for: the run itself, or its last step's loss."""
    from ..session.torch_training import TorchRun, last_run

    if isinstance(outputs, TorchRun):
        if outputs.last_loss is None:
            raise ValueError(
                "gradviz.show(): the watched block ran no backward(), so there is nothing to show"
            )
        return outputs
    run = last_run()
    return run if run is not None and run.last_loss is not None and outputs is run.last_loss else None


def training_window(
    run: Any, *, names: Mapping[str, Any] | None = None, title: str = "", **options: Any
) -> Any:
    """The window on a ``gradviz.watch`` run, not yet shown (``show()`` runs it until closed):
    the last step's graph, its parameters named by module path and its loss by the loop's
    name for it, with the Training panel plotting every step. ``names``: more labels
    (``{name: torch tensor}``); ``options``: MainWindow's (``persist=False``...)."""
    from .main_window import MainWindow

    loss = run.last_loss
    labels = {run.loss_name: loss, **{k: v for k, v in (names or {}).items() if v is not loss}}
    record = run.capture.record if run.capture is not None else None
    window = MainWindow(
        tensors=loss,
        names=reachable(loss, labels, run.model),
        autosave=False,
        title=title or f"training {type(run.model).__name__}",
        record=record,
        **options,
    )
    window.training_view.show_run(run)
    return window


def reachable(outputs: Any, names: Mapping[str, Any], model: Any = None) -> dict[str, Any]:
    """The named tensors that the graph of ``outputs`` contains; PyTorch's through torch's graph,
    a model's parameters under their module names first."""
    from ..graph.torch_graph import module_names, torch_outputs
    from ..graph.torch_graph import reachable_names as torch_reachable

    if not torch_outputs(outputs):
        return _reachable(outputs, names)
    named = module_names(model)
    taken = {id(t) for t in named.values()}
    named.update({k: v for k, v in names.items() if id(v) not in taken})
    return torch_reachable(outputs, named)


def _reachable(outputs: Any, names: Mapping[str, Any]) -> dict[str, Any]:
    """The named tensors that the graph of ``outputs`` contains (the outputs included)."""
    from ..engine.tensor import Tensor

    if isinstance(outputs, Tensor):
        roots = [outputs]
    elif isinstance(outputs, Mapping):
        roots = list(outputs.values())
    else:
        roots = list(outputs)
    seen: set[int] = {id(t) for t in roots}
    nodes = [t.grad_fn for t in roots if t.grad_fn is not None]
    visited: set[int] = set()
    while nodes:
        n = nodes.pop()
        if id(n) in visited:
            continue
        visited.add(id(n))
        out = n.output()
        if out is not None:
            seen.add(id(out))
        seen.update(id(x) for x in getattr(n, "inputs", ()) if isinstance(x, Tensor))
        var = getattr(n, "variable", None)
        if var is not None:
            seen.add(id(var))
        nodes.extend(fn for fn, _ in n.next_functions if fn is not None)
    return {k: v for k, v in names.items() if isinstance(v, Tensor) and id(v) in seen}
