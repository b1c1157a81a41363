"""The arc of PyTorch's tutorial "What is torch.nn really?", and a small model of the layers people reach for
next, as one program for numtorch. It runs unchanged on torch once book/extensions/to_torch.py has renamed
numtorch to torch (the book's one rule), and in the browser lab as it is.

tests/engine/test_tutorial_arc.py runs it on both engines and compares the numbers it logs;
tests/site/test_lite.py runs it in the browser lab (Pyodide) and compares them with CPython's.

The tutorial's MNIST is replaced by random 28x28 images. Two things differ from the tutorial, both because
numtorch's random generator is not torch's: every model starts from the same NumPy draw (``same_start``), and
the training set is shuffled by a sampler that draws its permutations from NumPy (the tutorial writes
``shuffle=True``, which works on numtorch too but gives each engine its own order).
"""
import collections
import json
import math

import numpy as np

import numtorch as torch
import numtorch.nn.functional as F
from numtorch import nn, optim
from numtorch.optim.lr_scheduler import StepLR
from numtorch.utils.data import DataLoader, TensorDataset

log = collections.defaultdict(list)  # the numbers each stage of the program reports, in order

rng = np.random.default_rng(0)
# mostly dark, as MNIST is
x_train, x_valid = (rng.random((n, 784), dtype=np.float32) * (rng.random((n, 784)) < 0.1) for n in (320, 128))
y_train, y_valid = (rng.integers(0, 10, n) for n in (320, 128))
x_train[np.arange(320), y_train * 70] += 3.0  # something to learn: one pixel per class is bright
x_valid[np.arange(128), y_valid * 70] += 3.0
x_train, y_train, x_valid, y_valid = map(torch.tensor, (x_train, y_train, x_valid, y_valid))
n, c = x_train.shape


def same_start(model, seed=0):
    """Each parameter from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn by NumPy: the same in both engines."""
    draw = np.random.default_rng(seed)
    with torch.no_grad():
        for p in model.parameters():
            bound = 1 / math.sqrt(p[0].numel() if p.dim() > 1 else p.numel())
            p.copy_(torch.tensor(draw.uniform(-bound, bound, tuple(p.shape)).astype(np.float32)))
    return model


# ----- neural net from scratch ---------------------------------------------------------------------------
weights = torch.tensor(np.random.default_rng(1).standard_normal((784, 10)).astype(np.float32)) / math.sqrt(784)
weights.requires_grad_()
bias = torch.zeros(10, requires_grad=True)


def log_softmax(x):
    return x - x.exp().sum(-1).log().unsqueeze(-1)


def model(xb):
    return log_softmax(xb @ weights + bias)


def nll(input, target):
    return -input[range(target.shape[0]), target].mean()


def accuracy(out, yb):
    preds = torch.argmax(out, dim=1)
    return (preds == yb).float().mean()


loss_func = nll
bs, lr, epochs = 64, 0.5, 2
xb, yb = x_train[0:bs], y_train[0:bs]
stage = "from scratch"
log[stage] += [loss_func(model(xb), yb).item(), accuracy(model(xb), yb).item()]
for epoch in range(epochs):
    for i in range((n - 1) // bs + 1):
        start_i = i * bs
        end_i = start_i + bs
        xb = x_train[start_i:end_i]
        yb = y_train[start_i:end_i]
        pred = model(xb)
        loss = loss_func(pred, yb)
        loss.backward()
        with torch.no_grad():
            weights -= weights.grad * lr
            bias -= bias.grad * lr
            weights.grad.zero_()
            bias.grad.zero_()
log[stage] += [loss_func(model(xb), yb).item(), accuracy(model(xb), yb).item()]

# ----- torch.nn.functional, nn.Module, nn.Linear, optim ------------------------------------------------------
loss_func = F.cross_entropy


class Mnist_Logistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(784, 10)

    def forward(self, xb):
        return self.lin(xb)


def get_model():
    model = same_start(Mnist_Logistic())
    return model, optim.SGD(model.parameters(), lr=lr)


# ----- Dataset and DataLoader, validation, fit ------------------------------------------------------------------
train_ds = TensorDataset(x_train, y_train)
valid_ds = TensorDataset(x_valid, y_valid)


class NumpyShuffle:
    """A sampler: a new permutation on every pass, drawn by NumPy (see the module's docstring)."""

    def __init__(self, n, seed=2):
        self.n, self.rng = n, np.random.default_rng(seed)

    def __iter__(self):
        return iter(self.rng.permutation(self.n).tolist())

    def __len__(self):
        return self.n


def get_data(train_ds, valid_ds, bs):
    return (DataLoader(train_ds, batch_size=bs, sampler=NumpyShuffle(len(train_ds))),
            DataLoader(valid_ds, batch_size=bs * 2))


def loss_batch(model, loss_func, xb, yb, opt=None):
    loss = loss_func(model(xb), yb)
    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()
    return loss.item(), len(xb)


def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            log[stage].append(loss_batch(model, loss_func, xb, yb, opt)[0])
        model.eval()
        with torch.no_grad():
            losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl])
        val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
        log[stage].append(float(val_loss))


stage = "logistic regression"
train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
model, opt = get_model()
fit(epochs, model, loss_func, opt, train_dl, valid_dl)

# ----- a CNN as nn.Sequential, with Lambda and adaptive pooling, trained by SGD with momentum -------------------
class Lambda(nn.Module):
    def __init__(self, func):
        super().__init__()
        self.func = func

    def forward(self, x):
        return self.func(x)


def preprocess(x):
    return x.view(-1, 1, 28, 28)


stage = "CNN"
lr = 0.1
model = same_start(nn.Sequential(
    Lambda(preprocess),
    nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1),
    nn.ReLU(),
    nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1),
    nn.ReLU(),
    nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1),
    nn.ReLU(),
    nn.AdaptiveAvgPool2d(1),
    Lambda(lambda x: x.view(x.size(0), -1)),
))
opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
fit(epochs, model, loss_func, opt, train_dl, valid_dl)
printed_cnn = str(model)

# ----- the layers a next model reaches for: Embedding, LayerNorm, GELU, AdamW, StepLR ---------------------------
token_ids = np.random.default_rng(3).integers(1, 50, (256, 12))
token_ids[:, 8:] = 0  # padding
tokens, labels = torch.tensor(token_ids), torch.tensor(token_ids[:, 0] % 4)


class BagOfTokens(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(50, 16, padding_idx=0)
        self.head = nn.Sequential(nn.LayerNorm(16), nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 4))

    def forward(self, tokens):
        return self.head(self.embed(tokens).mean(1))


stage = "bag of tokens"
model = same_start(BagOfTokens(), seed=4)
with torch.no_grad():
    model.embed.weight[0] = 0.0  # same_start drew the padding row too
opt = optim.AdamW(model.parameters(), lr=0.01)
scheduler = StepLR(opt, step_size=2, gamma=0.5)
for epoch in range(4):
    for xb, yb in DataLoader(TensorDataset(tokens, labels), batch_size=64):
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
        log[stage].append(loss.item())
    scheduler.step()
    log["learning rates"] += scheduler.get_last_lr()
log["padding row"].append(model.embed.weight[0].abs().sum().item())


if __name__ == "__main__":  # as a script, or a notebook in the browser lab: what it logged, for comparison
    print("tutorial arc:", json.dumps({"log": log, "printed_cnn": printed_cnn}))
