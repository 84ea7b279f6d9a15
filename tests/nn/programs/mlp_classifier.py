import torch
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(2)
X = torch.rand(200, 2) * 2 - 1
y = ((X[:, 0] * X[:, 1]) > 0).long()
ds = TensorDataset(X, y)
loader = DataLoader(ds, batch_size=32, shuffle=True)
print(len(ds), len(loader))
model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
print(model)
print(sum(p.numel() for p in model.parameters()))
for name, p in model.named_parameters():
    print(name, p.shape)
opt = optim.Adam(model.parameters(), lr=0.01)
loss_fn = nn.CrossEntropyLoss()
for epoch in range(20):
    total = 0.0
    for xb, yb in loader:
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        total += loss.item() * len(xb)
    if epoch % 5 == 0:
        print(f"epoch {epoch} loss {total / len(ds):.4f}")
model.eval()
print(model.training, model[0].training)
with torch.no_grad():
    pred = model(X).argmax(dim=1)
print("accuracy", (pred == y).float().mean().item())
print(model[0].bias)
print(model[2].weight)
print(opt.state_dict()["state"][0]["step"])
