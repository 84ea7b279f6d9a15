"""The session's plain-Python events as Qt signals.

The model never touches a widget: it calls its ``Event`` handlers, and :class:`SessionBridge`
re-emits each as a signal. A signal emitted from another thread reaches widgets queued, on the
GUI thread, as Qt does for any cross-thread signal.
"""

from __future__ import annotations

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
            (session.changed, self._on_changed),
            (session.tensor_added, self.tensor_added.emit),
            (session.tensor_removed, self.tensor_removed.emit),
            (session.tensor_changed, self.tensor_changed.emit),
            (session.gradients_updated, self.gradients_updated.emit),
            (session.renamed, self.renamed.emit),
        ]
        for event, handler in self._links:
            event.connect(handler)

    def _on_changed(self, change: Change) -> None:
        self.last_change = change
        self.changed.emit(change)

    def close(self) -> None:
        """Stop listening (the session may outlive the window)."""
        for event, handler in self._links:
            try:
                event.disconnect(handler)
            except ValueError:
                pass
        self._links = []
