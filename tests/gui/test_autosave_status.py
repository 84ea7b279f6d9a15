"""Autosave in the real window: a typed change reaches the recovery file within about a second,
and the status bar says so when it cannot, until a write succeeds again."""

from __future__ import annotations

import errno
import os
import time

import pytest
from driving import type_in_console
from PySide6.QtCore import Qt

from gradviz.session import autosave
from gradviz.session import fileformat as ff


def names_in(path) -> list[str]:
    return [getattr(e, "name", "") for e in ff.load(path)[0]]


def test_a_typed_line_reaches_the_recovery_file_within_a_second_and_a_half(qtbot, window) -> None:
    w = window()
    saver = w.autosaver
    for k in range(2):
        before = saver.written_generation
        typed = time.monotonic()  # before typing: an upper bound on the delay since the change
        type_in_console(qtbot, w, f"x{k} = torch.tensor([1., 2.])")
        qtbot.waitUntil(lambda b=before: saver.written_generation > b, timeout=3000)
        assert time.monotonic() - typed <= 1.5
        assert f"x{k}" in names_in(saver.path)
    assert not w.status_recovery.isVisible()


def _problem_shown(w) -> bool:
    return w.status_recovery.isVisible() and w.status_recovery.text().startswith(
        "Recovery is not being saved: "
    )


@pytest.mark.parametrize(("code", "words"), [(errno.ENOSPC, "the disk is full"), (errno.EIO, "")])
def test_a_full_disk_is_shown_until_writing_works_again(qtbot, window, monkeypatch, code, words) -> None:
    w = window()
    saver = w.autosaver
    saver.retry = 0.3  # the app retries every few seconds; the test needn't wait that long
    real = autosave.write_atomic
    full = [True]

    def writer(path, data):
        if full[0]:
            raise OSError(code, os.strerror(code))
        real(path, data)

    monkeypatch.setattr(autosave, "write_atomic", writer)
    type_in_console(qtbot, w, "x = torch.tensor([1., 2.])")
    qtbot.waitUntil(lambda: _problem_shown(w), timeout=3000)
    label = w.status_recovery
    assert label.textFormat() == Qt.TextFormat.PlainText
    assert (words or os.strerror(code)) in label.text() and str(saver.directory) in label.text()
    assert label in w.statusBar().findChildren(type(label))
    # it stays while writing keeps failing, through further changes and other status messages
    type_in_console(qtbot, w, "y = x * 2")
    w.say("something else happened")
    qtbot.wait(700)
    assert _problem_shown(w)
    full[0] = False  # space freed: the retry succeeds without another change
    qtbot.waitUntil(lambda: not w.status_recovery.isVisible(), timeout=3000)
    assert w.status_recovery.text() == ""
    assert names_in(saver.path)[-1] == "y"


def test_a_recovery_folder_that_cannot_be_made_is_shown_and_clears_on_the_next_change(qtbot, window) -> None:
    """A real failure, no patching: the recovery folder's path is taken by a file."""
    w = window()
    saver = w.autosaver
    saver.retry = 60.0  # only a change brings the next try here
    folder = saver.directory
    if folder.exists():
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("in the way")
    type_in_console(qtbot, w, "a = torch.tensor(3.)")
    qtbot.waitUntil(lambda: _problem_shown(w), timeout=3000)
    assert str(folder) in w.status_recovery.text()
    folder.unlink()
    type_in_console(qtbot, w, "b = a + 1")
    qtbot.waitUntil(lambda: not w.status_recovery.isVisible(), timeout=3000)
    assert names_in(saver.path)[-2:] == ["a", "b"]
