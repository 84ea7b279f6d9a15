"""gradviz: see autograd at work.

``import gradviz as torch`` gives PyTorch's tensor and autograd surface on numpy.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from . import autograd, linalg, nn, optim, profiler, utils
from .engine import *  # noqa: F403
from .engine import __all__ as _engine_names
from .engine import bool_ as bool
from .engine import random
from .engine.autograd import keep_grads as keep_grads  # gradviz's own: not in __all__
from .engine.scopes import name_scope as name_scope  # gradviz's own too

try:
    __version__ = _version("gradviz")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "autograd",
    "linalg",
    "nn",
    "optim",
    "profiler",
    "utils",
    "bool",
    "random",
    "__version__",
    *_engine_names,
]


def __getattr__(name: str):
    # draw() needs networkx and graphviz: load them on first use, not on `import gradviz`.
    if name == "draw":
        from .graph.draw import draw

        return draw
    if name == "capture":  # real PyTorch's forward and backward, kept for drawing (needs torch)
        from .graph.torch_capture import capture

        return capture
    if name == "watch":  # a real PyTorch training loop, recorded step by step (needs torch)
        from .session.torch_training import watch

        return watch
    if name == "show":  # the window needs Qt: load it only when asked for
        from .gui.app import show

        return show
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
