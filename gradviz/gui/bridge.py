"""The session's plain-Python events as Qt signals.

The model never touches a widget: it calls its ``Event`` handlers, and :class:`SessionBridge`
re-emits each as a signal. A signal emitted from another thread reaches widgets queued, on the
GUI thread, as Qt does for any cross-thread signal.
"""

from __future__ import annotations

import contextlib
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..session.document import Change, Session


class SessionBridge(QObject):
    changed = Signal(object)  # a session.document.Change
    tensor_added = Signal(str)
    tensor_removed = Signal(str)
    tensor_changed = Signal(str)
    gradients_updated = Signal(list)
    renamed = Signal(str, str)

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.last_change: Change | None = None
        self._links: list[tuple[Any, Any]] = [
            (session.changed, self._relay("changed")),
            (session.tensor_added, self._relay("tensor_added")),
            (session.tensor_removed, self._relay("tensor_removed")),
            (session.tensor_changed, self._relay("tensor_changed")),
            (session.gradients_updated, self._relay("gradients_updated")),
            (session.renamed, self._relay("renamed")),
        ]
        for event, handler in self._links:
            event.connect(handler)

    def _relay(self, signal: str) -> Any:
        def handler(*args: Any) -> None:
            if signal == "changed":
                self.last_change = args[0] if args else None
            try:
                getattr(self, signal).emit(*args)
            except RuntimeError:  # the Qt object is gone (its window closed): stop listening
                self.close()

        return handler

    def close(self) -> None:
        """Stop listening (the session may outlive the window)."""
        for event, handler in self._links:
            with contextlib.suppress(ValueError):
                event.disconnect(handler)
        self._links = []
