"""The registry is the one declaration of each op: every registered op has a formula for each of
its operands, a catalogue entry derived from it, and parity tests against PyTorch."""

from __future__ import annotations

import test_ops_parity
from test_ops_parity import REGISTERED_OPS_COVERED

import gradviz
import gradviz.nn.functional as gF  # noqa: N812
from gradviz.engine import Tensor, registry
from gradviz.session import catalogue


def test_every_registered_op_has_a_parity_test() -> None:
    assert set(registry.REGISTRY) == set(REGISTERED_OPS_COVERED)
    for op, test in REGISTERED_OPS_COVERED.items():
        assert callable(getattr(test_ops_parity, test, None)), (op, test)


NEW_IN_ISSUE_12 = {
    "atan2",
    "log1p",
    "expm1",
    "erf",
    "logsumexp",
    "gelu",
    "silu",
    "leaky_relu",
    "softplus",
    "tan",
}


def test_every_registered_op_has_a_formula() -> None:
    for info in registry.ops():
        f = info.formula
        if info.catalogue:
            assert f.text and f.statement and f.line.startswith(f.statement), info.name
        if info.name in NEW_IN_ISSUE_12:
            # declared as data: a statement and one derivative per operand
            assert set(f.parts) == set(info.operand_names), info.name
        elif f.parts:
            assert set(f.parts) <= {*info.operand_names, "tensors[i]"}, info.name
        for node in info.nodes:
            assert registry.formula_for(node.name) is not None, (info.name, node.name)


def test_the_catalogue_entry_comes_from_the_declaration() -> None:
    for info in registry.ops():
        if not info.catalogue:
            assert info.name not in catalogue.CATALOGUE
            continue
        spec = catalogue.get(info.name)
        assert spec.derivative == info.formula.text
        assert spec.operand_names == info.operand_names and spec.params == info.params
        assert spec.arity == info.arity and spec.min_operands == info.min_operands
        assert spec.method == ("method" in info.syntax) and spec.category == info.category


def test_the_registration_makes_function_method_and_export() -> None:
    methods = {n for i in registry.ops() if "method" in i.syntax for n in (i.name, *i.aliases)}
    for info in registry.ops():
        if "function" in info.syntax:
            assert getattr(gradviz, info.name) is info.fn and info.name in gradviz.__all__
        if "F" in info.syntax:
            # F.softmax is torch's Python function, without numpy's axis=: the op unwrapped
            f = getattr(gF, info.name)
            assert f is info.fn or f is getattr(info.fn, "__wrapped__", None)
            assert info.name in gF.__all__
        if "method" in info.syntax:
            own = Tensor.__dict__.get(info.name)  # detach: Tensor's own method
            assert getattr(Tensor, info.name) is info.fn or own.__module__ == Tensor.__module__, info.name
        elif info.name not in {"T", "where", *methods}:  # T, where: bound with the operators
            assert not hasattr(Tensor, info.name), info.name


def test_node_names_are_classes_not_renames() -> None:
    for name, cls in registry.NODE_CLASSES.items():
        assert getattr(cls, "name", name) == name or name == "AccumulateGrad"


def test_every_backward_node_has_a_formula_for_the_stepper() -> None:
    for name in registry.NODE_CLASSES:
        f = registry.formula_for(name)
        assert f is not None and f.text, name
    assert registry.formula_for("torch::autograd::AccumulateGrad") is not None
    assert registry.formula_for("MulBackward0").parts == {"input": "other", "other": "input"}
    assert registry.formula_for("NoSuchBackward0") is None


def test_the_generated_exports_and_typed_methods_match_the_registry() -> None:
    """ops/_generated.py spells out the exports and (for type checkers) Tensor's methods, so
    that "go to definition" finds ``gradviz.exp`` and ``x.exp`` in ops/pointwise.py.
    Regenerate: python -m gradviz.engine.registry"""
    import ast
    import sys
    from pathlib import Path

    import gradviz.engine.ops as ops

    path = Path(sys.modules["gradviz.engine.ops._generated"].__file__)
    tree = ast.parse(path.read_text(encoding="utf-8"))

    def imports(body: list) -> set:
        return {
            ("." + n.module, a.name, a.asname or a.name)
            for n in body
            if isinstance(n, ast.ImportFrom) and n.level == 1 and n.module != "__future__"
            for a in n.names
        }

    assert imports(tree.body) == registry.exported_functions()
    names = sorted(name for _, _, name in registry.exported_functions())
    assert sorted(ops.__all__) == names
    block = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    cls = next(n for n in block.body if isinstance(n, ast.ClassDef) and n.name == "TensorMethods")
    assert imports(cls.body) == registry.stub_methods()
