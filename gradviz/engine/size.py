"""``gradviz.Size``: a tuple that prints like ``torch.Size``."""

from __future__ import annotations


class Size(tuple):
    __slots__ = ()

    def __repr__(self) -> str:
        return f"gradviz.Size([{', '.join(str(int(d)) for d in self)}])"

    __str__ = __repr__

    def numel(self) -> int:
        n = 1
        for d in self:
            n *= d
        return n

    def __getitem__(self, item):  # slicing a Size gives a Size, as in PyTorch
        out = tuple.__getitem__(self, item)
        return Size(out) if isinstance(item, slice) else out
