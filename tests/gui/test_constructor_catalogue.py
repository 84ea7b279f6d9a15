"""The console's torch.<constructor> and the New Tensor dialog read one constructor catalogue
(gradviz.session.constructors): the same names, parameters and defaults, and the same tensors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import gradviz.engine as E  # noqa: N812 - the engine, as elsewhere in gradviz
from gradviz.gui.dialogs import NewTensorDialog
from gradviz.gui.dialogs.new_tensor import CONSTRUCTORS as DIALOG_CONSTRUCTORS
from gradviz.session.console import Console
from gradviz.session.console.values import Function
from gradviz.session.constructors import CONSTRUCTORS, Constructor
from gradviz.session.document import Session

# A value of each parameter kind, as console source and as the catalogue takes it.
_ARGS: dict[str, tuple[str, Any]] = {
    "data": ("[[1., 2.], [3., 4.]]", [[1.0, 2.0], [3.0, 4.0]]),
    "size": ("(2, 3)", [2, 3]),
    "number": ("4", 4),
    "int": ("3", 3),
}


def _console() -> Console:
    c = Console(Session())
    assert c.run("x = torch.ones(2, 3)").ok
    return c


def test_the_console_offers_exactly_the_catalogue() -> None:
    torch = _console().globals["torch"]
    offered = {n for n, v in torch.members.items() if isinstance(v, Function) and v.kind == "constructor"}
    assert offered == set(CONSTRUCTORS)


@pytest.mark.parametrize("name", list(CONSTRUCTORS))
def test_console_calls_make_what_the_catalogue_makes(name: str) -> None:
    """Only the required arguments, by keyword: every other one takes the catalogue's default."""
    ctor = CONSTRUCTORS[name]
    c = _console()
    source, values = [], {}
    for p in ctor.params:
        if not p.required:
            continue
        if p.kind == "tensor":
            source.append(f"{p.name}=x")
            values[p.name] = c.session.tensor("x")
        else:
            text, value = _ARGS[p.kind]
            source.append(f"{p.name}={text}")
            values[p.name] = value
    E.manual_seed(7)
    try:
        expected: Any = ctor.make(values)
    except TypeError as e:  # full_like, which the console has never taken a fill_value for
        expected = e
    E.manual_seed(7)
    result = c.run(f"t = torch.{name}({', '.join(source)})")
    if isinstance(expected, TypeError):
        assert (result.error_type, result.error) == ("TypeError", str(expected))
        return
    assert result.ok, result.text
    got = c.session.tensor("t")
    assert got.dtype == expected.dtype and np.array_equal(got.numpy(), expected.numpy())
    assert got.dtype.name == ctor.default_dtype(values)  # the dtype the catalogue says PyTorch infers


def _dialog(qtbot) -> NewTensorDialog:
    d = NewTensorDialog(Session())
    qtbot.addWidget(d)
    d.show()
    return d


def test_the_dialog_lists_the_catalogue_constructors(qtbot) -> None:
    d = _dialog(qtbot)
    listed = [d.ctor_combo.itemData(i) for i in range(d.ctor_combo.count())]
    assert listed == [n for n, c in CONSTRUCTORS.items() if c.dialog] == list(DIALOG_CONSTRUCTORS)
    assert {"zeros", "ones", "rand", "randn", "full", "arange", "eye"} <= set(listed)


def _field_text(ctor: Constructor, name: str) -> str:
    p = next(p for p in ctor.params if p.name == name)
    if p.example:
        return p.example
    return "" if p.default is None else str(p.default)


@pytest.mark.parametrize("name", [n for n, c in CONSTRUCTORS.items() if c.dialog])
def test_dialog_fields_are_the_parameters_and_its_code_runs_in_the_console(qtbot, name: str) -> None:
    d = _dialog(qtbot)
    d.set_constructor(name)
    ctor = CONSTRUCTORS[name]
    shown = {n for n, w in d.fields.items() if w.isVisible()}
    assert shown == {p.name for p in ctor.params}
    for p in ctor.params:  # each field starts from the catalogue's example, or its default
        assert d.fields[p.name].text() == _field_text(ctor, p.name), p.name
    assert d.ok_button.isEnabled(), d.ctor_error.text()
    d.accept()
    made = d.session.tensor(d.name)
    # The line the dialog shows (defaults left out, as one writes it) makes that tensor in the console.
    c = Console(Session())
    result = c.run(d.code)
    assert result.ok, (d.code, result.text)
    again = c.session.tensor(d.name)
    assert again.dtype == made.dtype and again.shape == made.shape
    if not ctor.random:
        assert np.array_equal(again.numpy(), made.numpy()), d.code
