"""``torch.device`` and the ``torch.cuda`` / ``torch.backends.mps`` answers of a CPU-only torch."""

from __future__ import annotations

from typing import Any

_TYPES = (
    "cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia",
    "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone",
)  # fmt: skip


class device:
    """Where a tensor lives. gradviz computes on the CPU only, but names any device torch names."""

    __slots__ = ("index", "type")

    def __init__(self, type: Any, index: int | None = None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if isinstance(type, int) and not isinstance(type, bool):
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(
                f"device() received an invalid combination of arguments - got ({type.__class__.__name__})"
            )
        name, _, idx = type.partition(":")
        if name not in _TYPES:
            raise RuntimeError(
                f"Expected one of {', '.join(_TYPES)} device type at start of device string: {type}"
            )
        if idx:
            if index is not None:
                raise RuntimeError(
                    f"type (string) must not include an index because index was passed explicitly: {type}"
                )
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(idx)
        object.__setattr__(self, "type", name)
        object.__setattr__(self, "index", index)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"attribute '{key}' of 'torch.device' objects is not writable")

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")


def check(dev: Any, factory: bool = False) -> None:
    """Refuse a device other than the CPU, as a CPU-only torch does: ``cuda`` is an
    AssertionError, a bare index a RuntimeError; another accelerator is a RuntimeError when a
    tensor is moved (``factory=False``: ``.to``, ``tensor``) and NotImplementedError when one is
    made there (``zeros``, ``randn``)."""
    if dev is None:
        return
    if isinstance(dev, int) and not isinstance(dev, bool):
        raise RuntimeError("Cannot access accelerator device when none is available.")
    d = dev if isinstance(dev, device) else device(dev)
    if d.type == "cpu":
        return
    if d.type == "cuda":
        raise AssertionError("Torch not compiled with CUDA enabled")
    if d.type == "meta":
        raise RuntimeError("gradviz computes on the CPU only: it has no 'meta' tensors")
    if factory:
        raise NotImplementedError(
            f"Could not run 'aten::empty.memory_format' with arguments from the '{d.type.upper()}' "
            "backend (gradviz computes on the CPU only)"
        )
    raise RuntimeError(f"PyTorch is not linked with support for {d.type} devices")


def check_cuda(dev: Any) -> None:
    """``t.cuda(dev)``, ``module.cuda(dev)`` on a CPU-only build: torch's refusals."""
    if isinstance(dev, (str, device)) and device(dev).type != "cuda":
        raise RuntimeError("Invalid device, must be cuda device")
    check("cuda" if dev is None else dev)


class _Cuda:
    """``torch.cuda`` of a build without CUDA."""

    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def device_count() -> int:
        return 0

    @staticmethod
    def manual_seed(seed: int) -> None:  # torch ignores it silently without CUDA
        pass

    manual_seed_all = manual_seed


class _Mps:
    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def is_built() -> bool:
        return False


class _Backends:
    mps = _Mps()


cuda = _Cuda()
backends = _Backends()
