"""``gradviz.nn``: modules, parameters, losses, ``init`` and ``functional``, as ``torch.nn``."""

from . import functional, init, utils
from .modules import *  # noqa: F403
from .modules import __all__ as _module_names
from .parameter import Parameter

__all__ = ["Parameter", "functional", "init", "utils", *_module_names]
