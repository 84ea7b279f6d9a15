import torch
from torch import nn, optim

torch.manual_seed(0)
X = torch.linspace(-1, 1, 20).unsqueeze(1)
y = 3 * X + 0.5 + 0.1 * torch.randn(20, 1)
model = nn.Linear(1, 1)
print(model)
print(model.weight)
print(model.bias)
loss_fn = nn.MSELoss()
opt = optim.SGD(model.parameters(), lr=0.1)
print(opt)
for epoch in range(100):
    opt.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    opt.step()
    if epoch % 20 == 0:
        print(f"epoch {epoch}: loss {loss.item():.4f}")
print(loss)
print(model.weight)
print(model.bias)
print(model.state_dict())
print(next(model.named_parameters())[0], model.weight.grad)
