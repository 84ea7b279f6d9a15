"""Make the README's screenshots of the main window, offscreen: ``python docs/screenshots.py``.

Three states: empty; after the seed notebook's ``y.backward()`` (typed in the console, w selected:
its paths to y are lit); the MLP example (h selected, its gradient as a heatmap); and, with PyTorch installed, the
snapshot window of ``examples/torch_mlp.py`` opened with File › Open PyTorch Script. Settings and recovery files go to a
temporary folder, so the screenshots do not depend on (or change) the user's preferences.
"""

from __future__ import annotations

import sys
from pathlib import Path

from offscreen import OUT, SIZE, MainWindow, application, screenshot  # first: Qt offscreen

SEED = (
    "x = torch.tensor(3.)",
    "w = torch.tensor(4., requires_grad=True)",
    "b = torch.tensor(5., requires_grad=True)",
    "y = w*x + b",
    "y.backward()",
    "w.grad, b.grad, x.grad",
)


def window() -> MainWindow:
    w = MainWindow(autosave=False, persist=False)
    w.ask_save_changes = lambda: "discard"
    w.resize(*SIZE)
    w.show()
    return w


def main() -> int:
    application()
    OUT.mkdir(parents=True, exist_ok=True)

    w = window()
    print(screenshot(w, OUT / "window-empty.png", SIZE))
    w.close()

    w = window()
    for line in SEED:
        w.console.submit(line)
    w.canvas.wait_until_idle()
    w.select("w")
    print(screenshot(w, OUT / "window-seed.png", SIZE))
    w.close()

    w = window()
    w.open_example("mlp")
    for line in ("loss", "W1.grad.shape"):
        w.console.submit(line)
    w.canvas.wait_until_idle()
    w.select("h")
    print(screenshot(w, OUT / "window-mlp.png", SIZE))
    w.close()

    from gradviz.session.pytorch_script import torch_available

    if torch_available():
        print(snapshot_shot())
    return 0


def snapshot_shot() -> Path:
    """File › Open PyTorch Script on examples/torch_mlp.py: the snapshot window, h selected."""
    w = window()
    view = w.scripts.open_script(
        Path(__file__).resolve().parent / "examples" / "torch_mlp.py", confirmed=True
    )
    view.canvas.wait_until_idle()
    view.select("h")
    out = screenshot(view, OUT / "pytorch-snapshot.png", SIZE)
    view.close()
    w.close()
    return out


if __name__ == "__main__":
    sys.exit(main())
