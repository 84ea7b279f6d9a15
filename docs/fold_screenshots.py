"""Make the README's screenshots of a folded loop, offscreen: ``python docs/fold_screenshots.py``.

A 300-step chain ``y = tanh(y * w + x)`` typed in the console: folded to one group "× 300"
whose sparkline shows the gradient entering each step (it vanishes to exactly 0 before step
150), then with one repetition expanded.
"""

from __future__ import annotations

import sys

from offscreen import OUT, SIZE, MainWindow, application, screenshot  # first: Qt offscreen

LOOP = (
    "x = torch.tensor([0.5, -0.3], requires_grad=True)",
    "w = torch.tensor([0.9, 1.1], requires_grad=True)",
    "y = x * 1",
    "for i in range(300):\n    y = torch.tanh(y * w + x)",
    "y.sum().backward()",
)


def main() -> int:
    application()
    OUT.mkdir(parents=True, exist_ok=True)
    w = MainWindow(autosave=False, persist=False)
    w.ask_save_changes = lambda: "discard"
    w.resize(*SIZE)
    w.show()
    for line in LOOP:
        w.console.submit(line)
    w.canvas.wait_until_idle(120)
    print(screenshot(w, OUT / "fold-chain.png", SIZE))
    (group,) = w.canvas.group_nodes()
    w.canvas.expand_group(group, one=True)
    w.canvas.wait_until_idle(120)
    w.canvas.fit()
    print(screenshot(w, OUT / "fold-one-repetition.png", SIZE))
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
