"""Escape attempts: each is refused with an error naming the construct, and changes nothing."""

from __future__ import annotations

import pytest

from gradviz.session.console import Console
from gradviz.session.document import Session

ATTEMPTS = [
    # (source, words the error must contain)
    ("__import__('os')", "calling '__import__' is not allowed"),
    ("__import__", "name '__import__' is not accessible"),
    ("__builtins__", "name '__builtins__' is not accessible"),
    ("().__class__.__bases__", "attribute '__bases__' is not accessible"),
    ("().__class__.__base__.__subclasses__()", "attribute '__subclasses__' is not accessible"),
    ("x.__class__", "attribute '__class__' is not accessible"),
    ("x.__class__.__mro__", "attribute '__mro__' is not accessible"),
    ("x._data", "attribute '_data' is not accessible"),
    ("x.grad_fn.__class__", "attribute '__class__' is not accessible"),
    ("w.grad.__class__", "attribute '__class__' is not accessible"),
    ("torch.__dict__", "attribute '__dict__' is not accessible"),
    ("F.__dict__", "attribute '__dict__' is not accessible"),
    ("torch.nn.functional.__dict__", "attribute '__dict__' is not accessible"),
    ("torch.tensor.__globals__", "attribute '__globals__' is not accessible"),
    ("print.__self__", "attribute '__self__' is not accessible"),
    ("x.exp.__func__", "attribute '__func__' is not accessible"),
    ("torch.engine.tensor.np.os", "torch.engine is not available in the console"),
    ("gradviz.engine", "gradviz.engine is not available in the console"),
    ("gradviz.session", "is not available in the console"),
    ("torch.nn.functional.np", "module 'torch.nn.functional' has no attribute 'np'"),
    ("F.relu.__module__", "attribute '__module__' is not accessible"),
    ("torch.load('x.pt')", "module 'torch' has no attribute 'load'"),
    (
        "(x * 2).grad_fn.next_functions[0][0].variable",
        "attribute 'variable' of a AccumulateGrad is not available",
    ),
    (
        "x.detach().numpy().tofile('/tmp/gradviz-escape')",
        "attribute 'tofile' of a numpy array is not available",
    ),
    ("'{0.__class__}'.format(x)", "attribute 'format' of a str is not available"),
    ("''.join(['a'])", "attribute 'join' of a str is not available"),
    ("(1).real", "attribute 'real' of a int is not available"),
    ("x.shape.index(2)", "attribute 'index' of a Size is not available"),
    ("open('/etc/passwd')", "calling 'open' is not allowed"),
    ("print(open('/etc/passwd').read())", "calling 'open' is not allowed"),
    ("eval('1')", "calling 'eval' is not allowed"),
    ("exec('x = 1')", "calling 'exec' is not allowed"),
    ("compile('1', '', 'eval')", "calling 'compile' is not allowed"),
    ("getattr(x, '__class__')", "calling 'getattr' is not allowed"),
    ("setattr(x, 'grad', None)", "calling 'setattr' is not allowed"),
    ("globals()", "calling 'globals' is not allowed"),
    ("locals()", "calling 'locals' is not allowed"),
    ("vars(x)", "calling 'vars' is not allowed"),
    ("dir(x)", "calling 'dir' is not allowed"),
    ("breakpoint()", "calling 'breakpoint' is not allowed"),
    ("input()", "calling 'input' is not allowed"),
    ("exit()", "calling 'exit' is not allowed"),
    ("help(x)", "calling 'help' is not allowed"),
    ("object()", "calling 'object' is not allowed"),
    ("eval", "'eval' is not available in the console"),
    ("g = getattr", "'getattr' is not available in the console"),
    ("import os", "are not allowed in the console"),
    ("from os import system", "are not allowed in the console"),
    ("import gradviz.session.document", "are not allowed in the console"),
    ("import torch as os\nimport os", "are not allowed in the console"),
    ("[i for i in range(3)]", "comprehensions are not allowed"),
    ("{i: i for i in x}", "comprehensions are not allowed"),
    ("list(i for i in x)", "generator expressions are not allowed"),
    ("class A: pass", "defining classes is not allowed in the console, except a module"),
    ("with open('/etc/passwd'): pass", "with blocks are only for torch.no_grad()"),
    ("for i in x: pass\nelse: pass", "for ... else is not allowed"),
    ("def f(*a): pass", "*args, **kwargs"),
    ("@print\ndef f(): pass", "decorators are not allowed"),
    ("break", "'break' outside loop (line 1)"),
    ("return 1", "'return' outside function (line 1)"),
    ("f = lambda: __import__", "name '__import__' is not accessible"),
    ("def f():\n    return x.__class__", "attribute '__class__' is not accessible in the console (line 2)"),
    ("while True: pass", "while loops are not allowed"),
    ("try:\n    pass\nexcept Exception:\n    pass", "try blocks are not allowed"),
    ("raise SystemExit", "raise is not allowed"),
    ("global x", "global is not allowed"),
    ("(y := 3)", "the := operator is not allowed"),
    ("{'a': 1}", "dict literals are not allowed"),
    ("f'{open(\"/etc/passwd\")}'", "calling 'open' is not allowed"),
    ("f'{x.__class__}'", "attribute '__class__' is not accessible"),
    ('f\'{__import__("os").system("true")}\'', "calling '__import__' is not allowed"),
    ("f'{x:{x.__class__}}'", "attribute '__class__' is not accessible"),
    ("print(**{'file': 1})", "**keyword unpacking is not allowed"),
    ("b'abc'", "bytes literals are not supported"),
    ("x.add_(1)", "changes a tensor in place"),
    ("x[0] = 5.", "changes a tensor in place"),
    ("x.data = torch.zeros(2)", "can't assign to x.data"),
    ("x.grad_fn = None", "can't assign to x.grad_fn"),
    ("torch.tensor = 1", "can't assign to torch.tensor"),
    ("torch = 1", "'torch' is reserved"),
    ("print = 1", "'print' is reserved"),
    ("del torch", "'torch' is built into the console"),
    ("10 ** 10 ** 10", "too large"),
    ("'a' * 10 ** 9", "unsupported operand type(s) for *: 'str' and 'int'"),
    ("[0] * 10 ** 9", "unsupported operand type(s) for *: 'list' and 'int'"),
    ("x @ 1", "must be Tensor"),
    ("x ^ x", "the ^ operator"),
    ("1 << 100000", "the << operator"),
    ("y = 1\nimport os", "are not allowed in the console (line 2)"),  # refused before y = 1 runs
    ("y = x * 2\ntorch.engine", "torch.engine is not available"),  # y = x * 2 is rolled back
    ("y = x * 2\nx.__class__", "attribute '__class__' is not accessible"),
]


@pytest.fixture
def console() -> Console:
    s = Session()
    c = Console(s)
    r = c.run(
        "x = torch.tensor([1., 2.], requires_grad=True)\nw = torch.tensor(3., requires_grad=True)\n(w * 2).backward()\nlr = 0.5"
    )
    assert r.ok, r.text
    return c


@pytest.mark.parametrize(("source", "words"), ATTEMPTS, ids=[a for a, _ in ATTEMPTS])
def test_escape_attempt_is_refused_and_changes_nothing(console: Console, source: str, words: str) -> None:
    s = console.session
    entries, variables = s.entries, dict(console.variables)
    undo_depth = len(s._undo)
    seen: list = []
    s.changed.connect(seen.append)
    r = console.run(source)
    assert not r.ok, f"{source!r} was accepted: {r.output!r}"
    assert words in r.error, f"{source!r}: {r.error_type}: {r.error}"
    assert r.output == ""
    assert len(s.entries) == len(entries) and all(a is b for a, b in zip(s.entries, entries))
    assert console.variables == variables
    assert len(s._undo) == undo_depth
    assert seen == []
    assert s.names() == ["x", "w"]
    assert s.tensor("w").grad.item() == 2.0


def test_refusals_name_the_kind_of_error(console: Console) -> None:
    assert console.run("import os").error_type == "ConsoleError"
    assert console.run("q").error_type == "NameError"
    assert console.run("x.foo").error_type == "AttributeError"
    assert console.run("x +").error_type == "SyntaxError"
    assert console.run("(" * 1000 + ")" * 1000).error is not None


def test_nothing_the_console_returns_is_a_live_python_object(console: Console) -> None:
    """Shown values are reprs; type() gives a name, not the class."""
    r = console.run("type(x)")
    assert r.result == "<class 'gradviz.engine.tensor.Tensor'>"
    r = console.run("t = type(x)\nt.__call__")
    assert not r.ok and "'__call__' is not accessible" in r.error
    r = console.run("t = type(x)\nt.mro()")
    assert not r.ok and "attribute 'mro'" in r.error
    r = console.run("torch.manual_seed")
    assert r.result == "<built-in function manual_seed>"
