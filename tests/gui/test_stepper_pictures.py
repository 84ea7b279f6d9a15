"""Backward ▸ Step Through on the MLP example: a linear layer's step shows its big gradients as
captioned heatmaps beside the words (what arrived, what each input is sent), with the shapes
torch gives them, coloured by value; the scalar seed step shows none."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from driving import idle, toolbar_click
from PySide6.QtCore import QPoint, Qt

import gradviz
from gradviz.graph.colors import format_number

MLP = Path(gradviz.__file__).parent / "examples" / "mlp.gradviz"


def panel(w):
    return w.stepper_dock().widget()


def step_to(qtbot, w, title_part: str, start: int = 0) -> None:
    """Press → until the panel's title names ``title_part`` (past step ``start``)."""
    p = panel(w)
    for _ in range(40):
        if title_part in p.title.text() and w.stepper.k > start:
            return
        qtbot.keyClick(p, Qt.Key.Key_Right)
        idle(qtbot, w)
    raise AssertionError(f"no step says {title_part!r}: at {p.title.text()!r}")


def torch_mlp(w):
    """The example's forward pass again in torch, from the session's own leaves."""
    s = w.session

    def leaf(n, grad=True):
        return torch.tensor(s.tensor(n).detach().numpy(), requires_grad=grad)

    X, target = leaf("X", False), torch.tensor(s.tensor("target").numpy())
    W1, b1, W2, b2 = (leaf(n) for n in ("W1", "b1", "W2", "b2"))
    z1 = torch.nn.functional.linear(X, W1, b1)
    h = z1.tanh()
    logits = torch.nn.functional.linear(h, W2, b2)
    loss = torch.nn.functional.cross_entropy(logits, target)
    gz1, gW1 = torch.autograd.grad(loss, [z1, W1])
    return {"z1": gz1.numpy(), "W1": gW1.numpy(), "X": X}


def cell_colour(heatmap, index: tuple[int, int]) -> tuple[int, int, int]:
    """The colour painted at the centre of a cell of the heatmap, as grabbed off the screen."""
    image = heatmap.grab().toImage()
    r, c = heatmap.grid_rect(), heatmap.cell_size()
    ratio = image.devicePixelRatio()
    j, i = index
    at = QPoint(int((r.left() + (i + 0.5) * c) * ratio), int((r.top() + (j + 0.5) * c) * ratio))
    return image.pixelColor(at).getRgb()[:3]


def test_a_linear_step_shows_its_gradients_as_heatmaps(window, qtbot, tmp_path):
    w = window()
    assert w.open_path(MLP, confirmed=True)
    idle(qtbot, w)
    toolbar_click(qtbot, w, "step_through")
    p = panel(w)
    qtbot.waitUntil(lambda: p.isVisible())
    idle(qtbot, w)
    assert "starting gradient" in p.title.text()
    assert not p.pictures.isVisible() and p.shown_pictures() == []  # a scalar seed: numbers say it

    # The first linear's step (z1 = X @ W1ᵀ + b1): AddmmBackward0, after the second one's.
    step_to(qtbot, w, "AddmmBackward0")
    first = w.stepper.k
    step_to(qtbot, w, "AddmmBackward0", start=first)
    idle(qtbot, w)
    want = torch_mlp(w)
    pictures = {pic.caption.text(): pic for pic in p.shown_pictures()}
    assert p.pictures.isVisible()
    assert set(pictures) == {"∂L/∂z1 arriving [5, 8]", "to b1 [8]", "to W1ᵀ [4, 8]"}
    assert list(want["z1"].shape) == [5, 8] and list(want["W1"].T.shape) == [4, 8]  # torch's shapes
    words = p.words.text()
    assert "∂L/∂W1ᵀ = Xᵀ · ∂L/∂z1 : [4, 8] = [4, 5] · [5, 8]" in words

    arriving, to_w = pictures["∂L/∂z1 arriving [5, 8]"].heatmap, pictures["to W1ᵀ [4, 8]"].heatmap
    for heatmap, value in ((arriving, want["z1"]), (to_w, want["W1"].T)):
        assert heatmap.isVisible() and heatmap.array.shape == value.shape
        np.testing.assert_allclose(heatmap.array, value, rtol=1e-5, atol=1e-6)  # torch's values
        lo, hi = np.unravel_index(value.argmin(), value.shape), np.unravel_index(value.argmax(), value.shape)
        assert value[lo] < 0 < value[hi]
        assert cell_colour(heatmap, lo) != cell_colour(heatmap, hi)  # different values, colours
        zero = np.unravel_index(np.abs(value).argmin(), value.shape)
        assert cell_colour(heatmap, zero) != cell_colour(heatmap, hi)
    # The colour bar's range is the data's (symmetric about 0, as the diverging scale is).
    assert np.isclose(to_w.scale.vmax, np.abs(want["W1"]).max()) and to_w.scale.vmin == -to_w.scale.vmax

    # Legible at the default size: words and pictures on screen unscrolled, the controls under them.
    for pic in pictures.values():
        assert pic.visibleRegion().boundingRect().size() == pic.size(), pic.caption.text()
    for control in (p.next, p.done, p.scrubber):
        assert control.isVisible() and control.visibleRegion().boundingRect().height() >= control.height() - 1
    assert p.scroll.geometry().bottom() < p.next.mapTo(p, QPoint(0, 0)).y()
    shot = w.grab()
    path = Path(os.environ.get("GRADVIZ_SHOT_DIR", tmp_path)) / "stepper_linear_step.png"
    assert shot.save(str(path)) and path.stat().st_size > 10_000

    # The dock at this width puts the pictures under the words; a wide one, beside them.
    def beside() -> bool:
        words = p.words.mapTo(p, QPoint(p.words.width(), 0))
        return p.pictures.mapTo(p, QPoint(0, 0)).x() >= words.x()

    assert not beside()
    w.resize(1900, 1000)
    idle(qtbot, w)
    assert beside() and all(
        pic.visibleRegion().boundingRect().size() == pic.size() for pic in pictures.values()
    )
    w.resize(1280, 820)
    idle(qtbot, w)
    assert not beside()

    # Forward steps make no gradients: no pictures there.
    qtbot.keyClick(p, Qt.Key.Key_End)
    idle(qtbot, w)
    qtbot.keyClick(p, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: w.stepper is None)
    w.step_forward()
    idle(qtbot, w)
    assert p.shown_pictures() == [] and not p.pictures.isVisible()


def test_a_big_gradient_is_a_small_picture_and_its_words_give_its_range(window, qtbot, tmp_path):
    from driving import type_in_console

    w = window()
    for line in ("A = torch.randn(300, 200, requires_grad=True)", "s = (A * A).sum()"):
        type_in_console(qtbot, w, line)
    idle(qtbot, w)
    toolbar_click(qtbot, w, "step_through")
    p = panel(w)
    qtbot.waitUntil(lambda: p.isVisible())
    step_to(qtbot, w, "MulBackward0")
    idle(qtbot, w)
    grad = 2 * w.session.tensor("A").detach().numpy()  # d(A*A)/dA: all that reaches A, in words
    half = grad / 2  # what each of its two roles is sent
    assert f"min {format_number(float(grad.min()))}, max {format_number(float(grad.max()))}" in p.words.text()
    captions = [pic.caption.text() for pic in p.shown_pictures()]
    assert "to A as input [300, 200]" in captions and "to A as other [300, 200]" in captions  # A * A
    (sent,) = [pic for pic in p.shown_pictures() if pic.caption.text() == "to A as input [300, 200]"]
    heat = sent.heatmap
    assert heat.array.shape[0] <= 64 and heat.array.shape[1] <= 64 and heat.height() < 140  # every k-th
    np.testing.assert_allclose(heat.array, half[:: heat.stride[0], :: heat.stride[1]], rtol=1e-6)
    for control in (p.next, p.done):
        assert control.visibleRegion().boundingRect().height() >= control.height() - 1
    w.grab().save(str(Path(os.environ.get("GRADVIZ_SHOT_DIR", tmp_path)) / "stepper_big_step.png"))
