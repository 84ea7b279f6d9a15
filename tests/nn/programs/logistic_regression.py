import torch
from torch import nn, optim

torch.manual_seed(1)
X = torch.rand(100, 2) * 4 - 2
y = (X[:, 0] + 2 * X[:, 1] > 0.3).float().unsqueeze(1)
model = nn.Linear(2, 1)
loss_fn = nn.BCEWithLogitsLoss()
opt = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
for epoch in range(60):
    opt.zero_grad()
    logits = model(X)
    loss = loss_fn(logits, y)
    loss.backward()
    opt.step()
    if epoch % 10 == 0:
        print(epoch, round(loss.item(), 4))
print(loss)
with torch.no_grad():
    acc = ((model(X) > 0).float() == y).float().mean()
print(f"accuracy {acc.item():.2f}")
print(model.weight)
print(model.bias)
print(torch.sigmoid(model(X[:3])))
probs = torch.sigmoid(model(X))
print(nn.BCELoss()(probs, y))
