"""The console language: statements become session entries, values show as the notebook shows
them, one input is one undo step, and every catalogue op is reachable."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import gradviz
import gradviz.nn.functional as gF  # noqa: N812
from gradviz.session import catalogue
from gradviz.session.console import Console
from gradviz.session.document import Session, SessionError
from gradviz.session.log import Backward, Delete, Leaf, Op, Rename, SetRequiresGrad, ZeroGrad


def make(source: str = "", **kw: int) -> Console:
    c = Console(Session(**kw))
    if source:
        r = c.run(source)
        assert r.ok, r.text
    return c


def ok(c: Console, source: str) -> str:
    r = c.run(source)
    assert r.ok, f"{source}\n{r.text}"
    return r.output


SEED = (
    "x = torch.tensor(3.)\nw = torch.tensor(4., requires_grad=True)\nb = torch.tensor(5., requires_grad=True)"
)


# --- statements become entries --------------------------------------------------------------------
def test_assignment_records_named_ops_and_hidden_intermediates() -> None:
    c = make(SEED)
    s = c.session
    n = len(s.entries)
    assert ok(c, "y = w*x + b") == ""
    new = s.entries[n:]
    assert [type(e) for e in new] == [Op, Op]
    assert new[0].op == "mul" and new[0].hidden and new[1].op == "add" and new[1].name == "y"
    assert ok(c, "y") == "tensor(17., grad_fn=<AddBackward0>)\n"
    assert s.names() == ["x", "w", "b", "y"]
    ok(c, "y.backward()")
    assert isinstance(s.entries[-1], Backward) and s.entries[-1].target == "y"
    assert ok(c, "w.grad") == "tensor(3.)\n"
    assert ok(c, "x.grad") == ""  # None shows nothing, as in IPython


def test_constructors_become_leaves_with_their_source() -> None:
    c = make("t = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)")
    e = c.session.entries[-1]
    assert isinstance(e, Leaf) and e.name == "t" and e.requires_grad and e.value.dtype == np.float64
    assert e.source == "torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)"
    cases = {
        "torch.tensor([[1, 2], [3, 4]])": gradviz.tensor([[1, 2], [3, 4]]),
        "torch.tensor([1., 2], dtype=torch.float64)": gradviz.tensor([1.0, 2], dtype=gradviz.float64),
        "gradviz.ones(3)": gradviz.ones(3),
        "torch.ones((2, 2), dtype=torch.int64)": gradviz.ones((2, 2), dtype=gradviz.int64),
        "torch.empty(2)": gradviz.zeros(2),
        "torch.full((2, 2), 7.)": gradviz.full((2, 2), 7.0),
        "torch.zeros_like(t)": gradviz.zeros(2, 3, dtype=gradviz.float64),
        "torch.ones_like(t)": gradviz.ones(2, 3, dtype=gradviz.float64),
        "torch.arange(5)": gradviz.arange(5),
        "torch.arange(1, 2, 0.25)": gradviz.arange(1, 2, 0.25),
        "torch.linspace(0, 1, 5)": gradviz.linspace(0, 1, 5),
        "torch.eye(3)": gradviz.eye(3),
        "torch.eye(2, 3)": gradviz.eye(2, 3),
        "torch.zeros(t.shape)": gradviz.zeros(2, 3),
    }
    for src, want in cases.items():
        assert ok(c, f"v = {src}\nv") == repr(want) + "\n", src
        assert isinstance(c.session.entries[-1], Leaf)
    assert ok(c, "torch.tensor(4., requires_grad=True)") == "tensor(4., requires_grad=True)\n"


def test_random_constructors_follow_manual_seed_and_replay_exactly() -> None:
    c = make()
    out = ok(
        c, "torch.manual_seed(0)\nr = torch.randn(2, 3)\nu = torch.rand(4)\ni = torch.randint(0, 10, (5,))\nr"
    )
    gradviz.manual_seed(0)
    want = gradviz.randn(2, 3)
    assert out == repr(want) + "\n"
    assert np.array_equal(c.session.tensor("u").numpy(), gradviz.rand(4).numpy())
    assert np.array_equal(c.session.tensor("i").numpy(), gradviz.randint(0, 10, (5,)).numpy())
    fresh = Session()
    fresh.load_entries(c.session.entries)  # the values are stored: replay needs no generator
    for n in ("r", "u", "i"):
        assert np.array_equal(fresh.tensor(n).numpy(), c.session.tensor(n).numpy())


def test_size_limit_refuses_before_allocating() -> None:
    c = make()
    r = c.run("z = torch.zeros(100000, 100000)")
    assert not r.ok and "10,000,000,000 elements" in r.error and "nothing was allocated" in r.error
    small = make(max_elements=1000)
    for src in (
        "torch.ones(2000, 1000)", "torch.rand(10**6)", "torch.randn(1000, 2)", "torch.full((100, 100), 1.)",
        "torch.arange(0, 1, 1e-6)", "torch.linspace(0, 1, 10**6)", "torch.eye(1000)", "torch.randint(0, 5, (10**6,))",
        "a = torch.ones(100)\na[:, None] * a", "a = torch.ones(1000)\ntorch.cat([a, a])",
    ):  # fmt: skip
        tracemalloc.start()
        try:
            r = small.run(src)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert not r.ok and "limit of 1,000" in r.error, src
        assert peak < 1_000_000, (src, peak)
        assert small.session.entries == ()


def test_one_run_is_one_undo_step() -> None:
    c = make(SEED)
    s = c.session
    before = s.entries
    ok(c, "y = w*x + b\ny.backward()\nz = y * 2")
    assert s.undo_label == "console: y = w*x + b"
    s.undo()
    assert s.entries == before and s.names() == ["x", "w", "b"]
    assert s.tensor("w").grad is None
    s.redo()
    assert s.names() == ["x", "w", "b", "y", "z"] and s.tensor("w").grad.item() == 3.0


def test_a_failing_statement_rolls_back_the_whole_input() -> None:
    c = make(SEED + "\nlr = 0.1")
    s = c.session
    before, undo = s.entries, s.can_undo
    r = c.run("y = w*x + b\nlr = 0.2\nprint('hi')\ny.backward()\nq * 2\nz = y")
    assert r.error_type == "NameError" and r.error == "name 'q' is not defined"
    assert r.statements == 6 and r.executed == 4 and r.error_line == 5
    assert r.output == "hi\n"  # printed before the failure, as IPython shows it
    assert s.entries == before and "y" not in s and s.tensor("w").grad is None
    assert c.variables == {"lr": 0.1}
    assert s.can_undo == undo


def test_expression_statements_show_values_and_record_nothing() -> None:
    c = make(SEED)
    s = c.session
    before = s.entries
    assert ok(c, "w*x + b") == "tensor(17., grad_fn=<AddBackward0>)\n"
    assert (
        ok(c, "print(w*x)\nw * x")
        == "tensor(12., grad_fn=<MulBackward0>)\ntensor(12., grad_fn=<MulBackward0>)\n"
    )
    assert ok(c, "torch.ones(2)") == "tensor([1., 1.])\n"
    assert s.entries == before
    assert ok(c, "w*x;") == ""  # a trailing ; hides the value, as in IPython
    assert ok(c, "w * x  # a comment") == "tensor(12., grad_fn=<MulBackward0>)\n"
    assert ok(c, "t1 = torch.tensor(1.)\nt1\nw") == "tensor(4., requires_grad=True)\n"  # only the last one


def test_backward_of_an_unnamed_expression_records_only_what_it_needs() -> None:
    c = make(SEED)
    s = c.session
    ok(c, "(w*x + b).backward()")
    assert s.tensor("w").grad.item() == 3.0 and s.tensor("b").grad.item() == 1.0
    assert s.names(include_hidden=True) == ["x", "w", "b"]  # the hidden ops were collected
    fresh = Session()
    fresh.load_entries(s.entries)
    assert fresh.tensor("w").grad.item() == 3.0


def test_reassignment_works_like_python() -> None:
    c = make(SEED + "\ny = w*x + b")
    s = c.session
    old_uid = s.info("y").uid
    ok(c, "y = y * 2")
    assert ok(c, "y") == "tensor(34., grad_fn=<MulBackward0>)\n"
    assert s.names() == ["x", "w", "b", "y"]
    hidden = [n for n in s.names(include_hidden=True) if s.info(n).uid == old_uid]
    assert hidden and hidden[0].startswith("_") and s.info(hidden[0]).hidden
    assert s.operands("y") == hidden
    ok(c, "y.backward()")
    assert s.tensor("w").grad.item() == 6.0
    # A name re-bound to an unrelated tensor: the old one (nothing depends on it) goes, and so
    # do the hidden tensors only it used.
    n = len(s.entries)
    ok(c, "y = torch.tensor(0.)")
    assert any(isinstance(e, Delete) for e in s.entries[n:])
    assert s.names(include_hidden=True) == ["x", "w", "b", "y"]
    # A leaf that something depends on stays, hidden.
    ok(c, "z = w * 2\nw = torch.tensor(1.)")
    assert any(isinstance(e, Rename) for e in s.entries) and len(s.names(include_hidden=True)) == 6
    assert ok(c, "z") == "tensor(8., grad_fn=<MulBackward0>)\n"
    assert ok(c, "x = x") == "" and s.names()[0] == "x"


def test_one_tensor_cannot_take_two_names() -> None:
    c = make(SEED)
    r = c.run("v = w")
    assert not r.ok and "two names" in r.error and "w.clone()" in r.error
    assert ok(c, "v = w.clone()\nv") == "tensor(4., grad_fn=<CloneBackward0>)\n"


def test_del_unbinds_like_python() -> None:
    c = make(SEED + "\ny = w * x")
    s = c.session
    ok(c, "del b")
    assert "b" not in s
    # b was read by nothing that is left: it leaves the log too, with its value
    assert not any(isinstance(e, Leaf) and e.name == "b" for e in s.entries)
    ok(c, "del w")  # y depends on w: it stays, unnamed
    assert "w" not in s.names() and ok(c, "y") == "tensor(12., grad_fn=<MulBackward0>)\n"
    ok(c, "del y")  # and now nothing refers to it any more
    assert s.names(include_hidden=True) == ["x"]
    assert c.run("del q").error == "name 'q' is not defined"
    ok(c, "n = 3\ndel n")
    assert c.variables == {}


def test_plain_python_values_live_in_the_console() -> None:
    c = make(SEED + "\ny = w*x + b\ny.backward()")
    ok(c, "lr = 0.1\nshape = (2, 3)")
    assert ok(c, "w2 = w - lr * w.grad\nw2") == "tensor(3.7000, grad_fn=<SubBackward0>)\n"
    e = [e for e in c.session.entries if isinstance(e, Leaf) and e.source == "w.grad"]
    assert len(e) == 1 and e[0].name.startswith("_")  # the gradient, as a hidden constant
    assert ok(c, "torch.zeros(shape).shape") == "gradviz.Size([2, 3])\n"
    assert ok(c, "lr * 2, 7 // 2, 7 % 3, -lr, 2 ** 10, 'a' + 'b', [1] + [2], not lr") == (
        "(0.2, 3, 1, -0.1, 1024, 'ab', [1, 2], False)\n"
    )
    r = c.run("pair = (w, x)")
    assert not r.ok and "give each tensor its own name" in r.error
    ok(c, "x = 5")  # a name can move from a tensor to a number
    assert "x" not in c.session.names() and c.variables["x"] == 5


def test_augmented_assignment() -> None:
    c = make("x = torch.tensor([1, 2])\nf = torch.tensor([1., 2.], requires_grad=True)")
    assert ok(c, "x += 1\nx") == "tensor([2, 3])\n"
    assert c.run("x += 0.5").error == "result type Float can't be cast to the desired output type Long"
    assert (
        c.run("f += 1").error == "a leaf Variable that requires grad is being used in an in-place operation."
    )
    assert ok(c, "g = f * 1\ng *= 3\ng") == "tensor([3., 6.], grad_fn=<MulBackward0>)\n"
    assert ok(c, "n = 1\nn += 2\nn") == "3\n"


# --- reading values -----------------------------------------------------------------------------------
def test_attribute_and_method_reads() -> None:
    c = make("a = torch.tensor([[1., 2., 3.], [4., 5., 6.]], requires_grad=True)\nh = a * 2")
    cases = {
        "a.shape": "gradviz.Size([2, 3])",
        "a.dtype": "gradviz.float32",
        "a.requires_grad": "True",
        "a.is_leaf": "True",
        "h.is_leaf": "False",
        "a.grad_fn": None,
        "h.grad_fn.name()": "'MulBackward0'",
        "a.ndim, a.dim(), a.numel(), a.size(), a.size(1), len(a), a.shape[0]": "(2, 2, 6, gradviz.Size([2, 3]), 3, 2, 2)",
        "a.device": "device(type='cpu')",
        "a[0, 1].item()": "2.0",
        "a.tolist()": "[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]",
        "a.detach().numpy()": "array([[1., 2., 3.],\n       [4., 5., 6.]], dtype=float32)",
        "a.is_floating_point(), a.element_size(), a.type()": "(True, 4, 'torch.FloatTensor')",
        "float(a.sum()), int(a[1, 2]), bool(a[0, 0])": "(21.0, 6, True)",
        "a.grad is None, h.grad_fn is not None": "(True, True)",
        "a.dtype == torch.float32, torch.float == torch.float32": "(True, True)",
        "a.max(1)": "gradviz.return_types.max(\nvalues=tensor([3., 6.], grad_fn=<MaxBackward0>),\nindices=tensor([2, 2]))",
        "a.T.shape, a.t().shape, a.data.requires_grad": "(gradviz.Size([3, 2]), gradviz.Size([3, 2]), False)",
        "f'{a.sum().item():.1f} {a.shape}'": "'21.0 gradviz.Size([2, 3])'",
        "abs(-2), round(2.567, 1), min(3, 1), max([1, 5]), list(a.shape), tuple([1]), str(1), repr('a')": (
            "(2, 2.6, 1, 5, [2, 3], (1,), '1', \"'a'\")"
        ),
    }
    for src, want in cases.items():
        assert ok(c, src) == ("" if want is None else want + "\n"), src
    assert "<MulBackward0 object at" in ok(c, "h.grad_fn")
    assert "AccumulateGrad" in ok(c, "h.grad_fn.next_functions")
    assert ok(c, "print(a.grad, a.shape, sep=' | ', end='!\\n')") == "None | gradviz.Size([2, 3])!\n"
    assert (
        c.run("a.numpy()").error
        == "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
    )


def test_max_with_dim_unpacks_and_indexes() -> None:
    c = make(
        "a = torch.tensor([[1., 5.], [3., 4.]], requires_grad=True)\nv, i = a.max(1)\nm = a.min(dim=0).values"
    )
    assert ok(c, "v, i") == "(tensor([5., 4.], grad_fn=<MaxBackward0>), tensor([1, 1]))\n"
    assert ok(c, "m") == "tensor([1., 4.], grad_fn=<MinBackward0>)\n"
    assert ok(c, "a.max(1)[0]") == "tensor([5., 4.], grad_fn=<MaxBackward0>)\n"
    assert not c.run("p = a.max(1)").ok


def test_gradients_requires_grad_and_retain_grad() -> None:
    c = make(SEED + "\nh = w * x\ny = h + b\ny.backward()")
    r = c.run("h.grad")
    assert r.output == "" and r.warnings and "not a leaf Tensor" in r.warnings[0]  # PyTorch's answer
    assert c.session.tensor("h")._grad is not None  # although the session keeps it for the graph
    ok(c, "h2 = w * x\nh2.retain_grad()\ny2 = h2 * 2\ny2.backward()")
    assert ok(c, "h2.grad") == "tensor(2.)\n"
    assert ok(c, "w.grad") == "tensor(9.)\n"  # accumulated: 3 + 6
    assert ok(c, "w.grad.zero_()") == "tensor(0.)\n"
    assert isinstance(c.session.entries[-1], ZeroGrad) and not c.session.entries[-1].set_to_none
    ok(c, "w.grad = None")
    assert ok(c, "w.grad") == "" and c.session.entries[-1].set_to_none
    ok(c, "x.requires_grad_()")
    assert c.session.tensor("x").requires_grad
    assert isinstance(c.session.entries[-1], SetRequiresGrad)  # from now on, not from the start
    assert not c.session.info("x").entry.requires_grad
    assert ok(c, "x.grad") == ""  # the backward before it gave x nothing, as in PyTorch
    ok(c, "x.requires_grad = False")
    assert not c.session.tensor("x").requires_grad
    assert ok(c, "t = torch.ones(2).requires_grad_()\nt") == "tensor([1., 1.], requires_grad=True)\n"
    assert (
        c.run("torch.arange(3).requires_grad_()").error
        == "only Tensors of floating point dtype can require gradients"
    )
    assert c.run("y.requires_grad_(False)").error.startswith(
        "you can only change requires_grad flags of leaf variables."
    )
    assert c.run("w.retain_grad()").ok  # a no-op on leaves
    assert (
        "can't retain_grad on Tensor that has requires_grad=False"
        in c.run("q = x.detach() * 2\nq.retain_grad()").error
    )


def test_backward_arguments_and_pytorch_errors() -> None:
    c = make("k = torch.ones(3, requires_grad=True)\nm = k * 2\nout = m.sum()")
    assert c.run("m.backward()").error == "grad can be implicitly created only for scalar outputs"
    ok(c, "m.backward(torch.tensor([1., 2., 3.]))")
    assert ok(c, "k.grad") == "tensor([2., 4., 6.])\n"
    ok(c, "k.grad = None\nout = (k * k).sum()\nout.backward(retain_graph=True)\nout.backward()")
    assert ok(c, "k.grad") == "tensor([4., 4., 4.])\n"
    r = c.run("out.backward()")
    assert r.error_type == "RuntimeError" and r.error.startswith(
        "Trying to backward through the graph a second time"
    )
    r = c.run("m.backward(gradient=torch.ones(2), retain_graph=True)")
    assert "Mismatch in shape" in r.error
    r = c.run("p = torch.ones(2, 3)\nq = torch.ones(3, 2)\np + q")
    assert (
        r.error_type == "RuntimeError"
        and "must match the size of tensor b" in r.error
        and "p" not in c.session
    )
    assert "element 0 of tensors does not require grad" in c.run("torch.ones(1).sum().backward()").error
    assert c.run("k.foo").error == "'Tensor' object has no attribute 'foo'"


def test_multi_line_statements_and_imports_of_predefined_names() -> None:
    c = make()
    out = ok(
        c,
        "import torch\nimport torch.nn.functional as F\nt4 = torch.tensor([[[11, 12, 13],\n    [13, 14, 15]]])\nF.relu(t4 - 12)",
    )
    assert out == "tensor([[[0, 0, 1],\n         [1, 2, 3]]])\n"


def test_completion() -> None:
    c = make(SEED + "\nweights = torch.ones(2)\nlr = 0.1")
    assert c.complete("w") == ["w", "weights"]
    assert c.complete("l") == ["len", "list", "lr"]
    assert c.complete("torch.ze") == ["torch.zeros", "torch.zeros_like"]
    assert c.complete("gradviz.li") == ["gradviz.linspace"]
    assert "torch.float32" in c.complete("torch.fl")
    assert c.complete("F.rel") == ["F.relu"]
    assert c.complete("torch.nn.functional.cross") == ["torch.nn.functional.cross_entropy"]
    assert c.complete("torch.nn.f") == ["torch.nn.functional"]
    assert c.complete("y = w.ba") == ["y = w.backward"]
    assert c.complete("w.gr") == ["w.grad", "w.grad_fn"]
    assert "w.grad.zero_" in c.complete("w.grad.ze")
    assert "w.exp" in c.complete("w.") and "w.__class__" not in c.complete("w.")
    assert c.complete("torch._") == [] and c.complete("q.") == [] and c.complete("w.__") == []


# --- every catalogue op, as a function and as a method -----------------------------------------------
SETUP = {
    "a": "torch.tensor([[1., -2., 3.], [4., 5., -6.]], requires_grad=True)",
    "b": "torch.tensor([[0.5, 1., 2.], [1., 2., 3.]], requires_grad=True)",
    "m": "torch.tensor([[1., 2.], [3., 4.], [5., 6.]], requires_grad=True)",
    "bias": "torch.tensor([0.5, -0.5], requires_grad=True)",
    "tgt": "torch.tensor([2, 0])",
}
EXAMPLES = {
    "add": ["a + b", "torch.add(a, b)", "a.add(b)", "1 + a", "a + 2.5"],
    "sub": ["a - b", "torch.sub(a, 2)", "a.sub(b)", "a.subtract(b)", "torch.subtract(1, b)", "3 - a"],
    "mul": ["a * b", "torch.mul(a, b)", "a.mul(2)", "a.multiply(b)", "torch.multiply(a, b)", "2 * a"],
    "div": ["a / b", "torch.div(a, b)", "a.div(2)", "a.divide(b)", "a.true_divide(b)", "2 / b"],
    "pow": ["b ** 2", "torch.pow(b, 2)", "b.pow(b)", "2 ** b", "b ** 0.5", "torch.pow(b, exponent=2)"],
    "matmul": ["a @ m", "torch.matmul(a, m)", "a.matmul(m)"],
    "neg": ["-a", "torch.neg(a)", "a.neg()", "a.negative()", "torch.negative(a)"],
    "exp": ["torch.exp(a)", "a.exp()"],
    "log": ["torch.log(b)", "b.log()"],
    "sqrt": ["torch.sqrt(b)", "b.sqrt()"],
    "sin": ["torch.sin(a)", "a.sin()"],
    "cos": ["torch.cos(a)", "a.cos()"],
    "abs": ["torch.abs(a)", "a.abs()", "abs(a)", "a.absolute()", "torch.absolute(a)"],
    "clamp": [
        "torch.clamp(a, min=0)",
        "a.clamp(-1, 1)",
        "a.clamp(max=2.)",
        "a.clip(0, 1)",
        "torch.clip(a, max=1)",
    ],
    "tanh": ["torch.tanh(a)", "a.tanh()", "F.tanh(a)"],
    "sigmoid": ["torch.sigmoid(a)", "a.sigmoid()", "F.sigmoid(a)"],
    "relu": ["torch.relu(a)", "a.relu()", "F.relu(a)"],
    "softmax": ["F.softmax(a, dim=1)", "torch.softmax(a, 0)", "a.softmax(-1)", "a.softmax(dim=0)"],
    "log_softmax": ["F.log_softmax(a, dim=1)", "torch.log_softmax(a, 0)", "a.log_softmax(1)"],
    "sum": ["a.sum()", "torch.sum(a)", "torch.sum(a, dim=1)", "a.sum(0, keepdim=True)", "a.sum(dim=(0, 1))"],
    "mean": ["a.mean()", "torch.mean(a, 1)", "a.mean(dim=0, keepdim=True)", "a.mean((0, 1))"],
    "max": [
        "a.max()",
        "torch.max(a)",
        "a.max(dim=1).values",
        "torch.max(a, 0).values",
        "a.max(1, keepdim=True)[0]",
    ],
    "min": ["a.min()", "torch.min(a)", "a.min(dim=1).values", "a.min(0)[0]"],
    "T": ["a.T", "m.T"],
    "t": ["a.t()", "torch.t(a)"],
    "transpose": ["a.transpose(0, 1)", "torch.transpose(a, 0, 1)", "a.transpose(dim0=1, dim1=0)"],
    "reshape": [
        "a.reshape(3, 2)",
        "a.reshape((3, 2))",
        "torch.reshape(a, (6,))",
        "a.reshape(-1)",
        "a.reshape(m.shape)",
    ],
    "view": ["a.view(3, 2)", "a.view(-1)", "a.view((6, 1))"],
    "flatten": ["a.flatten()", "torch.flatten(a)", "a[None].flatten(1)"],
    "unsqueeze": ["a.unsqueeze(0)", "torch.unsqueeze(a, 1)", "a.unsqueeze(dim=-1)"],
    "squeeze": ["a.unsqueeze(0).squeeze()", "torch.squeeze(a[None], 0)", "a[:, None].squeeze(1)"],
    "index": [
        "a[0]",
        "a[-1, 1:]",
        "a[:, ::2]",
        "a[..., None]",
        "a[None, 1]",
        "a[[0, 1], [2, 0]]",
        "a[a > 0]",
        "a[:, tgt]",
        "a[[True, False]]",
        "a[0, tgt]",
        "a[tgt[1], tgt[0]]",
    ],
    "cat": [
        "torch.cat([a, b])",
        "torch.cat((a, b), dim=1)",
        "torch.concat([a, b])",
        "torch.concatenate([a, b], 1)",
    ],
    "stack": ["torch.stack([a, b])", "torch.stack((a, b), dim=2)"],
    "where": [
        "torch.where(a > 0, a, b)",
        "torch.where(a > 0, a, 0.)",
        "torch.where(b > 1, 1., b)",
        "torch.where(a > 0, input=a, other=b)",
    ],
    "detach": ["a.detach()", "torch.detach(a)", "a.data"],
    "clone": ["a.clone()", "torch.clone(a)"],
    "to": [
        "a.double()",
        "a.to(torch.float64)",
        "a.to(dtype=torch.float16)",
        "a.long()",
        "a.int()",
        "a.bool()",
        "a.half()",
        "a.short()",
        "a.char()",
        "a.byte()",
        "a.type(torch.float64)",
        "tgt.float()",
        "a.to(tgt)",
    ],
    "gt": ["a > b", "torch.gt(a, 0)", "a.gt(b)", "0 > a"],
    "lt": ["a < b", "torch.lt(a, 0)", "a.lt(b)", "0 < a"],
    "ge": ["a >= b", "torch.ge(a, 1)", "a.ge(b)"],
    "le": ["a <= b", "torch.le(a, 1)", "a.le(b)"],
    "eq": ["a == b", "torch.eq(a, 1)", "a.eq(b)", "tgt == 2"],
    "ne": ["a != b", "torch.ne(a, 1)", "a.ne(b)"],
    "linear": ["F.linear(a, m.T)", "F.linear(a, m.T, bias)", "F.linear(a, m.t(), bias=bias)"],
    "mse_loss": [
        "F.mse_loss(a, b)",
        "F.mse_loss(a, b, reduction='sum')",
        "F.mse_loss(a, b, reduction='none')",
        "F.mse_loss(a, target=b)",
    ],
    # tensor operands by keyword, with PyTorch's names
    "cross_entropy": [
        "F.cross_entropy(a, tgt)",
        "F.cross_entropy(a, tgt, reduction='sum')",
        "F.cross_entropy(a, target=tgt)",
    ],
    "l1_loss": ["F.l1_loss(a, b)", "F.l1_loss(a, b, reduction='none')", "F.l1_loss(a, target=b)"],
    "binary_cross_entropy": [
        "F.binary_cross_entropy(torch.sigmoid(a), (b / 3).detach())",
        "F.binary_cross_entropy(torch.sigmoid(a), (b / 3).detach(), reduction='sum')",
        "F.binary_cross_entropy(torch.sigmoid(a), (b / 3).detach(), weight=b.detach())",
    ],
    "binary_cross_entropy_with_logits": [
        "F.binary_cross_entropy_with_logits(a, (b / 3).detach())",
        "F.binary_cross_entropy_with_logits(a, (b / 3).detach(), reduction='none')",
        "F.binary_cross_entropy_with_logits(a, target=(b / 3).detach(), weight=b.detach())",
    ],
    "nll_loss": [
        "F.nll_loss(F.log_softmax(a, dim=1), tgt)",
        "F.nll_loss(a, tgt, reduction='none')",
        "F.nll_loss(input=a, target=tgt, reduction='sum')",
    ],
    # declared in gradviz.engine.registry
    "atan2": ["torch.atan2(a, b)", "a.atan2(b)", "torch.atan2(input=a, other=b)"],
    "log1p": ["torch.log1p(b)", "b.log1p()"],
    "expm1": ["torch.expm1(a)", "a.expm1()"],
    "erf": ["torch.erf(a)", "a.erf()"],
    "tan": ["torch.tan(a)", "a.tan()"],
    "gelu": ["F.gelu(a)", "F.gelu(a, approximate='tanh')", "torch.nn.functional.gelu(b, approximate='none')"],
    "silu": ["F.silu(a)"],
    "leaky_relu": ["F.leaky_relu(a)", "F.leaky_relu(a, 0.2)", "F.leaky_relu(a, negative_slope=0.5)"],
    "softplus": [
        "F.softplus(a)",
        "F.softplus(a, beta=2)",
        "F.softplus(a, 2, 1.5)",
        "F.softplus(a, threshold=1)",
    ],
    "logsumexp": ["torch.logsumexp(a, 1)", "a.logsumexp(dim=0, keepdim=True)", "a.logsumexp((0, 1))"],
    # issue 14
    "std": ["a.std()", "torch.std(a, 1)", "a.std(dim=0, correction=0, keepdim=True)"],
    "var": ["a.var()", "torch.var(a, (0, 1))", "a.var(1, keepdim=True)"],
    "amax": ["a.amax(1)", "torch.amax(a, dim=(0, 1))"],
    "amin": ["a.amin(0)", "torch.amin(a, 1, keepdim=True)"],
    "prod": ["a.prod()", "torch.prod(b, 1)", "a.prod(0, keepdim=True)"],
    "cumsum": ["a.cumsum(1)", "torch.cumsum(a, dim=0)"],
    "cumprod": ["b.cumprod(1)", "torch.cumprod(a, 0)"],
    "all": ["a.all()", "torch.all(a > 0, 1)"],
    "any": ["a.any(0)", "torch.any(a > 4)"],
    "flip": ["a.flip(0)", "torch.flip(a, (0, 1))"],
    "sort": ["a.sort(1).values", "torch.sort(a, 0, descending=True).values"],
    "topk": ["a.topk(2).values", "torch.topk(a, 1, dim=0, largest=False).values"],
    "maximum": ["torch.maximum(a, b)", "a.maximum(b)"],
    "minimum": ["torch.minimum(a, b)", "b.minimum(a)"],
    "square": ["a.square()", "torch.square(b)"],
    "reciprocal": ["b.reciprocal()", "torch.reciprocal(b)"],
    "sign": ["a.sign()", "torch.sign(a)"],
    "mm": ["torch.mm(a, m)", "m.mm(a)"],
    "mv": ["torch.mv(m, bias)", "a.mv(torch.tensor([1., 2., 3.]))"],
    "bmm": ["torch.bmm(a.unsqueeze(0), m.unsqueeze(0))", "a.unsqueeze(0).bmm(m.unsqueeze(0))"],
    "dot": ["torch.dot(bias, bias)", "bias.dot(bias)"],
    "chunk": ["a.chunk(2, 1)[0]", "torch.chunk(m, 2)[1]", "m.chunk(3, dim=0)[2]"],
    "median": ["a.median()", "torch.median(a, 1).values"],
    "norm": ["a.norm()", "torch.norm(a, 1)", "a.norm(dim=1, keepdim=True)"],
    "floor": ["a.floor()", "torch.floor(b * 1.5)"],
    "ceil": ["a.ceil()", "torch.ceil(b * 1.5)"],
    "trunc": ["a.trunc()", "torch.trunc(b * 1.5)"],
    "round": ["(b * 1.5).round()", "torch.round(a / 3, decimals=1)"],
    "remainder": ["a % 2", "torch.remainder(a, b)", "a.remainder(b)", "7 % (tgt + 1)"],
    "fmod": ["torch.fmod(a, 2)", "a.fmod(b)"],
    "floor_divide": [
        "tgt // 2",
        "torch.floor_divide(tgt, 2.5)",
        "tgt.floor_divide(tgt + 1)",
        "7 // (tgt + 1)",
    ],
    "isclose": ["torch.isclose(a, b)", "a.isclose(a + 1e-9)"],
    "tril": ["a.tril()", "torch.tril(m, -1)"],
    "triu": ["a.triu(1)", "torch.triu(m)"],
    "diagonal": ["a.diagonal()", "torch.diagonal(m, -1)", "a.diagonal(offset=1, dim1=1, dim2=0)"],
    "masked_fill": ["a.masked_fill(a > 0, 0.)", "torch.masked_fill(a, b > 1, -1)"],
}
ALL_EXAMPLES = [(op, src) for op, srcs in EXAMPLES.items() for src in srcs]


def test_every_catalogue_op_has_console_examples() -> None:
    assert set(EXAMPLES) == {spec.name for spec in catalogue.OPS}
    text = " ".join(src for _, src in ALL_EXAMPLES)
    for spec in catalogue.OPS:
        if spec.method:
            assert f".{spec.name}(" in text, f"method form of {spec.name}"
        for alias in spec.aliases:
            assert f".{alias}(" in text or f"torch.{alias}(" in text, f"alias {alias}"


@pytest.fixture
def op_console() -> Console:
    return make("\n".join(f"{k} = {v}" for k, v in SETUP.items()))


# Spellings PyTorch has and the console accepts, which `import gradviz as torch` lacks.
REFERENCE = {"torch.subtract(1, b)": "1 - b", "torch.multiply(a, b)": "a * b", "torch.negative(a)": "-a",
             "torch.absolute(a)": "abs(a)", "torch.detach(a)": "a.detach()", "a.short()": "a.to(torch.int16)",
             "a.char()": "a.to(torch.int8)", "a.byte()": "a.to(torch.uint8)"}  # fmt: skip


def python_eval(src: str) -> tuple[dict, object]:
    """The same expression with ``import gradviz as torch`` in plain Python: the reference."""
    src = REFERENCE.get(src, src)
    ns: dict = {"torch": gradviz, "F": gF}
    for k, v in SETUP.items():
        ns[k] = eval(v, ns)
    return ns, eval(src, ns)


@pytest.mark.parametrize(("op", "src"), ALL_EXAMPLES, ids=[f"{op}:{src}" for op, src in ALL_EXAMPLES])
def test_catalogue_op_through_the_console(op_console: Console, op: str, src: str) -> None:
    c, s = op_console, op_console.session
    ns, want = python_eval(src)
    # As an expression statement: the notebook's repr, and nothing recorded.
    before = s.entries
    assert ok(c, src) == repr(want) + "\n"
    assert s.entries == before
    # Assigned: recorded through the catalogue, with the same value and the same gradients.
    n = len(s.entries)
    ok(c, f"r = {src}")
    ops = [e.op for e in s.entries[n:] if isinstance(e, Op)]
    assert op in ops, (src, ops)
    got = s.tensor("r")
    assert repr(got) == repr(want)
    # The op's entry replays: a fresh session built from the log agrees bit for bit.
    fresh = Session()
    fresh.load_entries(s.entries)
    assert np.array_equal(np.asarray(fresh.tensor("r")._data), np.asarray(got._data))
    if want.requires_grad:
        ok(c, "r.sum().backward()" if want.dtype.is_floating_point else "")
        want.sum().backward()
        for leaf in ("a", "b", "m", "bias"):
            g, w = s.tensor(leaf).grad, ns[leaf].grad
            assert (g is None) == (w is None), leaf
            if g is not None:
                np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-6)
        ok(c, "a.grad = None\nb.grad = None\nm.grad = None\nbias.grad = None")
    ok(c, "del r")
    assert s.names() == list(SETUP)


def test_tensor_operands_by_keyword_bind_like_pytorch(op_console: Console) -> None:
    c, s = op_console, op_console.session
    ok(c, "r = F.nll_loss(a, target=tgt)")
    assert [v for _, v in s.entries[-1].args] == ["a", "tgt"] and s.entries[-1].params == {}
    assert "tgt" in s.operands("r") and "r" in s.dependents("tgt")
    errors = {
        "F.nll_loss(a)": "nll_loss() missing required argument 'target'",
        "F.nll_loss(a, tgt, target=tgt)": "nll_loss() got multiple values for argument 'target'",
        "F.mse_loss(a, target=2)": "mse_loss(): argument 'target' (position 2) must be Tensor, not int",
        "torch.where(a > 0, a)": "where() missing required argument 'other'",
        "F.linear(a, 2)": "linear(): argument 'weight' (position 2) must be Tensor, not int",
    }
    for src, message in errors.items():
        r = c.run(src)
        assert r.error_type == "TypeError" and r.error == message, (src, r.text)


REQUIRES_GRAD_LATE = """x = torch.tensor(3.)
w = torch.tensor(4., requires_grad=True)
b = torch.tensor(5., requires_grad=True)
y = w*x + b
y.backward()
x.requires_grad_()
print(x.grad)
z = x * w
z.backward()
print(x.grad, w.grad)
k = torch.tensor([1., 2.]) * 3
k.requires_grad_()
(k * k).sum().backward()
print(k.grad, k.is_leaf)
x.requires_grad = False
q = x * 2
print(q.requires_grad, q.grad_fn)
"""


def test_requires_grad_set_late_changes_only_what_comes_after_as_in_pytorch(tmp_path) -> None:
    import contextlib
    import io

    import torch

    expected, scope = io.StringIO(), {"torch": torch}
    with contextlib.redirect_stdout(expected):
        for line in REQUIRES_GRAD_LATE.strip().splitlines():  # one notebook cell a line
            try:
                value = eval(line, scope)
            except SyntaxError:
                exec(line, scope)
            else:
                if value is not None:
                    print(repr(value))
    c = Console(Session())
    got = "".join(c.run(line).output for line in REQUIRES_GRAD_LATE.strip().splitlines())
    assert got == expected.getvalue()
    assert got.splitlines()[:2] == ["tensor(3., requires_grad=True)", "None"]  # x.grad: None
    # A replay (here: undo and redo of the last step) gives the same, and so does a reload.
    before = c.session.tensor("x").requires_grad, c.session.tensor("k").grad.tolist()
    c.session.undo()
    c.session.redo()
    assert (c.session.tensor("x").requires_grad, c.session.tensor("k").grad.tolist()) == before
    from gradviz.session import fileformat
    from gradviz.session.log import same_entry

    fileformat.save(c.session, tmp_path / "late.gradviz")
    again = Session()
    fileformat.open_into(again, tmp_path / "late.gradviz")
    assert all(same_entry(a, b) for a, b in zip(again.entries, c.session.entries, strict=True))
    assert again.tensor("x").grad.item() == 4.0 and again.tensor("k").grad.tolist() == [6.0, 12.0]


def test_refusals_name_the_exception_pytorch_raises() -> None:
    c = Console(Session(max_elements=1000))
    r = c.run("e = torch.ones(2000)")
    assert (r.error_type, r.error) == (
        "RuntimeError",  # PyTorch: RuntimeError ... can't allocate memory
        "tensor would have 2,000 elements, more than this session's limit of 1,000; nothing was allocated",
    )
    assert "e" not in c.session
    c.run("w = torch.tensor([1., 2.], requires_grad=True)")
    r = c.run("w.sum().backward(torch.ones(3))")
    import torch

    w = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(Exception) as theirs:
        w.sum().backward(torch.ones(3))
    assert r.error_type == type(theirs.value).__name__


def test_an_edit_that_breaks_a_later_step_says_which_step_in_plain_words() -> None:
    c = Console(Session())
    for line in ("w = torch.tensor(4., requires_grad=True)", "y = w * 3", "y.backward()"):
        assert c.run(line).ok
    with pytest.raises(SessionError) as e:
        c.session.set_leaf_value("w", [1.0, 2.0])
    assert (
        str(e.value)
        == "with this change, y.backward() fails: grad can be implicitly created only for scalar outputs"
    )
    assert c.session.tensor("w").tolist() == 4.0  # and nothing changed
