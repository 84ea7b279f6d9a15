"""Make the README's screenshots of groups, offscreen: ``python docs/group_screenshots.py``.

A model typed in the console with its loss in a name scope, two of its modules collapsed to
their boxes (``model.0 (Linear)``, ``model.2 (Linear)``); and an LSTM cell unrolled 30 times in
the console, whose step carries two states (``h`` and ``c``), folded to one group "× 30".
"""

from __future__ import annotations

import sys

from offscreen import OUT, SIZE, MainWindow, application, screenshot  # first: Qt offscreen

MODEL = (
    "torch.manual_seed(0)",
    "model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))",
    "x = torch.randn(5, 2)",
    'with torch.profiler.record_function("loss"):\n    loss = model(x).pow(2).mean()',
    "loss.backward()",
)
LSTM = (
    "torch.manual_seed(0)",
    "wx = torch.randn(2, 12, requires_grad=True)",
    "wh = torch.randn(3, 12, requires_grad=True)",
    "xs = torch.randn(30, 1, 2)",
    "h = torch.zeros(1, 3)",
    "c = torch.zeros(1, 3)",
    "for t in range(30):\n"
    "    i, f, g, o = (xs[t] @ wx + h @ wh).chunk(4, dim=1)\n"
    "    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)\n"
    "    h = torch.sigmoid(o) * torch.tanh(c)",
    "loss = h.sum()",
    "loss.backward()",
)


def window(cells: tuple[str, ...]) -> MainWindow:
    w = MainWindow(autosave=False, persist=False)
    w.ask_save_changes = lambda: "discard"
    w.resize(*SIZE)
    w.show()
    for cell in cells:
        w.console.submit(cell)
    w.canvas.wait_until_idle(120)
    return w


def collapse(w: MainWindow, label: str) -> None:
    (m,) = [m for m in w.canvas.modules[w.canvas.view_mode] if m.label == label]
    w.canvas.collapse_module(m.id)
    w.canvas.wait_until_idle(120)


def main() -> int:
    application()
    OUT.mkdir(parents=True, exist_ok=True)
    w = window(MODEL)
    collapse(w, "model.0 (Linear)")
    collapse(w, "model.2 (Linear)")
    w.canvas.fit()
    print(screenshot(w, OUT / "groups-console-model.png", SIZE))
    w.close()
    w = window(LSTM)
    w.canvas.fit()
    print(screenshot(w, OUT / "fold-lstm.png", SIZE))
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
