"""``gradviz`` and ``python -m gradviz``.

``gradviz [FILE.gradviz]``: open the window (on a session file).
``gradviz --screenshot OUT.png [FILE]``: render the window offscreen to an image and exit.
``gradviz render INPUT -o OUT.{png,svg,pdf,dot,graphml}``: draw a graph without a display
(``--step K``: as it stands after step K of backward).
``gradviz animate INPUT -o OUT.gif``: backward step by step, as an animation for slides.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

DEFAULT_TIMEOUT = 300.0  # seconds: a render that takes longer is stuck or far too large
TIMEOUT_EXIT = 124  # as GNU timeout exits


class RenderTimeoutError(BaseException):
    """Raised by the alarm; a BaseException, like KeyboardInterrupt, so that no ``except
    Exception`` in a rendered script (or in the renderer's own error reporting) swallows it."""


@contextlib.contextmanager
def _time_limit(seconds: float, what: str) -> Iterator[None]:
    """Stop the work inside after ``seconds``: SIGALRM raises between Python steps (each op is
    priced so that none runs long, and a Graphviz child process is killed with it); should
    the process still be inside C code a few seconds later, it exits all the same."""
    if seconds <= 0:
        yield
        return

    def give_up() -> None:
        print(
            f"gradviz render: error: {what} took longer than {seconds:g} s (--timeout); stopped",
            file=sys.stderr,
        )
        sys.stderr.flush()
        os._exit(TIMEOUT_EXIT)

    def on_alarm(signum: int, frame: object) -> None:
        raise RenderTimeoutError

    hard = threading.Timer(seconds + 5, give_up)
    hard.daemon = True
    hard.start()
    alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if alarm:
        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        hard.cancel()
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def render_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gradviz render",
        description="Draw the computation graph of INPUT to OUT without opening a window. INPUT is a "
        "Python script that builds tensors with gradviz (it is run, so pass only scripts you trust); "
        "every tensor it leaves bound to a name is drawn under that name.",
    )
    from gradviz.resources import example_file, example_names

    parser.add_argument(
        "input",
        metavar="INPUT",
        nargs="?",
        help="a .gradviz file (a session, or a PyTorch snapshot), or a .py script that builds tensors",
    )
    parser.add_argument(
        "--example",
        choices=example_names(),
        metavar="NAME",
        help=f"draw a shipped example instead of INPUT: {', '.join(example_names())}",
    )
    parser.add_argument(
        "-o", "--output", metavar="OUT", required=True, help="OUT.png, .svg, .pdf, .dot or .graphml"
    )
    parser.add_argument("--view", choices=("tensors", "autograd"), default="tensors")
    parser.add_argument(
        "--stat",
        choices=("norm", "mean", "maxabs"),
        default="norm",
        help="gradient statistic that colours nodes",
    )
    parser.add_argument(
        "--cmap",
        default=None,
        help="a colour map name from the cmap library (default: viridis; vik for mean)",
    )
    parser.add_argument(
        "--scale",
        choices=("auto", "linear", "log"),
        default="auto",
        help="auto (the default): log when the gradients span 2 decades (100 times) or more",
    )
    parser.add_argument(
        "--torch",
        action="store_true",
        help="INPUT is a script that uses real PyTorch (pip install torch): run it, with its "
        "forward and backward captured, and draw the PyTorch tensors it leaves",
    )
    parser.add_argument("--edge-labels", action="store_true", help="label edges with tensor shapes")
    parser.add_argument("--no-legend", action="store_true")
    parser.add_argument("--no-elements", action="store_true", help="no per-element gradient cells")
    parser.add_argument("--title", default="")
    parser.add_argument(
        "--no-fold",
        action="store_true",
        help="draw every repetition of a loop (default: in a graph of more than 150 nodes, a run of "
        "3 or more repetitions is one group, × N)",
    )
    parser.add_argument(
        "--step",
        type=int,
        metavar="K",
        help="draw the graph after step K of its backward (0: the output receives its gradient; "
        "-1: the last step); a session steps through its last backward()",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"stop and exit with status {TIMEOUT_EXIT} after this long (default {DEFAULT_TIMEOUT:g}; 0: no limit)",
    )
    args = parser.parse_args(argv)
    if (args.input is None) == (args.example is None):
        parser.error("give INPUT or --example NAME (one of them)")
    if args.example:
        args.input = str(example_file(args.example))
    try:
        with _time_limit(args.timeout, f"rendering {args.input}"):
            return _render(args)
    except RenderTimeoutError:
        print(
            f"gradviz render: error: rendering {args.input} took longer than {args.timeout:g} s "
            "(--timeout); stopped, nothing was written",
            file=sys.stderr,
        )
        return TIMEOUT_EXIT
    except KeyboardInterrupt:  # Ctrl+C: the person stopped it
        print(f"gradviz render: stopped; {args.output} was not written", file=sys.stderr)
        return 130


def _render(args: argparse.Namespace) -> int:

    from gradviz.graph.render import RenderError, render

    if args.step is not None:
        return _render_step(args)
    tensors = graph = fit_on = None
    if args.input.endswith(".gradviz"):
        from gradviz.session import snapshot_file
        from gradviz.session.document import Session
        from gradviz.session.fileformat import SessionFileError, open_into

        try:
            if snapshot_file.is_snapshot(args.input):  # a PyTorch script's graph, kept as data
                views = snapshot_file.load(args.input).views
                graph, fit_on = views[args.view][0], views["tensors"][0]
            else:
                session = Session()
                open_into(session, args.input)
                tensors = session.tensors(include_hidden=False)  # as the window draws it
        except (SessionFileError, OSError) as exc:
            reason = str(exc).removeprefix(f"{os.path.basename(args.input)}: ")  # named once
            print(f"gradviz render: error: {args.input}: {reason}", file=sys.stderr)
            return 1
    try:
        scale = args.scale
        if fit_on is not None:  # a snapshot coloured as the live graph and the window colour it:
            from gradviz.graph.style import fit_scale  # fitted on the Tensors view, for both views

            scale = fit_scale(fit_on, args.stat, args.cmap, args.scale)
        out = render(
            args.input,
            args.output,
            tensors=tensors,
            graph=graph,
            view=args.view,
            stat=args.stat,
            cmap=args.cmap,
            scale=scale,
            edge_labels=args.edge_labels,
            legend=not args.no_legend,
            elements=not args.no_elements,
            title=args.title,
            fold=not args.no_fold,
            torch=args.torch,
        )
    except RenderError as exc:
        print(f"gradviz render: error: {exc}", file=sys.stderr)
        return 1
    except (LookupError, ValueError) as exc:  # e.g. an unknown colour map name
        print(f"gradviz render: error: {args.input}: {exc}", file=sys.stderr)
        return 1
    print(out)
    return 0


class _StepsError(Exception):
    """What stops a step render or an animation, worded for one line."""


def _steps(path: str) -> tuple[dict, object, dict[int, str]]:
    """(tensors to draw, the trace of their backward, names by tensor id) for a session file
    (its last backward) or a script (a backward from its last scalar result)."""
    from gradviz.engine.trace import trace_backward
    from gradviz.graph.render import RenderError, load_script
    from gradviz.session.document import Session, SessionError

    if path.endswith(".gradviz"):
        from gradviz.session.backward_steps import last_backward
        from gradviz.session.fileformat import SessionFileError, open_into
        from gradviz.session.snapshot_file import is_snapshot

        if is_snapshot(path):
            raise _StepsError(
                "a PyTorch snapshot keeps its graph as data, not a backward to step through; "
                "draw it without --step"
            )
        session = Session()
        try:
            open_into(session, path)
            steps = last_backward(session)
        except (SessionFileError, OSError, SessionError) as exc:
            raise _StepsError(str(exc).removeprefix(f"{os.path.basename(path)}: ")) from None
        return steps.tensors(), steps.trace, steps.names()
    try:
        tensors = load_script(path)
    except RenderError as exc:
        raise _StepsError(str(exc).removeprefix(f"{path}: ")) from None
    results = [(n, t) for n, t in tensors.items() if t.grad_fn is not None]
    if not results:
        raise _StepsError("no result that requires grad to step backward through")
    scalars = [(n, t) for n, t in results if t.numel() == 1]
    name, out = (scalars or results)[-1]
    try:
        trace = trace_backward(out)
    except RuntimeError as exc:
        raise _StepsError(f"{name}.backward() cannot be stepped through: {exc}") from None
    return tensors, trace, {id(t): n for n, t in tensors.items()}


def _render_step(args: argparse.Namespace) -> int:
    from gradviz.graph.export import FORMATS, export
    from gradviz.graph.stepping import describe_step, final_scale, step_graph

    try:
        tensors, trace, names = _steps(args.input)
    except _StepsError as exc:
        print(f"gradviz render: error: {args.input}: {exc}", file=sys.stderr)
        return 1
    n = len(trace)
    k = args.step + n if args.step < 0 else args.step
    if not 0 <= k < n:
        print(
            f"gradviz render: error: --step {args.step}: this backward has steps 0 to {n - 1}",
            file=sys.stderr,
        )
        return 1
    out = args.output
    if os.path.splitext(out)[1].lstrip(".").lower() not in FORMATS:
        print(
            f"gradviz render: error: {out}: unknown output format; use .{', .'.join(FORMATS)}",
            file=sys.stderr,
        )
        return 1
    try:
        cs = final_scale(tensors, trace, view=args.view, stat=args.stat, cmap=args.cmap, scale=args.scale)
        g = step_graph(tensors, trace, k, view=args.view)
        title = args.title or describe_step(trace, k, names)[0]
        path = export(
            g, out, scale=cs, edge_labels=args.edge_labels, legend=not args.no_legend,
            elements=not args.no_elements, title=title,
        )  # fmt: skip
    except (LookupError, ValueError, OSError) as exc:
        print(f"gradviz render: error: {out}: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


def animate_main(argv: list[str]) -> int:
    from gradviz.resources import example_file, example_names

    parser = argparse.ArgumentParser(
        prog="gradviz animate",
        description="Write INPUT's backward pass step by step as an animated GIF, for slides: each "
        "frame is the graph after one step, with the step in words beneath it. A session file "
        "steps through its last backward(); a script, a backward from its last scalar result.",
    )
    parser.add_argument("input", metavar="INPUT", nargs="?", help="a .gradviz session file or a .py script")
    parser.add_argument(
        "--example", choices=example_names(), metavar="NAME", help="a shipped example instead"
    )
    parser.add_argument("-o", "--output", metavar="OUT.gif", required=True)
    parser.add_argument("--view", choices=("tensors", "autograd"), default="tensors")
    parser.add_argument("--stat", choices=("norm", "mean", "maxabs"), default="norm")
    parser.add_argument("--cmap", default=None)
    parser.add_argument("--scale", choices=("auto", "linear", "log"), default="auto")
    parser.add_argument("--seconds", type=float, default=1.6, help="seconds per step (default 1.6)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS")
    args = parser.parse_args(argv)
    if (args.input is None) == (args.example is None):
        parser.error("give INPUT or --example NAME (one of them)")
    if args.example:
        args.input = str(example_file(args.example))
    if not args.output.lower().endswith(".gif"):
        parser.error(f"{args.output}: animations are written as .gif")
    try:
        with _time_limit(args.timeout, f"animating {args.input}"):
            return _animate(args)
    except RenderTimeoutError:
        print(
            f"gradviz animate: error: took longer than {args.timeout:g} s (--timeout); stopped",
            file=sys.stderr,
        )
        return TIMEOUT_EXIT
    except KeyboardInterrupt:
        print(f"gradviz animate: stopped; {args.output} was not written", file=sys.stderr)
        return 130


def _animate(args: argparse.Namespace) -> int:
    from gradviz.graph.animate import frames, write_animation

    try:
        tensors, trace, names = _steps(args.input)
    except _StepsError as exc:
        print(f"gradviz animate: error: {args.input}: {exc}", file=sys.stderr)
        return 1
    try:
        images = list(
            frames(tensors, trace, names, view=args.view, stat=args.stat, cmap=args.cmap, scale=args.scale)
        )
        path = write_animation(args.output, images, args.seconds)
    except (LookupError, ValueError, OSError) as exc:
        print(f"gradviz animate: error: {args.output}: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "render":
        return render_main(argv[1:])
    if argv and argv[0] == "animate":
        return animate_main(argv[1:])
    from gradviz.gui.app import main as gui_main  # imports Qt only once a window is wanted

    try:
        return gui_main(argv)
    except ImportError as exc:
        if "PySide6" not in str(exc):
            raise
        print(
            f"gradviz: error: the window needs PySide6 ({exc}); install it with: pip install PySide6",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
