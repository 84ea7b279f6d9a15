"""Make the README's stepper screenshots, offscreen: ``python docs/step_screenshots.py [OUT_DIR]``.

The seed (``y = w*x + b`` typed into the console) at step 2 of Step Through Backward, where mul
sends 1 × x = 3 to w, and the MLP example at step 3, where linear's addmm sends its gradients to
h and b2. Written to ``docs/images/step-seed.png`` and ``step-mlp.png`` at 1400x900. Settings
and recovery files go to a temporary folder, so the user's are untouched.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's gradviz
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_tmp = tempfile.mkdtemp(prefix="gradviz-shots-")
os.environ["GRADVIZ_DATA_DIR"] = _tmp

from PySide6.QtCore import QSettings  # noqa: E402

QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, _tmp)

from gradviz.gui.app import application  # noqa: E402
from gradviz.gui.main_window import MainWindow  # noqa: E402

SIZE = (1400, 900)
SEED = (
    "x = torch.tensor(3.)",
    "w = torch.tensor(4., requires_grad=True)",
    "b = torch.tensor(5., requires_grad=True)",
    "y = w*x + b",
)


def shoot(out: Path, step: int, example: str = "", lines: tuple[str, ...] = ()) -> Path:
    app = application()
    w = MainWindow(autosave=False, persist=False)
    w.ask_save_changes = lambda: "discard"
    w.resize(*SIZE)
    w.show()
    if example:
        w.open_example(example)
    for line in lines:
        w.console.submit(line)  # as if typed and Enter pressed
    w.canvas.wait_until_idle()
    stepper = w.step_through()
    stepper.go(step)
    w.canvas.wait_until_idle()
    app.processEvents()
    w.canvas.fit()
    app.processEvents()
    w.grab().save(str(out))
    stepper.leave(run_backward=False)
    w.close()
    return out


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0]) if argv else Path(__file__).resolve().parent / "images"
    out_dir.mkdir(parents=True, exist_ok=True)
    print(shoot(out_dir / "step-seed.png", 2, lines=SEED))
    print(shoot(out_dir / "step-mlp.png", 3, example="mlp"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
