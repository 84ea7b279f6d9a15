"""The console: the seed notebook's own language, recorded in a Session.

One module per job: ``check`` (the whitelist, judged before anything runs), ``evaluate`` (walking
statements and expressions), ``names`` (``=``, ``+=``, ``del``), ``attributes`` and ``actions``
(what ``x.attr`` and ``x.backward()`` mean), ``operators``, ``binding`` (arguments to catalogue
ops), ``construct`` (``torch.zeros`` ...), ``builtins`` (``print``, ``len`` ...), ``namespaces``
(``torch``, ``F``, ``nn``, ``optim``), ``modules``/``classes``/``optimisers`` (``nn.Linear``,
``class Net(nn.Module)``, ``optim.SGD``: recorded in the session's log, and written as plain
data by ``records``), ``complete`` (completion) and ``core`` (``Console.run``); ``values`` are
the objects the evaluator computes with and ``limits`` bounds them. See ``core`` for the choices a
reader should know.
"""

from .core import Console, ConsoleResult
from .values import ConsoleError

__all__ = ["Console", "ConsoleError", "ConsoleResult"]
