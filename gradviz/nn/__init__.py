"""``gradviz.nn``: modules, parameters, losses, ``init`` and ``functional``, as ``torch.nn``."""

from . import functional, functional_extra, init, utils
from .modules import *  # noqa: F403
from .modules import __all__ as _module_names
from .parameter import Parameter

# Until they move into functional.py (see functional_extra): offer them as F.<name> too, without
# shadowing any that functional already defines.
for _name in functional_extra.__all__:
    if not hasattr(functional, _name):
        setattr(functional, _name, getattr(functional_extra, _name))
del _name

__all__ = ["Parameter", "functional", "init", "utils", *_module_names]
