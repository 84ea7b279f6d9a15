"""Make the README's theme screenshots, offscreen: ``python docs/theme_screenshots.py [OUT_DIR]``.

The seed example (``y = w*x + b`` after ``y.backward()``) and the broadcasting example, each in
the light theme, the dark theme and presentation mode (dark, large text, high-contrast graph),
chosen through the View menu's actions as a person would. Written to ``docs/images`` as
``theme-{light,dark,presentation}.png`` and ``broadcast-{light,dark,presentation}.png`` at
1280x820. Settings and recovery files go to a temporary folder, so the user's are untouched.
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

from gradviz.gui.app import application, screenshot  # noqa: E402
from gradviz.gui.main_window import MainWindow  # noqa: E402

SIZE = tuple(int(v) for v in os.environ.get("SHOT_SIZE", "1280x820").split("x"))
EXAMPLES = (("linear", "theme", "y"), ("broadcasting", "broadcast", None))
MODES = (("light", False), ("dark", False), ("presentation", True))


def shoot(example: str, mode: str, presentation: bool, out: Path) -> Path:
    w = MainWindow(autosave=False, persist=False)
    w.ask_save_changes = lambda: "discard"
    w.resize(*SIZE)
    w.show()
    w.open_example(example)
    w.canvas.wait_until_idle()
    w.actions["theme_light" if mode == "light" else "theme_dark"].trigger()
    if w.actions["presentation"].isChecked() != presentation:
        w.actions["presentation"].trigger()
    try:
        return screenshot(w, out, SIZE)
    finally:
        w.close()
        w.deleteLater()


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0]) if argv else Path(__file__).resolve().parent / "images"
    out_dir.mkdir(parents=True, exist_ok=True)
    app = application()
    for example, stem, _ in EXAMPLES:
        for mode, presentation in MODES:
            print(shoot(example, mode, presentation, out_dir / f"{stem}-{mode}.png"))
            app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
