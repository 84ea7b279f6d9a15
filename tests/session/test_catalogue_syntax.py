"""Each op's declared call syntax is torch's: the console offers ``torch.x``, ``F.x`` and
``t.x()`` exactly where torch has them, read from the declaration (not from lists of names)."""

from __future__ import annotations

import pytest
import torch

from gradviz.session import catalogue
from gradviz.session.console import Console
from gradviz.session.document import Session


@pytest.mark.parametrize("spec", catalogue.OPS, ids=lambda s: s.name)
def test_declared_syntax_exists_in_torch(spec):
    if "function" in spec.syntax:
        assert hasattr(torch, spec.name)
    if "F" in spec.syntax:
        assert hasattr(torch.nn.functional, spec.name)
    if spec.method:
        assert hasattr(torch.Tensor, spec.name)


def test_the_console_offers_what_each_op_declares():
    console = Console(Session())
    for src in ("import torch", "import torch.nn.functional as F", "x = torch.ones(3)"):
        console.run(src)
    for spec in catalogue.OPS:
        for prefix, offered in (("torch", "function" in spec.syntax), ("F", "F" in spec.syntax)):
            result = console.run(f"{prefix}.{spec.name}")
            error = result.error or ""
            assert ("has no attribute" not in error) == offered, (prefix, spec.name, error)
            if offered:
                assert "function" in result.output, (prefix, spec.name, result.output)
