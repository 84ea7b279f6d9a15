"""The registry is the one declaration of each op: every registered op has a formula for each of
its operands, a catalogue entry derived from it, and parity tests against PyTorch."""

from __future__ import annotations

from test_ops_parity import REGISTERED_OPS_COVERED

import gradviz
import gradviz.nn.functional as gF  # noqa: N812
from gradviz.engine import Tensor, registry
from gradviz.session import catalogue


def test_every_registered_op_has_a_parity_test() -> None:
    assert set(registry.REGISTRY) == REGISTERED_OPS_COVERED


def test_every_registered_op_has_a_formula_for_each_operand() -> None:
    for info in registry.ops():
        f = info.formula
        assert f.text and f.statement, info.name
        assert set(f.parts) == set(info.operand_names), info.name
        for node in info.nodes:
            assert registry.formula_for(node.name) is not None, node.name


def test_the_catalogue_entry_comes_from_the_declaration() -> None:
    for info in registry.ops():
        spec = catalogue.get(info.name)
        assert spec.derivative == info.formula.text
        assert spec.operand_names == info.operand_names and spec.params == info.params
        assert spec.arity == info.max_operands and spec.min_operands == info.min_operands
        assert spec.method == ("method" in info.syntax) and spec.category == info.category


def test_the_registration_makes_function_method_and_export() -> None:
    for info in registry.ops():
        if "function" in info.syntax:
            assert getattr(gradviz, info.name) is info.fn and info.name in gradviz.__all__
        if "F" in info.syntax:
            assert getattr(gF, info.name) is info.fn and info.name in gF.__all__
        if "method" in info.syntax:
            assert getattr(Tensor, info.name) is info.fn
        else:
            assert not hasattr(Tensor, info.name), info.name


def test_node_names_are_classes_not_renames() -> None:
    for name, cls in registry.NODE_CLASSES.items():
        assert getattr(cls, "name", name) == name or name == "AccumulateGrad"
