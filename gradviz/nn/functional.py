"""``gradviz.nn.functional``, as ``torch.nn.functional``."""

from ..engine.nn_functional import *  # noqa: F403
from ..engine.nn_functional import __all__  # noqa: F401
