"""The console: the seed notebook's language in numbered cells, ``In [n]:`` / ``Out [n]:``.

Enter runs the input when it is a complete statement and starts a new line otherwise (an open
bracket, or inside a ``for``/``if``/``def`` block, which a blank line ends); Shift+Enter always starts a new line, Ctrl+Enter always runs. Up and Down walk the
history from the first and last line. Tab completes names and methods (``w.gr`` → ``w.grad``), and
a ``.`` offers the members of what is before it. Errors are shown inline in PyTorch's words; the
whole cell is undone when any statement in it fails.
"""

from __future__ import annotations

import codeop
import html
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QKeyEvent,
    QPalette,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QApplication,
    QCompleter,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from gradviz.session.console import Console, ConsoleResult, persist
from gradviz.session.document import Session
from gradviz.session.transcript import Cell, code_of

from .dialogs._common import monospace_font

_IDENT_TAIL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$|$")
_TOKENS = re.compile(
    r"(?P<comment>#[^\n]*)|(?P<string>'[^'\n]*'?|\"[^\"\n]*\"?)|(?P<number>\b\d+\.?\d*(?:[eE][-+]?\d+)?\b|\.\d+\b)"
    r"|(?P<keyword>\b(?:True|False|None|and|or|not|is|del|import|as|from)\b)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
)


_BLOCK_HEADER = re.compile(r":\s*(#.*)?$")


def is_complete(source: str) -> bool:
    """Whether Enter should run ``source``: a complete statement, or one that can never be
    completed (a syntax error, which running will report)."""
    if not source.strip():
        return True
    lines = source.split("\n")
    if (
        len(lines) > 1
        and lines[-1][:1] in (" ", "\t")
        and lines[-1].strip()
        and any(_BLOCK_HEADER.search(line) for line in lines[:-1])
    ):
        return False  # inside a for/if/def block: a blank line ends it, as in IPython
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return codeop.compile_command(source, "<console>", "exec") is not None
    except (SyntaxError, ValueError, OverflowError, MemoryError, RecursionError):
        return True


@dataclass
class _Theme:
    text: str
    muted: str
    in_prompt: str
    out_prompt: str
    code_bg: str
    code_border: str
    error_fg: str
    error_bg: str
    warn_fg: str
    warn_bg: str
    kw: str
    number: str
    string: str
    comment: str
    name: str

    @classmethod
    def of(cls, palette: QPalette) -> _Theme:
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text).name()
        fg = palette.color(QPalette.ColorRole.Text)
        muted = "#{:02x}{:02x}{:02x}".format(
            *(round(0.6 * a + 0.4 * b) for a, b in zip(fg.getRgb()[:3], base.getRgb()[:3]))
        )
        if base.lightness() < 128:
            code_bg = base.lighter(135).name() if base.lightness() > 10 else "#262a30"
            return cls(text, muted, "#8ab4f8", "#ff8a65", code_bg, "#3c4450", "#ffb4ab", "#3d1f1f",
                       "#ffd27f", "#3a3120", "#c792ea", "#f78c6c", "#c3e88d", "#7f8c98", text)  # fmt: skip
        return cls(text, muted, "#303f9f", "#d84315", "#f5f6f8", "#dfe2e6", "#b3261e", "#fdecea",
                   "#7a4f00", "#fff4de", "#7b1fa2", "#1565c0", "#2e7d32", "#6a737d", text)  # fmt: skip


def highlight_html(source: str, theme: _Theme, names: set[str] = frozenset()) -> str:  # type: ignore[assignment]
    """``source`` as HTML with the console's token colours (a light touch: literals, keywords,
    comments, and the session's tensor names in bold)."""
    out: list[str] = []
    pos = 0
    for m in _TOKENS.finditer(source):
        out.append(html.escape(source[pos : m.start()]))
        tok = html.escape(m.group(0))
        kind = m.lastgroup
        if kind == "comment":
            out.append(f'<span style="color:{theme.comment}; font-style:italic">{tok}</span>')
        elif kind == "string":
            out.append(f'<span style="color:{theme.string}">{tok}</span>')
        elif kind == "number":
            out.append(f'<span style="color:{theme.number}">{tok}</span>')
        elif kind == "keyword":
            out.append(f'<span style="color:{theme.kw}; font-weight:bold">{tok}</span>')
        elif kind == "name" and m.group(0) in names:
            out.append(f'<span style="font-weight:bold">{tok}</span>')
        else:
            out.append(tok)
        pos = m.end()
    out.append(html.escape(source[pos:]))
    return "".join(out)


class _Highlighter(QSyntaxHighlighter):
    """The same token colours in the input editor."""

    def __init__(self, document: Any, theme: _Theme) -> None:
        super().__init__(document)
        self.theme = theme

    def highlightBlock(self, text: str) -> None:
        colors = {
            "comment": self.theme.comment,
            "string": self.theme.string,
            "number": self.theme.number,
            "keyword": self.theme.kw,
        }
        for m in _TOKENS.finditer(text):
            kind = m.lastgroup
            if kind in colors:
                fmt = QTextCharFormat()
                fmt.setForeground(QColor(colors[kind]))
                if kind == "keyword":
                    fmt.setFontWeight(700)
                if kind == "comment":
                    fmt.setFontItalic(True)
                self.setFormat(m.start(), m.end() - m.start(), fmt)


class ConsoleInput(QPlainTextEdit):
    """The input editor: Enter runs when complete, history on Up/Down, completion on Tab and '.'."""

    submitted = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, console: Console, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.console = console
        self._busy = False
        self.history: list[str] = []
        self._index = 0  # position in history; len(history) is the draft being typed
        self._draft = ""
        self.setObjectName("consoleInput")
        self.setAccessibleName("console input")
        self.setFont(monospace_font())
        self.setTabChangesFocus(False)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setPlaceholderText("y = w*x + b")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().contentsChanged.connect(self._fit_height)
        self.model = QStringListModel(self)
        self.completer = QCompleter(self.model, self)
        self.completer.setWidget(self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseSensitive)
        self.completer.setModelSorting(QCompleter.ModelSorting.CaseSensitivelySortedModel)
        self.completer.setMaxVisibleItems(12)
        self.completer.popup().setFont(monospace_font())
        self.completer.activated[str].connect(self._insert_completion)
        self._fit_height()

    @property
    def busy(self) -> bool:
        """The session is being changed on a worker: no completions, and Enter doesn't run."""
        return self._busy

    @busy.setter
    def busy(self, on: bool) -> None:
        if on != self._busy:
            self._busy = on
            self.busy_changed.emit(on)

    # --- size --------------------------------------------------------------------------------------
    def _fit_height(self) -> None:
        lines = max(1, min(10, self.document().blockCount()))
        fm = self.fontMetrics()
        self.setFixedHeight(
            int(lines * fm.lineSpacing() + 2 * self.document().documentMargin() + 2 * self.frameWidth() + 2)
        )

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # presentation mode: lines grew taller
            self._fit_height()

    # --- history -----------------------------------------------------------------------------------
    def add_history(self, source: str) -> None:
        if source.strip() and (not self.history or self.history[-1] != source):
            self.history.append(source)
        self._index = len(self.history)
        self._draft = ""

    def _show_history(self, index: int) -> None:
        if self._index == len(self.history):
            self._draft = self.toPlainText()
        self._index = index
        self.setPlainText(self.history[index] if index < len(self.history) else self._draft)
        self.moveCursor(QTextCursor.MoveOperation.End)

    def history_back(self) -> None:
        if self._index > 0:
            self._show_history(self._index - 1)

    def history_forward(self) -> None:
        if self._index < len(self.history):
            self._show_history(self._index + 1)

    # --- completion ---------------------------------------------------------------------------------
    def _prefix(self) -> str:
        c = self.textCursor()
        return self.toPlainText()[: c.position()]

    def completions(self) -> tuple[str, list[str]]:
        """(the partial word before the cursor, the words that complete it)."""
        prefix = self._prefix()
        part = _IDENT_TAIL.search(prefix).group(0)
        if self.busy:  # completion reads the session, which a worker is changing
            return part, []
        try:
            full = self.console.complete(prefix)
        except Exception:  # completion must never break typing
            return part, []
        start = len(prefix) - len(part)
        words = sorted({c[start:] for c in full if len(c) >= start and c[start:].startswith(part)})
        return part, words

    def complete(self, popup_only: bool = False) -> None:
        part, words = self.completions()
        if not words:
            self.completer.popup().hide()
            return
        if len(words) == 1 and not popup_only:
            self._insert_completion(words[0])
            return
        common = _common_prefix(words)
        if len(common) > len(part) and not popup_only:
            self.insertPlainText(common[len(part) :])
            part = common
        self.model.setStringList(words)
        self.completer.setCompletionPrefix(part)
        popup = self.completer.popup()
        popup.setCurrentIndex(self.completer.completionModel().index(0, 0))
        rect = self.cursorRect()
        rect.setWidth(popup.sizeHintForColumn(0) + popup.verticalScrollBar().sizeHint().width() + 12)
        self.completer.complete(rect)

    def _insert_completion(self, word: str) -> None:
        part = _IDENT_TAIL.search(self._prefix()).group(0)
        c = self.textCursor()
        c.movePosition(QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor, len(part))
        c.insertText(word)
        self.setTextCursor(c)
        self.completer.popup().hide()

    # --- keys -----------------------------------------------------------------------------------------
    def keyPressEvent(self, e: QKeyEvent) -> None:
        key, mods = e.key(), e.modifiers()
        popup = self.completer.popup()
        if popup.isVisible() and key in (
            Qt.Key.Key_Return,
            Qt.Key.Key_Enter,
            Qt.Key.Key_Tab,
            Qt.Key.Key_Backtab,
            Qt.Key.Key_Escape,
        ):
            popup.hide()
            index = popup.currentIndex()
            typed = _IDENT_TAIL.search(self._prefix()).group(0)
            enter = key in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            chosen = index.data() if index.isValid() else None
            if key == Qt.Key.Key_Escape or (enter and (chosen is None or chosen == typed)):
                if not enter:
                    return
                # the word is typed out already: Enter does what it does without a popup
            elif index.isValid() and key != Qt.Key.Key_Backtab:
                self._insert_completion(index.data())
                return
            else:
                return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            text = self.toPlainText()
            if mods & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
            elif mods & Qt.KeyboardModifier.ControlModifier or is_complete(text):
                self.submitted.emit(text)
            else:
                self.insertPlainText("\n" + self._continuation_indent())
            return
        if key == Qt.Key.Key_Up and not mods and self.textCursor().blockNumber() == 0:
            self.history_back()
            return
        if (
            key == Qt.Key.Key_Down
            and not mods
            and self.textCursor().blockNumber() == self.document().blockCount() - 1
        ):
            self.history_forward()
            return
        if key == Qt.Key.Key_Tab and not mods:
            before = self._prefix().rsplit("\n", 1)[-1]
            if before.strip():
                self.complete()
            else:
                self.insertPlainText("    ")
            return
        if key == Qt.Key.Key_Space and mods & Qt.KeyboardModifier.ControlModifier:
            self.complete(popup_only=True)
            return
        super().keyPressEvent(e)
        if e.text() == "." and re.search(r"[A-Za-z0-9_)\]]\.$", self._prefix()):
            self.complete(popup_only=True)
        elif popup.isVisible():
            if e.text() and not (e.text().isalnum() or e.text() == "_") and key != Qt.Key.Key_Backspace:
                popup.hide()
            else:
                part, words = self.completions()
                if words:
                    self.model.setStringList(words)
                    self.completer.setCompletionPrefix(part)
                    popup.setCurrentIndex(self.completer.completionModel().index(0, 0))
                else:
                    popup.hide()

    def _continuation_indent(self) -> str:
        """Inside an open bracket, line up under the first item, as editors do."""
        line = self._prefix().rsplit("\n", 1)[-1]
        depth, col = 0, None
        stack: list[int] = []
        for i, ch in enumerate(line):
            if ch in "([{":
                stack.append(i)
            elif ch in ")]}" and stack:
                stack.pop()
        if stack:
            col = stack[-1] + 1
            return " " * col
        depth = len(line) - len(line.lstrip(" "))
        if _BLOCK_HEADER.search(line):
            depth += 4  # the body of a for/if/def/with
        return " " * depth


class _TranscriptView(QTextBrowser):
    """The transcript, whose context menu adds Copy Code to the standard text actions."""

    def __init__(self, owner: ConsoleWidget) -> None:
        super().__init__()
        self.owner = owner
        self.context_menu: Any = None  # the last one shown, for tests to read

    def contextMenuEvent(self, e: QContextMenuEvent) -> None:
        menu = self.createStandardContextMenu(e.pos())
        menu.addSeparator()
        action = menu.addAction("Copy Code")
        action.setObjectName("copyCode")
        action.setToolTip("Copy the statements of the selected cells as runnable Python")
        action.triggered.connect(self.owner.copy_code)
        self.context_menu = menu
        menu.popup(e.globalPos())


def _first_line(source: str) -> str:
    line = source.strip().splitlines()[0]
    return line if len(line) <= 40 and "\n" not in source.strip() else line[:40] + "…"


def _common_prefix(words: list[str]) -> str:
    if not words:
        return ""
    a, b = min(words), max(words)
    i = 0
    while i < len(a) and i < len(b) and a[i] == b[i]:
        i += 1
    return a[:i]


class ConsoleWidget(QWidget):
    """The notebook console over a session. ``ran(source, result)`` follows every run."""

    ran = Signal(str, object)  # the source, the gradviz.session.console.ConsoleResult
    transcript_changed = Signal()  # a cell was added: the session's transcript grew

    def __init__(
        self, session: Session, parent: QWidget | None = None, console: Console | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.console = console or Console(session)
        self.count = 0  # the number of the last cell run
        # Runs a cell: ``runner(fn)`` returns ``fn()``. The window runs it on a worker, so that a
        # cell making a huge tensor doesn't freeze it; alone, the widget runs it right here.
        self.runner: Callable[[Callable[[], ConsoleResult]], ConsoleResult] = lambda fn: fn()
        self.setObjectName("ConsoleWidget")
        self.queued: list[str] = []  # entered while a cell ran: run in order once it is done
        self._running = False
        self.running_source = ""  # the cell being run now

        self.view = _TranscriptView(self)
        self.view.setObjectName("consoleTranscript")
        self.view.setAccessibleName("console transcript")
        self.view.setOpenLinks(False)
        self.view.setFont(monospace_font())
        self.view.setFrameShape(QFrame.Shape.NoFrame)
        self.view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.view.document().setDocumentMargin(8)

        self.prompt = QLabel()
        self.prompt.setTextFormat(Qt.TextFormat.PlainText)
        self.prompt.setObjectName("consolePrompt")
        self.prompt.setFont(monospace_font())
        self.prompt.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.input = ConsoleInput(self.console)
        self.input.submitted.connect(self._run_input)
        self.input.busy_changed.connect(self._busy_changed)
        # Says what happens to input entered while something runs (queued, or kept here).
        self.waiting = QLabel()
        self.waiting.setObjectName("consoleWaiting")
        self.waiting.setAccessibleName("console message")
        self.waiting.setTextFormat(Qt.TextFormat.PlainText)
        self.waiting.setWordWrap(True)
        self.waiting.setContentsMargins(8, 4, 8, 4)
        self.waiting.hide()
        self.input.setFocusProxy(None)
        self.setFocusProxy(self.input)

        self.input_frame = QFrame()
        self.input_frame.setObjectName("consoleInputFrame")
        row = QHBoxLayout(self.input_frame)
        row.setContentsMargins(8, 6, 8, 6)
        row.setSpacing(6)
        row.addWidget(self.prompt, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.input, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.waiting)
        layout.addWidget(self.input_frame)
        self._apply_theme()
        self._update_prompt()
        self.render()

    # --- public API ---------------------------------------------------------------------------------
    def submit(self, text: str) -> ConsoleResult | None:
        """Run ``text`` as if typed and Enter pressed. Returns the result (None for blank input)."""
        self.input.setPlainText(text)
        return self._run_input(text)

    def transcript(self) -> str:
        """The plain text of what the console shows, IPython style."""
        out: list[str] = []
        for cell in self.cells:
            if cell.kind == "action":
                out.append(f"# {cell.source}")
                out.append("")
                continue
            head = f"In [{cell.number}]: "
            lines = cell.source.split("\n")
            out.append(head + lines[0])
            cont = " " * (len(head) - 5) + "...: "
            out.extend(cont + line for line in lines[1:])
            out.extend(cell.printed.rstrip("\n").split("\n") if cell.printed else [])
            out.extend(cell.warnings)
            if cell.result is not None:
                res = cell.result.split("\n")
                pad = f"Out [{cell.number}]: "
                out.append(pad + res[0])
                out.extend(" " * len(pad) + r for r in res[1:])
            if cell.error:
                out.extend(cell.error.split("\n"))
            if cell.note:
                out.append(cell.note)
            out.append("")
        return "\n".join(out).rstrip("\n") + ("\n" if out else "")

    def log_action(self, code: str) -> None:
        """Show a line the app did for the user (a dialog's equivalent code) as a comment."""
        self._add_cell(Cell(self.count, code, kind="action"))

    def clear(self) -> None:
        """Forget the transcript and start numbering at 1 again (File › New); keeps history."""
        self.cells.clear()
        self.count = 0
        self.console.variables.clear()
        self._update_prompt()
        self.render()

    @property
    def history(self) -> list[str]:
        return list(self.input.history)

    @property
    def cells(self) -> list[Cell]:
        """The transcript: the session's own, so that saving and autosave carry it."""
        return self.session.transcript

    def reload(self) -> None:
        """Show the session's transcript afresh (a document was opened, restored or started):
        its numbering goes on from its last cell; plain Python variables are forgotten, and the
        modules and optimisers it keeps are made again."""
        self.count = max((c.number for c in self.cells), default=0)
        self.console.variables.clear()
        persist.restore(self.console)
        self._update_prompt()
        self.render()

    # --- copy code ------------------------------------------------------------------------------------
    def selected_cells(self) -> list[Cell]:
        """The cells the transcript's selection touches (each cell is one table there)."""
        cursor = self.view.textCursor()
        if not cursor.hasSelection():
            return []
        a, b = cursor.selectionStart(), cursor.selectionEnd()
        tables = self.view.document().rootFrame().childFrames()
        return [
            cell for cell, t in zip(self.cells, tables) if t.firstPosition() < b and t.lastPosition() >= a
        ]

    def copy_code(self) -> str:
        """Put the statements of the selected cells (all cells, if none is selected) on the
        clipboard as runnable Python, without prompts or outputs. Returns the text."""
        text = code_of(self.selected_cells() or self.cells)
        QApplication.clipboard().setText(text)
        return text

    # --- running ------------------------------------------------------------------------------------
    def _run_input(self, text: str) -> ConsoleResult | None:
        source = text.rstrip()
        self.input.completer.popup().hide()
        if not source.strip():
            self.input.clear()
            return None
        if self._running:  # entered while a cell runs: it runs next, as in a notebook
            self.input.add_history(source)
            self.input.clear()
            self.queued.append(source)
            self._say_queued()
            return None
        if self.input.busy:  # other work (an undo, a file opening) is changing the session
            self._say("Kept here, not run: gradviz is busy. Press Enter again when it is done.")
            return None
        self.input.add_history(source)
        self.input.clear()  # now: what is typed while the cell runs is the next input
        return self._run(source)

    def _run(self, source: str) -> ConsoleResult:
        self.count += 1
        self._running, self.running_source = True, source
        try:
            result = self.runner(lambda: self.console.run(source))
        except Exception as e:  # the console reports errors in its result; this is a last resort
            result = ConsoleResult(error=str(e) or type(e).__name__, error_type=type(e).__name__)
        finally:
            self._running, self.running_source = False, ""
        cell = Cell(
            self.count, source, printed=result.printed, result=result.result, warnings=list(result.warnings)
        )
        if result.error is not None:
            cell.error = f"{result.error_type}: {result.error}"
            if result.statements > 1 and result.error_line:
                cell.note = f"(line {result.error_line} failed; nothing in this cell was kept)"
        self._add_cell(cell)
        self._update_prompt()
        self.ran.emit(source, result)
        if self.queued:
            if result.error is None:
                QTimer.singleShot(0, self._run_queued)  # after this cell's own callers are done
            else:
                how = "was stopped" if result.error_type == "KeyboardInterrupt" else "failed"
                self._return_queued(f"Not run, because In [{cell.number}] {how}")
        return result

    # --- input entered while something runs ---------------------------------------------------------
    def _run_queued(self) -> None:
        if not self.queued or self._running:
            return
        if self.input.busy:  # other work started meanwhile: run when it ends (_busy_changed)
            return
        source = self.queued.pop(0)
        self._say_queued()
        self._run(source)

    def _return_queued(self, why: str) -> None:
        """Put the queued statements back in the input (before what is typed there): kept, not run."""
        typed = self.input.toPlainText()
        text = "\n".join(self.queued + ([typed] if typed.strip() else []))
        n = len(self.queued)
        self.queued.clear()
        self.input.setPlainText(text)
        self.input.moveCursor(QTextCursor.MoveOperation.End)
        what = "it is" if n == 1 else f"those {n} statements are"
        self._say(f"{why}: {what} back in the input. Press Enter to run.")

    def _say_queued(self) -> None:
        if not self.queued:
            self.waiting.hide()
        elif len(self.queued) == 1:
            self._say(f"Queued: {_first_line(self.queued[0])} runs when the running cell is done")
        else:
            self._say(f"Queued: {len(self.queued)} statements run in turn when the running cell is done")

    def _say(self, text: str) -> None:
        self.waiting.setText(text)
        self.waiting.show()

    def _busy_changed(self, busy: bool) -> None:
        if busy:
            return
        if self.queued:
            QTimer.singleShot(0, self._run_queued)
        elif self.waiting.isVisible() and self.waiting.text().startswith("Kept here, not run"):
            self.waiting.hide()  # it is done now: the message would be stale

    # --- drawing --------------------------------------------------------------------------------------
    def _update_prompt(self) -> None:
        self.prompt.setText(f"In [{self.count + 1}]:")
        fm = self.prompt.fontMetrics()
        self.prompt.setMinimumWidth(fm.horizontalAdvance("In [000]:"))

    def _apply_theme(self) -> None:
        self.theme = _Theme.of(self.palette())
        t = self.theme
        base = self.palette().color(QPalette.ColorRole.Base).name()
        self.prompt.setStyleSheet(f"color: {t.in_prompt}; font-weight: bold; padding-top: 3px;")
        self.input_frame.setStyleSheet(
            f"QFrame#consoleInputFrame {{ background: {t.code_bg}; border-top: 1px solid {t.code_border}; }}"
            f"QPlainTextEdit#consoleInput {{ background: {t.code_bg}; color: {t.text}; }}"
        )
        self.view.setStyleSheet(f"QTextBrowser {{ background: {base}; color: {t.text}; }}")
        self._highlighter = _Highlighter(self.input.document(), t)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange and _Theme.of(self.palette()) != self.theme:
            self._apply_theme()
            self.render()
        if event.type() == QEvent.Type.FontChange:  # measure once every font has its new size
            QTimer.singleShot(0, self, self._refit)
        super().changeEvent(event)

    def _refit(self) -> None:
        self._update_prompt()
        self.render()

    def _add_cell(self, cell: Cell) -> None:
        """Append one cell to the transcript: drawn at the end, not the whole document again."""
        self.cells.append(cell)
        self.transcript_changed.emit()
        if len(self.cells) == 1:
            self.render()  # replaces the introduction
            return
        fm = self.view.fontMetrics()
        cursor = QTextCursor(self.view.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertHtml(
            self._cell_html(cell, set(self.session.names()), fm.horizontalAdvance("Out [000]:") + 8)
        )
        bar = self.view.verticalScrollBar()
        bar.setValue(bar.maximum())

    def render(self) -> None:
        """Draw the whole transcript from ``cells`` (on a change of palette; runs append)."""
        t = self.theme
        names = set(self.session.names())
        fm = self.view.fontMetrics()
        prompt_w = fm.horizontalAdvance("Out [000]:") + 8
        parts = [
            "<html><body style='white-space:pre-wrap'>",
        ]
        if not self.cells:
            lines = "".join(
                f"<br>&nbsp;&nbsp;<span style='color:{t.text}'>{highlight_html(line, t)}</span>"
                for line in (
                    "x = torch.tensor(3.)",
                    "w = torch.tensor(4., requires_grad=True)",
                    "b = torch.tensor(5., requires_grad=True)",
                    "y = w*x + b",
                    "y.backward()",
                    "w.grad",
                )
            )
            parts.append(
                f"<p style='color:{t.muted}'>Type Python as in the notebook, for example:{lines}</p>"
                f"<p style='color:{t.muted}'>Enter runs · Shift+Enter starts a new line · Tab completes · "
                "↑ and ↓ recall earlier input</p>"
            )
        for cell in self.cells:
            parts.append(self._cell_html(cell, names, prompt_w))
        parts.append("</body></html>")
        self.view.setHtml("".join(parts))
        bar = self.view.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _cell_html(self, cell: Cell, names: set[str], prompt_w: int) -> str:
        t = self.theme

        def pre(text: str, color: str | None = None) -> str:
            style = "white-space:pre-wrap; margin:0" + (f"; color:{color}" if color else "")
            return f"<div style='{style}'>{text}</div>"

        def row(prompt: str, prompt_color: str, body: str, bg: str | None = None) -> str:
            bgattr = f" bgcolor='{bg}'" if bg else ""
            return (
                f"<tr><td width='{prompt_w}' align='right' valign='top' style='color:{prompt_color}; font-weight:bold'>"
                f"{html.escape(prompt)}</td><td{bgattr}>{body}</td></tr>"
            )

        rows: list[str] = []
        if cell.kind == "action":
            rows.append(row("", t.muted, pre(html.escape("# " + cell.source), t.comment)))
        else:
            rows.append(
                row(
                    f"In [{cell.number}]:", t.in_prompt, pre(highlight_html(cell.source, t, names)), t.code_bg
                )
            )
            if cell.printed:
                rows.append(row("", t.muted, pre(html.escape(cell.printed.rstrip("\n")))))
            for w in cell.warnings:
                rows.append(row("", t.muted, pre(html.escape(w), t.warn_fg), t.warn_bg))
            if cell.result is not None:
                rows.append(row(f"Out [{cell.number}]:", t.out_prompt, pre(html.escape(cell.result))))
            if cell.error:
                body = pre(html.escape(cell.error), t.error_fg)
                if cell.note:
                    body += pre(html.escape(cell.note), t.muted)
                rows.append(row("", t.error_fg, body, t.error_bg))
        return (
            "<table width='100%' cellspacing='0' cellpadding='3' style='margin-bottom:8px'>"
            + "".join(rows)
            + "</table>"
        )
