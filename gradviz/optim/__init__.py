"""``gradviz.optim``: optimizers with PyTorch's update rules and rounding, as ``torch.optim``."""

from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "lr_scheduler"]
