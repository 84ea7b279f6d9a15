"""``gradviz`` and ``python -m gradviz``: until the window exists, a short tour of the engine."""

from __future__ import annotations

import argparse
import sys


def demo() -> None:
    import gradviz as torch

    print("gradviz", torch.__version__, "- the seed notebook's example:\n")
    x = torch.tensor(3.0)
    w = torch.tensor(4.0, requires_grad=True)
    b = torch.tensor(5.0, requires_grad=True)
    y = w * x + b
    print(">>> y = w*x + b\n" + repr(y))
    y.backward()
    print(">>> y.backward()")
    for name, t in (("x", x), ("w", w), ("b", b)):
        print(f"dy/d{name}:", t.grad)
    print("\ny.grad_fn:", y.grad_fn.name(), "->", [n.name() if n else None for n, _ in y.grad_fn.next_functions])


def main(argv: list[str] | None = None) -> int:
    import gradviz

    parser = argparse.ArgumentParser(prog="gradviz", description=__doc__)
    parser.add_argument("--version", action="version", version=f"gradviz {gradviz.__version__}")
    parser.parse_args(argv)
    demo()
    return 0


if __name__ == "__main__":
    sys.exit(main())
