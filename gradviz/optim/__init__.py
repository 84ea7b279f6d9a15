"""``gradviz.optim``: optimizers with PyTorch's update rules and rounding, as ``torch.optim``."""

from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer"]
