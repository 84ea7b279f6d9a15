"""A learner's own functions (``def loss_fn(pred, y): ...`` and ``lambda``), run by the same
evaluator as everything else: the body was judged by ``check`` with the rest of the input, and
each call spends a step of the input's budget and is bounded in depth (``control``).

Parameters and the names a body assigns are local, as in Python: a tensor bound inside a function
is not recorded under its local name (``diff`` in ``mse``); what the function returns is
recorded where the caller binds it. Names a body reads but doesn't assign are found in the scopes
it was defined in, then among the session's tensors and the console's variables.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from .values import ConsoleError

if TYPE_CHECKING:
    from .evaluate import Run


class UserFunction:
    """A function defined in the console."""

    def __init__(
        self,
        name: str,
        params: list[str],
        defaults: list[Any],
        body: list[ast.stmt],
        enclosing: tuple[dict[str, Any], ...],
    ) -> None:
        self.name = name
        self.params = params
        self.defaults = defaults
        self.body = body
        self.enclosing = enclosing  # the scopes it was defined in (closures)

    def __repr__(self) -> str:
        return f"<function {self.name}>"

    def bind(self, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The parameters' values, matched as Python matches them."""
        n, name = len(self.params), self.name
        if len(args) > n:
            raise TypeError(
                f"{name}() takes {n} positional argument{'s' * (n != 1)} but {len(args)} were given"
            )
        local = dict(zip(self.params, args))
        for k, v in kwargs.items():
            if k not in self.params:
                raise TypeError(f"{name}() got an unexpected keyword argument '{k}'")
            if k in local:
                raise TypeError(f"{name}() got multiple values for argument '{k}'")
            local[k] = v
        first_default = n - len(self.defaults)
        for i, p in enumerate(self.params):
            if p not in local:
                if i < first_default:
                    raise TypeError(f"{name}() missing required positional argument: '{p}'")
                local[p] = self.defaults[i - first_default]
        return local

    def call(self, run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.AST | None = None) -> Any:
        from .control import MAX_CALL_DEPTH, ReturnValue, block, tick

        tick(run)
        if run.depth >= MAX_CALL_DEPTH:
            raise ConsoleError(
                f"{self.name}() calls nest more than {MAX_CALL_DEPTH} deep in the console (a recursion without end?)"
            )
        saved, line = run.scopes, run.line
        run.scopes = [*self.enclosing, self.bind(args, kwargs)]
        run.depth += 1
        try:
            block(run, self.body)
        except ReturnValue as r:
            return r.value
        finally:
            run.scopes, run.line = saved, line
            run.depth -= 1
        return None
