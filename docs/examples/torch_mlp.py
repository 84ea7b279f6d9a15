"""A small MLP in real PyTorch, after loss.backward(): open it with File ▸ Open PyTorch Script.

From the command line:  gradviz render docs/examples/torch_mlp.py --torch -o mlp.png
"""

import torch
import torch.nn as nn
import torch.nn.functional as F  # noqa: N812 - the PyTorch idiom

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
x = torch.randn(6, 4)  # a batch of six inputs: data, so no gradient
target = torch.tensor([0, 2, 1, 0, 1, 2])

h = model[1](model[0](x))  # the hidden layer, named so the graph shows it
loss = F.cross_entropy(model[2](h), target)
loss.backward()
