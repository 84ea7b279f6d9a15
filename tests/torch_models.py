"""Real PyTorch models shared by tests/graph/test_torch_graph.py and benchmarks/torch_graph.py.

torchvision cannot be installed beside torch 2.13 here (its wheels for this torch fail to import:
"operator torchvision::nms does not exist"), so :func:`resnet18` rebuilds torchvision's
``resnet18(weights=None)`` from ``torch.nn``, module for module: the same names
(``layer2.0.downsample.1.weight``), the same shapes (11,689,512 parameters), the same in-place
ReLUs and ``out += identity``, the same initialisation, hence the same backward graph.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - as everyone writes it

RESNET18_PARAMETERS = 11_689_512  # torchvision's resnet18 (its docs' "num_params")


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm, plus the input (through ``downsample`` when the
    block changes the width or the stride), then ReLU."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += x if self.downsample is None else self.downsample(x)
        return self.relu(out)


class ResNet18(nn.Module):
    """Stem (7x7/2 conv, batch norm, ReLU, 3x3/2 max pool), four stages of two BasicBlocks
    (64, 128, 256, 512 wide; the last three halve the size), average pool, 1000-way fc."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, width in enumerate((64, 128, 256, 512), start=1):
            stride = 1 if i == 1 else 2
            setattr(
                self, f"layer{i}", nn.Sequential(BasicBlock(cin, width, stride), BasicBlock(width, width))
            )
            cin = width
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class Head(nn.Module):
    """One head of causal self-attention, as Karpathy's "Let's build GPT" (gpt.py) writes it:
    its own key, query and value projections."""

    def __init__(self, width: int, size: int, context: int) -> None:
        super().__init__()
        self.key = nn.Linear(width, size, bias=False)
        self.query = nn.Linear(width, size, bias=False)
        self.value = nn.Linear(width, size, bias=False)
        self.register_buffer("tril", torch.tril(torch.ones(context, context)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[1]
        k, q = self.key(x), self.query(x)
        w = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
        w = F.softmax(w.masked_fill(self.tril[:t, :t] == 0, float("-inf")), dim=-1)
        return w @ self.value(x)


class GPTBlock(nn.Module):
    """Pre-norm block: heads side by side, concatenated and projected, then a 4x MLP."""

    def __init__(self, width: int, heads: int, context: int) -> None:
        super().__init__()
        self.heads = nn.ModuleList(Head(width, width // heads, context) for _ in range(heads))
        self.proj = nn.Linear(width, width)
        self.ffwd = nn.Sequential(nn.Linear(width, 4 * width), nn.ReLU(), nn.Linear(4 * width, width))
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ln1(x)
        x = x + self.proj(torch.cat([h(y) for h in self.heads], dim=-1))
        return x + self.ffwd(self.ln2(x))


class GPT(nn.Module):
    """Token and position embeddings, ``layers`` blocks, final norm, language-model head."""

    def __init__(self, layers: int = 12, vocab: int = 65, width: int = 48, heads: int = 6, context: int = 8):
        super().__init__()
        self.token = nn.Embedding(vocab, width)
        self.position = nn.Embedding(context, width)
        self.blocks = nn.Sequential(*(GPTBlock(width, heads, context) for _ in range(layers)))
        self.ln_f = nn.LayerNorm(width)
        self.lm_head = nn.Linear(width, vocab)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.token(idx) + self.position(torch.arange(idx.shape[1]))
        return self.lm_head(self.ln_f(self.blocks(x)))


def resnet18() -> nn.Module:
    """torchvision's ``resnet18(weights=None)``, rebuilt (see the module docstring)."""
    return ResNet18()


def transformer_encoder(layers: int = 12) -> nn.Module:
    """``nn.TransformerEncoder`` of ``layers`` layers, d_model 16, 2 heads, no dropout."""
    layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


def resnet18_loss(capture: bool = True) -> tuple[torch.Tensor, nn.Module]:
    """Cross-entropy of resnet18 on two 64x64 images, after backward(), and the net; run inside
    ``gradviz.capture()`` unless ``capture`` is False."""
    torch.manual_seed(0)
    net = resnet18()
    return _run(
        net, torch.randn(2, 3, 64, 64), lambda out: F.cross_entropy(out, torch.tensor([1, 2])), capture
    )


def encoder_loss(layers: int = 12, capture: bool = True) -> tuple[torch.Tensor, nn.Module]:
    """mean(out ** 2) of :func:`transformer_encoder` on a (2, 6, 16) batch, after backward()."""
    torch.manual_seed(0)
    net = transformer_encoder(layers)
    return _run(net, torch.randn(2, 6, 16), lambda out: out.pow(2).mean(), capture)


def gpt_loss(layers: int = 12, capture: bool = True) -> tuple[torch.Tensor, nn.Module]:
    """Next-token cross-entropy of :class:`GPT` (12 layers, 6 heads: ~2,900 autograd nodes) on
    two random 8-token sequences, after backward()."""
    torch.manual_seed(0)
    net = GPT(layers)
    idx = torch.randint(0, 65, (2, 8))
    return _run(net, idx, lambda out: F.cross_entropy(out.view(-1, 65), idx.view(-1)), capture)


def _run(net: nn.Module, x: torch.Tensor, loss_of, capture: bool) -> tuple[torch.Tensor, nn.Module]:
    import contextlib

    import gradviz

    with gradviz.capture(model=net) if capture else contextlib.nullcontext():
        loss = loss_of(net(x))
        loss.backward()
    return loss, net


# A small MLP script, after loss.backward(): what File ▸ Open PyTorch Script is tested with
# (tests/session/test_pytorch_script.py, tests/gui/test_open_pytorch_script.py). ``head`` lets
# the session test take the gradient at ``h`` again, as its oracle.
MLP_SCRIPT = """\
import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
x = torch.randn(5, 3)
target = torch.randn(5, 1)


def head(h):
    return nn.functional.mse_loss(model[2](h), target)


h = model[1](model[0](x))
loss = head(h)
loss.backward()
"""
