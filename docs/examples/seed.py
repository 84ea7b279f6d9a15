"""The seed notebook's first graph: y = w*x + b, after y.backward().

Render it with:  gradviz render docs/examples/seed.py -o docs/images/seed.png
"""

import gradviz as torch

x = torch.tensor(3.0)
w = torch.tensor(4.0, requires_grad=True)
b = torch.tensor(5.0, requires_grad=True)
y = w * x + b
y.backward()  # dy/dw = x = 3, dy/db = 1; x needs no gradient
