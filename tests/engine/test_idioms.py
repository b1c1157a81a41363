"""Programs in the style of the popular PyTorch tutorials run on numtorch with only the imports changed.

Each program is written once, for torch. ``port`` rewrites its import lines and nothing
else; both versions run, numtorch's weights are copied into torch's model, and what the
programs compute is compared wherever it is deterministic.
"""
import numpy as np
import pytest

import numtorch

from .parity import assert_close, copy_module, rand


def port(source):
    """The same program for numtorch: ``import torch`` becomes ``import numtorch as torch``, and so on."""
    lines = []
    for line in source.splitlines():
        if line.strip() == "import torch":
            line = line.replace("import torch", "import numtorch as torch")
        elif line.lstrip().startswith(("import torch", "from torch")):
            line = line.replace("torch", "numtorch", 1)
        lines.append(line)
    return "\n".join(lines)


def run_both(setup, run="", copy="model", **arrays):
    """Run ``setup`` on both libraries, copy numtorch's ``copy`` module into torch's, then run ``run`` with ``arrays``."""
    torch = pytest.importorskip("torch")
    spaces = []
    for lib, source in ((numtorch, port(setup)), (torch, setup)):
        namespace = {}
        exec(compile(source, f"<{lib.__name__} idiom>", "exec"), namespace)
        assert namespace["torch"] is lib
        spaces.append(namespace)
    if copy:
        copy_module(spaces[0][copy], spaces[1][copy])
    for namespace in spaces:
        lib = namespace["torch"]
        namespace.update({k: lib.tensor(v) for k, v in arrays.items()})
        exec(port(run) if lib is numtorch else run, namespace)
    return spaces


def test_port_changes_only_the_import_lines():
    source = "import torch\nimport torch.nn as nn\nfrom torch import optim\nx = torch.zeros(2)  # torch\n"
    assert port(source) == ("import numtorch as torch\nimport numtorch.nn as nn\nfrom numtorch import optim\n"
                            "x = torch.zeros(2)  # torch")


TUTORIAL_NET = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)  # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


model = Net()
'''

TRAIN_LOOP = '''
import torch.optim as optim
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
running_loss = 0.0
for epoch in range(3):
    optimizer.zero_grad()
    outputs = model(inputs)
    loss = criterion(outputs, labels)
    loss.backward()
    optimizer.step()
    running_loss += loss.item()

correct = 0
total = 0
with torch.no_grad():
    outputs = model(inputs)
    _, predicted = torch.max(outputs, 1)
    total += labels.size(0)
    correct += (predicted == labels).sum().item()
'''


def test_the_cifar_tutorial_net_trains_and_evaluates_like_torch():
    inputs, labels = rand(4, 3, 32, 32), np.array([3, 1, 0, 9])
    ours, theirs = run_both(TUTORIAL_NET, TRAIN_LOOP, inputs=inputs, labels=labels)
    assert ours["running_loss"] == pytest.approx(theirs["running_loss"], rel=1e-4)
    assert ours["total"] == theirs["total"] == 4 and ours["correct"] == theirs["correct"]
    assert ours["predicted"].tolist() == theirs["predicted"].tolist()
    for (name, a), (_, b) in zip(ours["model"].state_dict().items(), theirs["model"].state_dict().items()):
        assert_close(a, b, rtol=1e-3, atol=1e-5, what=name)


def test_outputs_data_works_as_in_the_cifar_tutorial():
    outputs = numtorch.randn(4, 10, requires_grad=True) * 2
    _, predicted = numtorch.max(outputs.data, 1)
    assert predicted.tolist() == outputs.detach().numpy().argmax(1).tolist()
    assert not outputs.data.requires_grad


def test_data_shares_memory_like_torch():
    w = numtorch.zeros(3, requires_grad=True)
    w.data.add_(1.0)  # the old-style update that bypasses autograd
    w.data[0] = 5.0
    assert w.tolist() == [5.0, 1.0, 1.0] and w.requires_grad


CONVNET = '''
import torch
import torch.nn as nn


class ConvNet(nn.Module):
    def __init__(self, num_classes=10):
        super(ConvNet, self).__init__()
        self.layer1 = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=5, stride=1, padding=2),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2))
        self.layer2 = nn.Sequential(
            nn.Conv2d(16, 32, kernel_size=5, stride=1, padding=2),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2))
        self.fc = nn.Linear(7 * 7 * 32, num_classes)

    def forward(self, x):
        out = self.layer1(x)
        out = self.layer2(out)
        out = out.view(out.size(0), -1)
        out = self.fc(out)
        return out


model = ConvNet()
'''


def test_view_of_size_zero_minus_one_flattens_like_torch_in_train_and_eval():
    run = "train_out = model(x)\nmodel.eval()\neval_out = model(x)\nstats = model.layer1[1].running_mean"
    ours, theirs = run_both(CONVNET, run, x=rand(3, 1, 28, 28))
    for name in ("train_out", "eval_out", "stats"):
        assert_close(ours[name], theirs[name], rtol=1e-4, atol=1e-4, what=name)


FUNCTIONAL_CONV = '''
import torch
import torch.nn.functional as F
'''


def test_functional_conv2d_with_keyword_weight_and_bias_matches_torch():
    run = "out = F.relu(F.conv2d(x, weight=w, bias=b, stride=1, padding=1))\npooled = F.max_pool2d(out, 2)"
    ours, theirs = run_both(FUNCTIONAL_CONV, run, copy=None, x=rand(2, 3, 8, 8), w=rand(4, 3, 3, 3, seed=1),
                            b=rand(4, seed=2))
    assert_close(ours["pooled"], theirs["pooled"], atol=1e-4)


SEQUENTIAL_BLOCK = '''
import torch
import torch.nn as nn

model = nn.Sequential(
    nn.Conv2d(3, 64, kernel_size=3, padding=1),
    nn.BatchNorm2d(num_features=64),
    nn.ReLU(inplace=True),
    nn.MaxPool2d(kernel_size=2),
    nn.Dropout(0.2),
)
'''


def test_a_sequential_block_with_batchnorm_pooling_and_dropout_matches_torch():
    run = ("train_out = model(x)\nzeros = (train_out == 0).float().mean().item()\n"
           "model.eval()\neval_out = model(x)\nkeys = list(model.state_dict())")
    ours, theirs = run_both(SEQUENTIAL_BLOCK, run, x=rand(2, 3, 8, 8))
    assert ours["keys"] == theirs["keys"] == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                               "1.running_var", "1.num_batches_tracked"]
    assert ours["train_out"].shape == theirs["train_out"].shape == (2, 64, 4, 4)
    assert ours["zeros"] > 0.2  # ReLU zeroes about half, then dropout a fifth of the rest
    assert_close(ours["eval_out"], theirs["eval_out"], atol=1e-4)
    assert repr(ours["model"]) == repr(theirs["model"])


DROPOUT_BUG = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class Forgetful(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 10)

    def forward(self, x):
        return F.dropout(self.fc(x))  # training defaults to True, whatever the module's mode


class Careful(Forgetful):
    def forward(self, x):
        return F.dropout(self.fc(x), training=self.training)


model = Careful()
forgetful = Forgetful()
forgetful.fc = model.fc
'''


def test_functional_dropout_still_drops_after_eval_unless_given_self_training():
    run = "model.eval()\nforgetful.eval()\ncareful_out = model(x)\ndropped = (forgetful(x) == 0).sum().item()"
    ours, theirs = run_both(DROPOUT_BUG, run, x=rand(50, 10))
    assert ours["dropped"] > 0 and theirs["dropped"] > 0
    assert_close(ours["careful_out"], theirs["careful_out"])


# The tutorial "What is torch.nn really?" itself runs whole on both engines in test_tutorial_arc.py.
WEIGHT_DECAY_BY_HAND = '''
import torch
from torch import nn
from torch import optim
import torch.nn.functional as F

model = nn.Linear(784, 10)
opt = optim.SGD(model.parameters(), lr=0.5)
loss_func = F.cross_entropy
'''

WEIGHT_DECAY_BY_HAND_RUN = '''
for epoch in range(3):
    loss = loss_func(model(xb), yb)
    loss.backward()
    opt.step()
    opt.zero_grad()

with torch.no_grad():
    for p in model.parameters():
        p -= p * 0.01  # a hand-written weight decay, as some articles do

final = loss_func(model(xb), yb).item()
'''


def test_a_weight_decay_written_by_hand_under_no_grad_matches_torch():
    ours, theirs = run_both(WEIGHT_DECAY_BY_HAND, WEIGHT_DECAY_BY_HAND_RUN, xb=rand(16, 784, low=0, high=1),
                            yb=np.arange(16) % 10)
    assert ours["final"] == pytest.approx(theirs["final"], rel=1e-4)


INIT_AND_FREEZE = '''
import torch
import torch.nn as nn

model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 2))


def weights_init(m):
    if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.constant_(m.weight, 1)
        nn.init.constant_(m.bias, 0)
    elif isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
        nn.init.constant_(m.bias, 0.01)


model.apply(weights_init)
for param in model[:2].parameters():
    param.requires_grad = False
trainable = [name for name, p in model.named_parameters() if p.requires_grad]
'''


def test_weight_init_with_apply_and_freezing_by_requires_grad_match_torch():
    run = "out = model(x)\nout.sum().backward()\nfrozen_grad = model[0].weight.grad\nhead_grad = model[4].weight.grad"
    ours, theirs = run_both(INIT_AND_FREEZE, run, x=rand(2, 3, 8, 8))
    assert ours["trainable"] == theirs["trainable"] == ["4.weight", "4.bias"]
    assert ours["frozen_grad"] is None and theirs["frozen_grad"] is None
    assert_close(ours["head_grad"], theirs["head_grad"], atol=1e-4)
    assert ours["model"][4].bias.tolist() == pytest.approx([0.01, 0.01])


SAVE_LOAD = '''
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
'''

SAVE_LOAD_RUN = '''
model(x)  # one training step moves the running statistics
torch.save(model.state_dict(), path)
restored = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
result = restored.load_state_dict(torch.load(path))
restored.eval()
model.eval()
same = torch.equal(restored(x), model(x))
'''


def test_save_and_load_of_a_state_dict_restores_the_model(tmp_path):
    for lib_name, namespace in zip(("numtorch", "torch"), run_both(SAVE_LOAD, copy="model", x=rand(5, 4))):
        namespace["path"] = str(tmp_path / f"{lib_name}.pt")
        exec(SAVE_LOAD_RUN, namespace)
        assert namespace["same"] and repr(namespace["result"]) == "<All keys matched successfully>"
