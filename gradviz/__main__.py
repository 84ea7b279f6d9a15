"""``gradviz`` and ``python -m gradviz``.

``gradviz [FILE.gradviz]``: open the window (on a session file).
``gradviz --screenshot OUT.png [FILE]``: render the window offscreen to an image and exit.
``gradviz render INPUT -o OUT.{png,svg,pdf,dot,graphml}``: draw a graph without a display.
"""

from __future__ import annotations

import argparse
import sys


def render_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gradviz render",
        description="Draw the computation graph of INPUT to OUT without opening a window. INPUT is a "
        "Python script that builds tensors with gradviz (it is run, so pass only scripts you trust); "
        "every tensor it leaves bound to a name is drawn under that name.",
    )
    parser.add_argument(
        "input", metavar="INPUT", help="a .gradviz session file, or a .py script that builds tensors"
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
    parser.add_argument("--scale", choices=("linear", "log"), default="linear")
    parser.add_argument("--edge-labels", action="store_true", help="label edges with tensor shapes")
    parser.add_argument("--no-legend", action="store_true")
    parser.add_argument("--no-elements", action="store_true", help="no per-element gradient cells")
    parser.add_argument("--title", default="")
    args = parser.parse_args(argv)

    from gradviz.graph.render import RenderError, render

    tensors = None
    if args.input.endswith(".gradviz"):
        from gradviz.session.document import Session
        from gradviz.session.fileformat import SessionFileError, open_into

        session = Session()
        try:
            open_into(session, args.input)
        except (SessionFileError, OSError) as exc:
            print(f"gradviz render: error: {args.input}: {exc}", file=sys.stderr)
            return 1
        tensors = session.tensors()
    try:
        out = render(
            args.input,
            args.output,
            tensors=tensors,
            view=args.view,
            stat=args.stat,
            cmap=args.cmap,
            scale=args.scale,
            edge_labels=args.edge_labels,
            legend=not args.no_legend,
            elements=not args.no_elements,
            title=args.title,
        )
    except RenderError as exc:
        print(f"gradviz render: error: {exc}", file=sys.stderr)
        return 1
    except (LookupError, ValueError) as exc:  # e.g. an unknown colour map name
        print(f"gradviz render: error: {args.input}: {exc}", file=sys.stderr)
        return 1
    print(out)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "render":
        return render_main(argv[1:])
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
