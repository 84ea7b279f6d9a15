"""File ▸ Export Animation: backward step by step as a GIF, chosen from the menu as a person
would, written off the GUI thread; the session is untouched."""

from __future__ import annotations

from driving import idle, type_in_console
from PIL import Image


def test_export_animation_from_the_file_menu(window, qtbot, tmp_path):
    w = window()
    for line in ("x = torch.tensor(3.)", "w = torch.tensor(4., requires_grad=True)", "y = w * x"):
        type_in_console(qtbot, w, line)
    idle(qtbot, w)
    out = tmp_path / "steps"
    w.ask_save_path = lambda title, filters, suggested: str(out)  # the file dialog's answer
    file_menu = next(a.menu() for a in w.menuBar().actions() if a.text() == "&File")
    action = next(a for a in file_menu.actions() if a.text() == "Export &Animation…")
    action.trigger()
    gif = Image.open(tmp_path / "steps.gif")
    assert gif.format == "GIF" and gif.n_frames == 3  # y gets 1, mul sends 3 to w, w.grad = 3
    assert w.status_action.text() == "Exported steps.gif: 3 steps of y.backward()"
    assert w.session.tensor("w").grad is None  # nothing ran


def test_an_example_whose_backward_ran_exports_that_backward(window, qtbot, tmp_path):
    w = window()
    w.open_example("broadcasting")
    idle(qtbot, w)
    assert w.exporter.animation(tmp_path / "b.gif")
    assert Image.open(tmp_path / "b.gif").n_frames == 8
