import copy

import torch
import torch.nn.functional as F  # noqa: N812 - what lessons write
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset, random_split


class Net(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.fc2 = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


torch.manual_seed(3)
X = torch.rand(120, 4) * 2 - 1
y = (X[:, 0] - X[:, 1] + 0.5 * X[:, 2] > 0).long() + (X[:, 3] > 0.5).long()
train_ds, val_ds = random_split(TensorDataset(X, y), [0.8, 0.2])
print(len(train_ds), len(val_ds))
train_loader = DataLoader(train_ds, batch_size=16, shuffle=True)
val_loader = DataLoader(val_ds, batch_size=16)
model = Net(4, 8, 3)
print(model)
for name, param in model.named_parameters():
    print(name, tuple(param.shape), param.requires_grad)
print([type(m).__name__ for m in model.modules()])
opt = optim.SGD(model.parameters(), lr=0.2, momentum=0.9, weight_decay=1e-4)
best = None
for epoch in range(15):
    model.train()
    for xb, yb in train_loader:
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for xb, yb in val_loader:
            correct += (model(xb).argmax(1) == yb).sum().item()
    if epoch % 3 == 0:
        print(f"epoch {epoch:2d} train loss {loss.item():.4f} val acc {correct / len(val_ds):.3f}")
    if epoch == 9:
        best = copy.deepcopy(model.state_dict())
print(model.fc2.bias)
model.load_state_dict(best)
print(model.fc2.bias)
print(list(best.keys()))
print(opt.param_groups[0]["lr"], len(opt.state))
x = torch.tensor([[0.1, -0.2, 0.3, 0.9]])
print(F.softmax(model(x), dim=1))
model.requires_grad_(False)
print(model.fc1.weight.requires_grad, model(x).requires_grad)
