"""A small MLP, 4 -> 8 -> 3, with a log-softmax loss, after loss.backward().

Render it with:  gradviz render docs/examples/mlp.py -o docs/images/mlp.png
"""

import gradviz as torch
import gradviz.nn.functional as F  # noqa: N812 - the PyTorch idiom

torch.manual_seed(0)
x = torch.randn(2, 4)  # a batch of two inputs: data, so no gradient
W1 = torch.randn(4, 8, requires_grad=True)
b1 = torch.zeros(8, requires_grad=True)
W2 = torch.randn(8, 3, requires_grad=True)
b2 = torch.zeros(3, requires_grad=True)

h = torch.relu(x @ W1 + b1)
h.retain_grad()  # keep the gradient of this intermediate, to see it in the graph
logits = h @ W2 + b2
logits.retain_grad()
logp = F.log_softmax(logits, dim=1)
loss = F.nll_loss(logp, torch.tensor([0, 2]))  # the targets: classes 0 and 2
loss.backward()
