"""``gradviz render --step K`` and ``gradviz animate``: backward drawn step by step without a
window, from a session file (its last backward) or a script, with one-line errors."""

from __future__ import annotations

import textwrap

import pytest
from PIL import Image

from gradviz.__main__ import main
from gradviz.resources import example_file
from gradviz.session.backward_steps import last_backward
from gradviz.session.document import Session, SessionError
from gradviz.session.fileformat import open_into

SCRIPT = """
import gradviz as torch
x = torch.tensor(3.0)
w = torch.tensor(4.0, requires_grad=True)
b = torch.tensor(5.0, requires_grad=True)
y = w * x + b
"""


def script(tmp_path, text=SCRIPT):
    p = tmp_path / "model.py"
    p.write_text(textwrap.dedent(text))
    return str(p)


def test_a_session_steps_through_its_last_backward_as_it_stood_before_it():
    session = Session()
    open_into(session, example_file("linear"))
    assert session.tensor("w").grad.item() == 3.0  # the file ran y.backward()
    steps = last_backward(session)
    assert steps.target == "y" and len(steps.trace) == 5
    assert steps.session.tensor("w").grad is None  # the moment before it
    assert [s.name for s in steps.trace][:3] == ["AddBackward0", "AddBackward0", "MulBackward0"]
    assert float(steps.trace[2].contributions[0].value) == 3.0
    assert session.tensor("w").grad.item() == 3.0  # the open session is untouched


def test_a_session_without_backward_steps_from_its_output_and_one_without_output_says_so():
    session = Session()
    with pytest.raises(SessionError, match="nothing to step through"):
        last_backward(session)  # empty
    session.add_leaf("w", [1.0, 2.0], requires_grad=True)
    session.apply("mul", ["w", "w"], name="sq")
    session.apply("sum", ["sq"], name="s")
    steps = last_backward(session)
    assert steps.target == "s" and steps.session is session
    assert session.tensor("w").grad is None  # tracing changed nothing


@pytest.mark.parametrize("view", ["tensors", "autograd"])
def test_render_step_writes_the_graph_after_step_k(tmp_path, capsys, view):
    out = tmp_path / "step.svg"
    assert main(["render", "--example", "linear", "--step", "2", "--view", view, "-o", str(out)]) == 0
    svg = out.read_text()
    assert "Step 2 of 4: MulBackward0" in svg  # the title says the step
    assert "∂L/∂w += 3.0" in svg and "#ff5a1f" in svg.lower()  # the edge and the current node
    assert capsys.readouterr().out.strip() == str(out)


def test_render_step_from_a_script_and_counting_from_the_end(tmp_path):
    out = tmp_path / "last.png"
    assert main(["render", script(tmp_path), "--step", "-1", "-o", str(out)]) == 0
    assert Image.open(out).size[0] > 300


def test_render_step_errors_are_one_line(tmp_path, capsys):
    assert main(["render", "--example", "linear", "--step", "9", "-o", str(tmp_path / "x.png")]) == 1
    assert (
        capsys.readouterr().err.strip() == "gradviz render: error: --step 9: this backward has steps 0 to 4"
    )
    done = script(tmp_path, SCRIPT + "y.backward()\n")
    assert main(["render", done, "--step", "1", "-o", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"gradviz render: error: {done}: y.backward() cannot be stepped through: ")
    assert "Trying to backward through the graph a second time" in err
    assert not (tmp_path / "x.png").exists()


def test_animate_writes_one_frame_per_step(tmp_path, capsys):
    out = tmp_path / "backward.gif"
    assert main(["animate", "--example", "broadcasting", "-o", str(out), "--seconds", "0.5"]) == 0
    gif = Image.open(out)
    assert gif.format == "GIF" and gif.n_frames == 8  # the trace of broadcasting's loss
    durations = []
    for k in range(gif.n_frames):
        gif.seek(k)
        durations.append(gif.info["duration"])
    assert durations[:-1] == [500] * 7 and durations[-1] == 1000  # the last frame is held
    assert capsys.readouterr().out.strip() == str(out)


def test_animate_refuses_what_it_cannot_write(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["animate", "--example", "linear", "-o", str(tmp_path / "a.mp4")])
    assert "animations are written as .gif" in capsys.readouterr().err
    bad = tmp_path / "broken.gradviz"
    bad.write_bytes(b"not a zip")
    assert main(["animate", str(bad), "-o", str(tmp_path / "a.gif")]) == 1
    assert capsys.readouterr().err.startswith(f"gradviz animate: error: {bad}: ")
    assert not (tmp_path / "a.gif").exists()
