"""The app's dialogs: new tensor, operation, backward. Each talks only to the session."""

from .backward import BackwardDialog
from .new_tensor import NewTensorDialog
from .operation import OperationDialog

__all__ = ["BackwardDialog", "NewTensorDialog", "OperationDialog"]
