"""The catalogue of real learner mistakes: for each, a tiny buggy implementation, the check
that must catch it, and words its message must contain.

Each buggy class subclasses the lab's solution (defined by running the solution notebook) and
overrides only the method that holds the mistake, so the bug is the whole of the diff.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Mistake:
    name: str
    code: str
    check: str
    says: str

    def __str__(self):
        return self.name


LINEAR = [
    Mistake("weight kept as a plain tensor, not a Parameter", """
class Linear(Linear):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__(in_features, out_features, bias)
        del self.weight
        self.weight = torch.empty(out_features, in_features).uniform_(-0.1, 0.1)
""", "registers_weight_and_bias_as_parameters", "not an nn.Parameter"),
    Mistake("weight shaped (in_features, out_features)", """
class Linear(Linear):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__(in_features, out_features, bias)
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
""", "registers_weight_and_bias_as_parameters", "F.linear computes x @ weight.T"),
    Mistake("bias created when bias=False", """
class Linear(Linear):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__(in_features, out_features, True)
""", "bias_false_registers_none", "still has a `bias` parameter"),
    Mistake("no bias attribute when bias=False", """
class Linear(Linear):
    def __init__(self, in_features, out_features, bias=True):
        nn.Module.__init__(self)
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
""", "bias_false_registers_none", "register_parameter('bias', None)"),
    Mistake("standard-normal init", """
class Linear(Linear):
    def reset_parameters(self):
        nn.init.normal_(self.weight)
        nn.init.normal_(self.bias)
""", "weight_init_is_torchs_default", "torch.randn is standard-normal"),
    Mistake("zero init", """
class Linear(Linear):
    def reset_parameters(self):
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)
""", "weight_init_is_torchs_default", "is constant"),
    Mistake("bound from out_features instead of in_features", """
class Linear(Linear):
    def reset_parameters(self):
        bound = 1 / math.sqrt(self.out_features)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)
""", "weight_init_is_torchs_default", "beyond torch's bound"),
    Mistake("bias left at zero", """
class Linear(Linear):
    def reset_parameters(self):
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            nn.init.zeros_(self.bias)
""", "bias_init_is_torchs_default", "is constant"),
    Mistake("init drawn from NumPy's generator", """
import numpy as np
class Linear(Linear):
    def reset_parameters(self):
        b = 1 / math.sqrt(self.in_features)
        self.weight.data[...] = np.random.uniform(-b, b, self.weight.shape)
        self.bias.data[...] = np.random.uniform(-b, b, self.bias.shape)
""", "reset_parameters_draws_again", "not NumPy's generator"),
    Mistake("forward computed by hand instead of F.linear", """
class Linear(Linear):
    def forward(self, input):
        return input @ self.weight.T + self.bias
""", "forward_is_one_call_to_F_linear", "never calls F.linear"),
    Mistake("forward adds a None bias", """
class Linear(Linear):
    def forward(self, input):
        return F.linear(input, self.weight) + self.bias
""", "forward_works_without_bias", "pass `self.bias` (None) to F.linear"),
    Mistake("forward detached from the weight", """
class Linear(Linear):
    def forward(self, input):
        return F.linear(input, self.weight.detach(), self.bias)
""", "gradients_reach_weight_and_bias", "no gradient reached `self.weight`"),
    Mistake("no extra_repr", """
class Linear(Linear):
    def extra_repr(self):
        return ""
""", "extra_repr_matches_torch", "but torch's returns 'in_features=3, out_features=2, bias=True'"),
    Mistake("no super().__init__()", """
class Linear(Linear):
    def __init__(self, in_features, out_features, bias=True):
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features))
        self.reset_parameters()
""", "registers_weight_and_bias_as_parameters", "never calls `super().__init__()`"),
    Mistake("no super().__init__(), tensors kept around the registry", """
class Linear(Linear):
    def __init__(self, in_features, out_features, bias=True):
        self.in_features, self.out_features = in_features, out_features
        self.__dict__["weight"] = torch.empty(out_features, in_features).uniform_(-0.5, 0.5)
        self.__dict__["bias"] = torch.zeros(out_features)
""", "forward_is_one_call_to_F_linear", "never calls `super().__init__()`"),
    Mistake("subclassing numtorch's nn.Linear", """
class Linear(nn.Linear):
    pass
""", "forward_matches_F_linear", "subclasses numtorch's own `nn.Linear`"),
    Mistake("wrapping numtorch's nn.Linear", """
class Linear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.inner = nn.Linear(in_features, out_features, bias)
    def forward(self, input):
        return self.inner(input)
""", "forward_matches_F_linear", "uses numtorch's own `nn.Linear`"),
    Mistake("weight made from a NumPy array, so float64", """
import numpy as np
class Linear(Linear):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__(in_features, out_features, bias)
        b = 1 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.from_numpy(np.random.uniform(-b, b, (out_features, in_features))))
""", "registers_weight_and_bias_as_parameters", "`self.weight` is float64, but torch's is float32"),
]

CONV2D = [
    Mistake("groups ignored in the weight's shape", """
class Conv2d(Conv2d):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, *self.kernel_size))
        self.reset_parameters()
""", "weight_has_shape_out_in_over_groups_kh_kw", "you ignored groups"),
    Mistake("weight shaped (in, out, kH, kW)", """
class Conv2d(Conv2d):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)
        self.weight = nn.Parameter(torch.empty(in_channels // groups, out_channels, *self.kernel_size))
""", "weight_has_shape_out_in_over_groups_kh_kw", "the output channels come first"),
    Mistake("kernel_size kept as an int", """
class Conv2d(Conv2d):
    def __init__(self, in_channels, out_channels, kernel_size, *args, **kwargs):
        super().__init__(in_channels, out_channels, kernel_size, *args, **kwargs)
        self.kernel_size = kernel_size
""", "keeps_the_arguments_as_pairs", "torch turns an int k into the pair (k, k)"),
    Mistake("bias created when bias=False", """
class Conv2d(Conv2d):
    def __init__(self, *args, bias=True, **kwargs):
        super().__init__(*args, bias=True, **kwargs)
""", "bias_false_registers_none", "still has a `bias` parameter"),
    Mistake("standard-normal init", """
class Conv2d(Conv2d):
    def reset_parameters(self):
        nn.init.normal_(self.weight)
        if self.bias is not None:
            nn.init.normal_(self.bias)
""", "weight_init_is_torchs_default", "torch.randn is standard-normal"),
    Mistake("fan_in counted without groups", """
class Conv2d(Conv2d):
    def reset_parameters(self):
        bound = 1 / math.sqrt(self.in_channels * self.kernel_size[0] * self.kernel_size[1])
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)
""", "weight_init_is_torchs_default", "fan_in counts only the inputs one output sees"),
    Mistake("groups not validated", """
class Conv2d(Conv2d):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, 1, bias)
        self.groups = groups
""", "rejects_groups_that_do_not_divide_the_channels", "is not divisible by groups=2"),
    Mistake("forward ignores groups", """
class Conv2d(Conv2d):
    def forward(self, input):
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation)
""", "forward_matches_F_conv2d", "without groups"),
    Mistake("forward ignores dilation and groups", """
class Conv2d(Conv2d):
    def forward(self, input):
        return F.conv2d(input, self.weight, self.bias, stride=self.stride, padding=self.padding)
""", "forward_matches_F_conv2d", "without dilation, groups"),
    Mistake("extra_repr always lists every argument", """
class Conv2d(Conv2d):
    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}")
""", "extra_repr_matches_torch", "but torch's returns '4, 6, kernel_size=(3, 3), stride=(1, 1)'"),
    Mistake("forward detached from the weight", """
class Conv2d(Conv2d):
    def forward(self, input):
        return F.conv2d(input, self.weight.detach(), self.bias, self.stride, self.padding, self.dilation, self.groups)
""", "gradients_reach_weight_and_bias", "no gradient reached `self.weight`"),
    Mistake("weight made from a NumPy array, so float64", """
import numpy as np
class Conv2d(Conv2d):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.weight = nn.Parameter(torch.from_numpy(np.zeros(tuple(self.weight.shape))))
        self.reset_parameters()
""", "weight_has_shape_out_in_over_groups_kh_kw", "`self.weight` is float64, but torch's is float32"),
]

DROPOUT = [
    Mistake("training flag ignored", """
class Dropout(Dropout):
    def forward(self, input):
        return F.dropout(input, self.p)
""", "is_identity_in_eval_mode",
        "in eval mode your Dropout changed its input: pass `self.training` to `F.dropout`"),
    Mistake("no 1/(1-p) rescale", """
class Dropout(Dropout):
    def forward(self, input):
        if not self.training:
            return input
        return input * (torch.rand(*input.shape) >= self.p).float()
""", "rescales_kept_elements_by_1_over_1_minus_p", "forgot the 1/(1-p) rescale"),
    Mistake("rescale by (1-p) instead of 1/(1-p)", """
class Dropout(Dropout):
    def forward(self, input):
        if not self.training:
            return input
        return input * (torch.rand(*input.shape) >= self.p).float() * (1 - self.p)
""", "rescales_kept_elements_by_1_over_1_minus_p", "scales the kept elements by (1-p)"),
    Mistake("p taken as the probability to keep", """
class Dropout(Dropout):
    def forward(self, input):
        return F.dropout(input, 1 - self.p, self.training)
""", "drops_a_fraction_p_in_training", "the probability to *drop*"),
    Mistake("p not validated", """
class Dropout(Dropout):
    def __init__(self, p=0.5, inplace=False):
        nn.Module.__init__(self)
        self.p, self.inplace = p, inplace
""", "rejects_p_outside_0_1", "should raise ValueError"),
    Mistake("p = 0 and p = 1 refused", """
class Dropout(Dropout):
    def __init__(self, p=0.5, inplace=False):
        if not 0 < p < 1:
            raise ValueError(f"bad p {p}")
        super().__init__(p, inplace)
""", "rejects_p_outside_0_1", "not 0 < p < 1"),
    Mistake("p stored as a Parameter", """
class Dropout(Dropout):
    def __init__(self, p=0.5, inplace=False):
        super().__init__(p, inplace)
        self.p = nn.Parameter(torch.tensor(float(p)))
    def forward(self, input):
        return F.dropout(input, float(self.p), self.training)
""", "has_no_parameters_or_buffers", "p is a plain number"),
    Mistake("wrong default p", """
class Dropout(Dropout):
    def __init__(self, p=0.1, inplace=False):
        super().__init__(p, inplace)
""", "keeps_p_with_torchs_default", "torch's default p is 0.5"),
    Mistake("hand-made mask dividing by 1-p", """
class Dropout(Dropout):
    def forward(self, input):
        if not self.training:
            return input
        return input * (torch.rand(*input.shape) >= self.p).float() / (1 - self.p)
""", "p_equal_1_drops_everything_without_nan", "NaN or inf"),
    Mistake("inplace not passed on", """
class Dropout(Dropout):
    def forward(self, input):
        return F.dropout(input, self.p, self.training)
""", "passes_inplace_to_F_dropout", "without `inplace`"),
    Mistake("inplace=True always passed on", """
class Dropout(Dropout):
    def forward(self, input):
        return F.dropout(input, self.p, self.training, True)
""", "passes_inplace_to_F_dropout", "though its `inplace` is False"),
    Mistake("no super().__init__()", """
class Dropout(Dropout):
    def __init__(self, p=0.5, inplace=False):
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace
""", "is_identity_in_eval_mode", "never calls `super().__init__()`"),
    Mistake("mask drawn from NumPy's generator", """
import numpy as np
class Dropout(Dropout):
    def forward(self, input):
        if not self.training:
            return input
        keep = np.random.rand(*input.shape) >= self.p
        return input * torch.tensor(keep.astype("float32")) / (1 - self.p)
""", "matches_F_dropout_with_the_same_seed", "let F.dropout draw the mask"),
]

BATCHNORM2D = [
    Mistake("running stats stored as Parameters", """
class BatchNorm2d(BatchNorm2d):
    def __init__(self, num_features, *args, **kwargs):
        super().__init__(num_features, *args, **kwargs)
        del self.running_mean, self.running_var
        self.running_mean = nn.Parameter(torch.zeros(num_features), requires_grad=False)
        self.running_var = nn.Parameter(torch.ones(num_features), requires_grad=False)
""", "running_stats_are_buffers_not_parameters", "is a Parameter, so the optimizer would train it"),
    Mistake("running stats as plain attributes", """
class BatchNorm2d(BatchNorm2d):
    def __init__(self, num_features, *args, **kwargs):
        super().__init__(num_features, *args, **kwargs)
        del self.running_mean
        self.__dict__["running_mean"] = torch.zeros(num_features)
""", "running_stats_are_buffers_not_parameters", "is not a registered buffer"),
    Mistake("momentum applied backwards", """
class BatchNorm2d(BatchNorm2d):
    def forward(self, input):
        if self.training:
            self.num_batches_tracked.add_(1)
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, 1 - self.momentum, self.eps)
""", "running_stats_move_by_momentum", "momentum is applied backwards"),
    Mistake("per-sample instead of per-channel statistics", """
class BatchNorm2d(BatchNorm2d):
    def forward(self, input):
        n = input.shape[0]
        flat = input.reshape(n, -1)
        mean = flat.mean(dim=1, keepdim=True)
        var = flat.var(dim=1, unbiased=False, keepdim=True)
        xhat = ((flat - mean) / (var + self.eps).sqrt()).reshape(*input.shape)
        return xhat * self.weight.reshape(1, -1, 1, 1) + self.bias.reshape(1, -1, 1, 1)
""", "training_output_matches_F_batch_norm", "that is LayerNorm"),
    Mistake("training flag ignored", """
class BatchNorm2d(BatchNorm2d):
    def forward(self, input):
        self.num_batches_tracked.add_(1)
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            True, self.momentum, self.eps)
""", "eval_mode_uses_the_running_stats", "pass `self.training` to F.batch_norm"),
    Mistake("momentum=None passed on to F.batch_norm", """
class BatchNorm2d(BatchNorm2d):
    def forward(self, input):
        if self.training:
            self.num_batches_tracked.add_(1)
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, self.momentum, self.eps)
""", "momentum_none_is_a_cumulative_average", "for momentum=None torch passes 1 / num_batches_tracked"),
    Mistake("momentum=None treated as 0.1", """
class BatchNorm2d(BatchNorm2d):
    def forward(self, input):
        if self.training:
            self.num_batches_tracked.add_(1)
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, self.momentum or 0.1, self.eps)
""", "momentum_none_is_a_cumulative_average", "should be the average of the 3 batch means"),
    Mistake("num_batches_tracked never counted", """
class BatchNorm2d(BatchNorm2d):
    def forward(self, input):
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, self.momentum, self.eps)
""", "counts_training_batches", "add 1 in forward when training"),
    Mistake("running_var starting at zeros", """
class BatchNorm2d(BatchNorm2d):
    def __init__(self, num_features, *args, **kwargs):
        super().__init__(num_features, *args, **kwargs)
        self.running_var.zero_()
""", "running_stats_start_at_0_and_1", "running_var should start as ones"),
    Mistake("weight and bias created when affine=False", """
class BatchNorm2d(BatchNorm2d):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        super().__init__(num_features, eps, momentum, True, track_running_stats)
        self.affine = affine
""", "affine_false_has_no_weight_or_bias", "still has a `weight` parameter"),
    Mistake("eval without running stats asks for them", """
class BatchNorm2d(BatchNorm2d):
    def forward(self, input):
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, self.momentum, self.eps)
""", "without_running_stats_eval_uses_the_batch", "pass training=True to F.batch_norm"),
    Mistake("input rank not validated", """
class BatchNorm2d(BatchNorm2d):
    def forward(self, input):
        if input.dim() < 2:
            raise ValueError("too small")
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, self.momentum, self.eps)
""", "rejects_input_that_is_not_4d", "accepted a 2-D input"),
    Mistake("momentum=None turned into 1/num_batches_tracked on every call", """
class BatchNorm2d(BatchNorm2d):
    def forward(self, input):
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
        if self.momentum is None:
            momentum = 1.0 / float(self.num_batches_tracked)
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or self.running_mean is None, momentum, self.eps)
""", "behaves_as_torch_for_every_argument_and_mode", "raised ZeroDivisionError"),
    Mistake("batches counted without running statistics", """
class BatchNorm2d(BatchNorm2d):
    def forward(self, input):
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked)
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or self.running_mean is None, momentum, self.eps)
""", "behaves_as_torch_for_every_argument_and_mode", "with track_running_stats=False the buffers are None"),
    Mistake("eps ignored", """
class BatchNorm2d(BatchNorm2d):
    def forward(self, input):
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked)
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or self.running_mean is None, momentum)
""", "behaves_as_torch_for_every_argument_and_mode", "gives a different output from torch's"),
    Mistake("bias=False ignored", """
class BatchNorm2d(BatchNorm2d):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats)
""", "behaves_as_torch_for_every_argument_and_mode", "your state_dict() keys are ['weight', 'bias', "),
    Mistake("running_var moved towards the biased variance", """
class BatchNorm2d(BatchNorm2d):
    def forward(self, input):
        out = super().forward(input)
        if self.training:
            m = self.momentum
            batch_var = input.detach().var(dim=(0, 2, 3), unbiased=False)
            batch_var_unbiased = input.detach().var(dim=(0, 2, 3))
            self.running_var.data[...] = (self.running_var.data - m * batch_var_unbiased.data) + m * batch_var.data
        return out
""", "running_stats_move_by_momentum", "divided by n - 1"),
    Mistake("weight drawn at random", """
class BatchNorm2d(BatchNorm2d):
    def __init__(self, num_features, *args, **kwargs):
        super().__init__(num_features, *args, **kwargs)
        nn.init.uniform_(self.weight)
""", "weight_and_bias_are_parameters_starting_at_1_and_0", "weight should start at ones"),
    Mistake("running_mean made with NumPy's zeros, so float64", """
import numpy as np
class BatchNorm2d(BatchNorm2d):
    def __init__(self, num_features, *args, **kwargs):
        super().__init__(num_features, *args, **kwargs)
        if self.running_mean is not None:
            self.register_buffer("running_mean", torch.from_numpy(np.zeros(num_features)))
""", "running_stats_start_at_0_and_1", "`self.running_mean` is float64, but torch's is float32"),
]

# The capstone's mistakes in a layer restate Net: the solution's Net looks its layers up where it was defined.
NET = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            Conv2d(1, 16, 3, padding=1), BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            Conv2d(16, 32, 3, padding=1), BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), Dropout(0.25), Linear(32 * 2 * 2, 10))

    def forward(self, x):
        return self.classifier(self.features(x))

model = capstone.train(Net, train_model)
"""

CAPSTONE = [
    Mistake("numtorch's own Conv2d in the network", """
class Net(Net):
    def __init__(self):
        super().__init__()
        self.features[0] = nn.Conv2d(1, 16, 3, padding=1)
""", "net_is_built_from_your_own_layers", "uses numtorch's own `nn.Conv2d`"),
    Mistake("no Dropout in the network", """
class Net(Net):
    def __init__(self):
        super().__init__()
        self.classifier = nn.Sequential(nn.Flatten(), Linear(32 * 2 * 2, 10))
""", "net_is_built_from_your_own_layers", "has no Dropout of yours"),
    Mistake("nine classes instead of ten", """
class Net(Net):
    def __init__(self):
        super().__init__()
        self.classifier = nn.Sequential(nn.Flatten(), Dropout(0.25), Linear(32 * 2 * 2, 9))
""", "net_maps_images_to_ten_logits", "not to logits of shape (5, 10)"),
    Mistake("model never trained", """
torch.manual_seed(0)
model = Net()
""", "model_is_a_trained_net_of_your_layers", "nothing was trained"),
    Mistake("training loop without zero_grad", """
def train_model(model, X, y, epochs=3, batch_size=64):
    batches = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    for epoch in range(epochs):
        for xb, yb in batches:
            F.cross_entropy(model(xb), yb).backward()
            optimizer.step()
model = capstone.train(Net, train_model)
""", "model_reaches_95_percent_test_accuracy", "call `optimizer.zero_grad()` before each `loss.backward()`"),
    Mistake("training in eval mode", """
def train_model(model, X, y, epochs=3, batch_size=64):
    batches = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model.eval()
    for epoch in range(epochs):
        for xb, yb in batches:
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
model = capstone.train(Net, train_model)
""", "train_model_runs_the_model_in_training_mode", "call `model.train()` before training"),
    Mistake("a BatchNorm2d that always uses the batch's statistics", """
class BatchNorm2d(BatchNorm2d):
    def forward(self, input):
        return F.batch_norm(input, None, None, self.weight, self.bias, True, 0.1, self.eps)
""" + NET, "model_in_eval_mode_gives_each_image_its_own_prediction",
        "the BatchNorm2d in your model (your lab 3 layer, pasted above) normalises with the batch's statistics"),
    Mistake("a BatchNorm2d that counts eval batches", """
class BatchNorm2d(BatchNorm2d):
    def forward(self, input):
        self.num_batches_tracked.add_(1)
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, self.momentum, self.eps)
""" + NET, "model_in_eval_mode_gives_each_image_its_own_prediction", "changes num_batches_tracked in eval mode"),
    Mistake("a Dropout that ignores self.training", """
class Dropout(Dropout):
    def forward(self, input):
        return F.dropout(input, self.p)
""" + NET, "model_in_eval_mode_gives_each_image_its_own_prediction",
        "the Dropout in your model (your lab 2 layer, pasted above) changes its input in eval mode"),
    Mistake("F.dropout called in Net.forward without the training flag", """
class Net(Net):
    def forward(self, x):
        return self.classifier(F.dropout(self.features(x), 0.2))
model = capstone.train(Net, train_model)
""", "model_in_eval_mode_gives_each_image_its_own_prediction", "without the module's `self.training`"),
    Mistake("a nearest-neighbour lookup over the training images", """
class Lookup(nn.Module):
    def __init__(self, X, y):
        super().__init__()
        self.X, self.y = X.reshape(len(X), -1), y
    def forward(self, x):
        distances = ((x.reshape(len(x), -1)[:, None, :] - self.X[None]) ** 2).sum(-1)
        return (self.y[(-distances).argmax(1)][:, None] == torch.arange(10)).float()
model = Lookup(X_train, y_train)
""", "model_is_a_trained_net_of_your_layers", "has no Conv2d, BatchNorm2d, Dropout, Linear of yours"),
    Mistake("a lookup dressed in a trained Net", """
class Lookup(Net):
    def forward(self, x):
        if self.training:
            return super().forward(x)
        flat = X_train.reshape(len(X_train), -1)
        distances = ((x.reshape(len(x), -1)[:, None, :] - flat[None]) ** 2).sum(-1)
        return (y_train[(-distances).argmax(1)][:, None] == torch.arange(10)).float() + 0 * super().forward(x)
model = capstone.train(Lookup, train_model)
""", "model_is_a_trained_net_of_your_layers", "do not change when its Linear layers' weights are zeroed"),
    Mistake("evaluating in training mode", """
def evaluate(model, X, y):
    with torch.no_grad():
        return (model(X).argmax(dim=1) == y).float().mean().item()
""", "evaluate_runs_the_model_in_eval_mode", "call `model.eval()` first"),
    Mistake("accuracy returned as a tensor", """
def evaluate(model, X, y):
    model.eval()
    return (model(X).argmax(dim=1) == y).float().mean()
""", "evaluate_returns_the_accuracy", "return a Python float"),
]

LINEAR_FUNCTION = [
    Mistake("grad_weight transposed", """
class LinearFunction(LinearFunction):
    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        flat = grad_output.reshape(-1, grad_output.shape[-1])
        return grad_output @ weight, input.reshape(-1, input.shape[-1]).T @ flat, flat.sum(0)
""", "grad_weight_passes_the_numerical_check", "your backward's grad_weight has the wrong shape"),
    Mistake("grad_input through the transposed weight", """
class LinearFunction(LinearFunction):
    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        flat = grad_output.reshape(-1, grad_output.shape[-1])
        grad_input = (flat @ weight.T.T * 2).reshape(*input.shape)
        return grad_input, flat.T @ input.reshape(-1, input.shape[-1]), flat.sum(0)
""", "grad_input_passes_the_numerical_check", "differs from the numerical gradient of your forward"),
    Mistake("grad_bias summed over the features", """
class LinearFunction(LinearFunction):
    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        flat = grad_output.reshape(-1, grad_output.shape[-1])
        return grad_output @ weight, flat.T @ input.reshape(-1, input.shape[-1]), flat.sum(1)
""", "grad_bias_passes_the_numerical_check", "your backward's grad_bias has the wrong shape"),
    Mistake("grad_weight without flattening the leading dimensions", """
class LinearFunction(LinearFunction):
    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        return grad_output @ weight, grad_output.T @ input, grad_output.reshape(-1, weight.shape[0]).sum(0)
""", "grad_weight_passes_the_numerical_check", "though a 2-D input works"),
    Mistake("backward forgets the bias", """
class LinearFunction(LinearFunction):
    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        flat = grad_output.reshape(-1, grad_output.shape[-1])
        return grad_output @ weight, flat.T @ input.reshape(-1, input.shape[-1])
""", "grad_input_passes_the_numerical_check", "return one per argument of forward"),
    Mistake("forward adds a None bias", """
class LinearFunction(LinearFunction):
    @staticmethod
    def forward(ctx, input, weight, bias=None):
        ctx.save_for_backward(input, weight, bias)
        return input @ weight.T + bias
""", "forward_matches_F_linear", "add the bias only when there is one"),
    Mistake("backward sums a None bias", """
class LinearFunction(LinearFunction):
    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        flat = grad_output.reshape(-1, grad_output.shape[-1])
        return grad_output @ weight, flat.T @ input.reshape(-1, input.shape[-1]), bias * 0 + flat.sum(0)
""", "backward_works_without_bias", "return None for the bias when it is None"),
    Mistake("forward in float32", """
class LinearFunction(LinearFunction):
    @staticmethod
    def forward(ctx, input, weight, bias=None):
        ctx.save_for_backward(input, weight, bias)
        output = input.float() @ weight.float().T
        return output if bias is None else output + bias.float()
""", "forward_matches_F_linear", "turned float64 inputs into float32"),
    Mistake("the Module calls F.linear", """
class Linear(Linear):
    def forward(self, input):
        return F.linear(input, self.weight, self.bias)
""", "forward_is_one_call_to_your_function", "so numtorch's backward runs instead of yours"),
    Mistake("the Module detaches the weight", """
class Linear(Linear):
    def forward(self, input):
        return LinearFunction.apply(input, self.weight.detach(), self.bias)
""", "gradients_reach_weight_bias_and_input", "no gradient reached `self.weight`"),
    Mistake("the Module's weight made from a NumPy array, so float64", """
import numpy as np
class Linear(Linear):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__(in_features, out_features, bias)
        self.weight = nn.Parameter(torch.from_numpy(np.asarray(self.weight.detach().numpy(), dtype=np.float64)))
""", "registers_weight_and_bias_as_parameters", "`self.weight` is float64, but torch's is float32"),
]

HOOKS_STATELESS = [
    Mistake("forward hooks never removed", """
def record_activations(model, x):
    activations = {}
    for name, module in model.named_modules():
        if name:
            module.register_forward_hook(lambda m, args, output, name=name: activations.__setitem__(
                name, output.detach().clone()))
    model(x)
    return activations
""", "removes_every_hook_it_registers", "the activations pile up"),
    Mistake("hooks removed only when the forward succeeds", """
def record_activations(model, x):
    activations, handles = {}, []
    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_hook(lambda m, args, output, name=name: activations.__setitem__(
                name, output.detach().clone())))
    model(x)
    for handle in handles:
        handle.remove()
    return activations
""", "removes_the_hooks_even_when_the_forward_raises", "`finally:`"),
    Mistake("the output kept without a copy, then overwritten by the in-place ReLU", """
def record_activations(model, x):
    activations, handles = {}, []
    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_hook(lambda m, args, output, name=name: activations.__setitem__(
                name, output.detach())))
    try:
        model(x)
    finally:
        for handle in handles:
            handle.remove()
    return activations
""", "keeps_each_output_as_the_layer_made_it", "the in-place ReLU after it overwrote the very tensor you kept"),
    Mistake("the output kept attached to the graph", """
def record_activations(model, x):
    activations, handles = {}, []
    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_hook(lambda m, args, output, name=name: activations.__setitem__(
                name, output.clone())))
    try:
        model(x)
    finally:
        for handle in handles:
            handle.remove()
    return activations
""", "records_are_cut_from_the_graph", "still attached to autograd's graph"),
    Mistake("the layer's input recorded instead of its output", """
def record_activations(model, x):
    activations, handles = {}, []
    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_hook(lambda m, args, output, name=name: activations.__setitem__(
                name, args[0].detach().clone())))
    try:
        model(x)
    finally:
        for handle in handles:
            handle.remove()
    return activations
""", "records_the_output_of_every_layer", "but got its input"),
    Mistake("the model itself hooked too", """
def record_activations(model, x):
    activations, handles = {}, []
    for name, module in model.named_modules():
        handles.append(module.register_forward_hook(lambda m, args, output, name=name: activations.__setitem__(
            name, output.detach().clone())))
    try:
        model(x)
    finally:
        for handle in handles:
            handle.remove()
    return activations
""", "records_the_output_of_every_layer", "skip the model itself"),
    Mistake("a pre-hook that clamps in place", """
def clamp_input(layer, low, high):
    def hook(module, args):
        args[0].clamp_(low, high)
    return layer.register_forward_pre_hook(hook)
""", "leaves_the_callers_tensor_alone", "not `clamp_`"),
    Mistake("a pre-hook that clamps through .data", """
def clamp_input(layer, low, high):
    def hook(module, args):
        args[0].data.clamp_(low, high)
    return layer.register_forward_pre_hook(hook)
""", "leaves_the_callers_tensor_alone", "not through `.data`"),
    Mistake("a pre-hook that makes the new input but never returns it", """
def clamp_input(layer, low, high):
    def hook(module, args):
        args = (args[0].clamp(low, high), *args[1:])
    return layer.register_forward_pre_hook(hook)
""", "clamps_the_input_of_the_layer", "without any clamping"),
    Mistake("the handle not returned", """
def clamp_input(layer, low, high):
    layer.register_forward_pre_hook(lambda module, args: (args[0].clamp(low, high),))
""", "returns_a_handle_that_takes_the_hook_out", "but got None"),
    Mistake("functional_call without strict=True", """
def ensemble_predict(model, weight_sets, x):
    return torch.stack([functional_call(model, weights, (x,)) for weights in weight_sets])
""", "ensemble_refuses_a_weight_set_with_a_missing_name", "pass strict=True"),
    Mistake("each weight set loaded into the model", """
def ensemble_predict(model, weight_sets, x):
    outputs = []
    for weights in weight_sets:
        model.load_state_dict(weights)
        outputs.append(model(x))
    return torch.stack(outputs)
""", "ensemble_leaves_the_models_parameters_alone", "instead of loading the weights into it"),
    Mistake("the ensemble ignores the weight sets", """
def ensemble_predict(model, weight_sets, x):
    return torch.stack([model(x) for weights in weight_sets])
""", "ensemble_stacks_one_output_per_weight_set", "got the model's own output each time"),
    Mistake("per-sample gradients from the batch's mean loss", """
def per_sample_grads(model, weights, x, y):
    leaves = {name: w.detach().requires_grad_(True) for name, w in weights.items()}
    F.cross_entropy(functional_call(model, leaves, (x,), strict=True), y).backward()
    return {name: torch.stack([leaf.grad] * len(x)) for name, leaf in leaves.items()}
""", "per_sample_grads_are_one_backward_per_sample", "the batch's mean gradient for every one"),
    Mistake("per-sample gradients accumulated in the same leaves", """
def per_sample_grads(model, weights, x, y):
    leaves = {name: w.detach().requires_grad_(True) for name, w in weights.items()}
    grads = {name: [] for name in weights}
    for i in range(len(x)):
        F.cross_entropy(functional_call(model, leaves, (x[i:i + 1],), strict=True), y[i:i + 1]).backward()
        for name, leaf in leaves.items():
            grads[name].append(leaf.grad.clone())
    return {name: torch.stack(g) for name, g in grads.items()}
""", "per_sample_grads_are_one_backward_per_sample", "got running sums"),
    Mistake("per-sample gradients at the model's own parameters", """
def per_sample_grads(model, weights, x, y):
    grads = {name: [] for name in weights}
    for i in range(len(x)):
        model.zero_grad()
        F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        for name, p in model.named_parameters():
            grads[name].append(p.grad.clone())
    return {name: torch.stack(g) for name, g in grads.items()}
""", "per_sample_grads_are_one_backward_per_sample", "got those at the model's own parameters"),
    Mistake("per-sample gradients by copying the weights into the model", """
def per_sample_grads(model, weights, x, y):
    model.load_state_dict(weights)
    grads = {name: [] for name in weights}
    for i in range(len(x)):
        model.zero_grad()
        F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        for name, p in model.named_parameters():
            grads[name].append(p.grad.clone())
    return {name: torch.stack(g) for name, g in grads.items()}
""", "per_sample_grads_leave_the_models_parameters_alone", "unchanged by per_sample_grads"),
]

CHECKPOINT = [
    Mistake("scale registered as a persistent buffer", """
class Classifier(Classifier):
    def __init__(self, in_features=8, classes=3, hidden=16):
        super().__init__(in_features, classes, hidden)
        self.register_buffer("scale", torch.tensor(in_features ** -0.5))
""", "state_dict_keeps_seen_but_not_scale", "persistent=False"),
    Mistake("seen kept as a plain attribute", """
class Classifier(Classifier):
    def __init__(self, in_features=8, classes=3, hidden=16):
        super().__init__(in_features, classes, hidden)
        del self.seen
        self.seen = torch.zeros((), dtype=torch.int64)
""", "state_dict_keeps_seen_but_not_scale", "a plain attribute is not saved"),
    Mistake("seen counted in eval mode too", """
class Classifier(Classifier):
    def forward(self, x):
        self.seen += x.shape[0]
        return self.out(self.dropout(F.relu(self.hidden(x * self.scale))))
""", "forward_counts_training_examples", "count only `if self.training`"),
    Mistake("the model saved but not the optimizer", """
def save_checkpoint(model, optimizer, epoch):
    return copy.deepcopy({"model": model.state_dict(), "epoch": epoch, "rng": torch.get_rng_state()})
""", "checkpoint_holds_every_part", 'add `"optimizer": optimizer.state_dict()`'),
    Mistake("the generator's state not saved", """
def save_checkpoint(model, optimizer, epoch):
    return copy.deepcopy({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch})
""", "checkpoint_holds_every_part", 'add `"rng": torch.get_rng_state()`'),
    Mistake("every buffer saved by hand, the non-persistent one too", """
def save_checkpoint(model, optimizer, epoch):
    state = {**dict(model.named_parameters()), **dict(model.named_buffers())}
    return copy.deepcopy({"model": {k: v.detach() for k, v in state.items()}, "optimizer": optimizer.state_dict(),
                          "epoch": epoch, "rng": torch.get_rng_state()})
""", "checkpoint_holds_every_part", "save `model.state_dict()`, which leaves it out"),
    Mistake("the model object saved instead of its state_dict", """
def save_checkpoint(model, optimizer, epoch):
    return {"model": model, "optimizer": optimizer.state_dict(), "epoch": epoch, "rng": torch.get_rng_state()}
""", "checkpoint_holds_every_part", "does not outlive the process"),
    Mistake("the next epoch saved, and one added again on resume", """
def save_checkpoint(model, optimizer, epoch):
    return copy.deepcopy({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                          "epoch": epoch + 1, "rng": torch.get_rng_state()})
""", "checkpoint_holds_every_part", "keep the number as given, resume adds one"),
    Mistake("resume leaves the generator where the new process has it", """
def resume(checkpoint):
    checkpoint = copy.deepcopy(checkpoint)
    model = Classifier()
    model.load_state_dict(checkpoint["model"])
    optimizer = make_optimizer(model)
    optimizer.load_state_dict(checkpoint["optimizer"])
    return model, optimizer, checkpoint["epoch"] + 1
""", "resume_restores_model_optimizer_and_generator", "`torch.set_rng_state(checkpoint['rng'])`"),
    Mistake("resume loads the model only", """
def resume(checkpoint):
    model = Classifier()
    model.load_state_dict(checkpoint["model"])
    torch.set_rng_state(checkpoint["rng"])
    return model, make_optimizer(model), checkpoint["epoch"] + 1
""", "resume_restores_model_optimizer_and_generator", "the resumed optimizer has no state"),
    Mistake("resume trains again from the start instead of loading", """
def resume(checkpoint):
    torch.manual_seed(0)
    model = Classifier()
    optimizer = make_optimizer(model)
    for _ in range(checkpoint["epoch"] + 1):
        train_epoch(model, optimizer, inputs, targets)
    return model, optimizer, checkpoint["epoch"] + 1
""", "resume_restores_model_optimizer_and_generator", "`model.load_state_dict(checkpoint['model'])`"),
    Mistake("resume returns the saved epoch, which then runs twice", """
def resume(checkpoint):
    checkpoint = copy.deepcopy(checkpoint)
    model = Classifier()
    model.load_state_dict(checkpoint["model"])
    optimizer = make_optimizer(model)
    optimizer.load_state_dict(checkpoint["optimizer"])
    torch.set_rng_state(checkpoint["rng"])
    return model, optimizer, checkpoint["epoch"]
""", "resume_returns_the_next_epoch", "return `checkpoint['epoch'] + 1`"),
    Mistake("the optimizer built before load_state_dict(assign=True) replaces the parameters", """
def resume(checkpoint):
    checkpoint = copy.deepcopy(checkpoint)
    model = Classifier()
    optimizer = make_optimizer(model)
    optimizer.load_state_dict(checkpoint["optimizer"])
    model.load_state_dict(checkpoint["model"], assign=True)
    torch.set_rng_state(checkpoint["rng"])
    return model, optimizer, checkpoint["epoch"] + 1
""", "resumed_run_matches_the_uninterrupted_run", "then create the optimizer over `model.parameters()`"),
    Mistake("the renamed checkpoint loaded strictly", """
def load_renamed(model, state_dict):
    return model.load_state_dict({k.removeprefix("module.").replace("head.", "out."): v
                                  for k, v in state_dict.items()})
""", "load_renamed_loads_every_weight", "a strict load refuses"),
    Mistake("the module. prefix kept", """
def load_renamed(model, state_dict):
    return model.load_state_dict({k.replace("module.head.", "module.out."): v for k, v in state_dict.items()},
                                 strict=False)
""", "load_renamed_loads_every_weight", "strip the `module.` prefix"),
    Mistake("head not renamed to out", """
def load_renamed(model, state_dict):
    return model.load_state_dict({k.removeprefix("module."): v for k, v in state_dict.items()}, strict=False)
""", "load_renamed_loads_every_weight", "rename the prefix `head.` to `out.`"),
    Mistake("the keys the model lacks dropped before loading", """
def load_renamed(model, state_dict):
    renamed = {k.removeprefix("module.").replace("head.", "out."): v for k, v in state_dict.items()}
    wanted = model.state_dict()
    return model.load_state_dict({k: v for k, v in renamed.items() if k in wanted}, strict=False)
""", "load_renamed_reports_missing_and_unexpected_keys", "but got []"),
    Mistake("load_renamed returns nothing", """
def load_renamed(model, state_dict):
    model.load_state_dict({k.removeprefix("module.").replace("head.", "out."): v for k, v in state_dict.items()},
                          strict=False)
""", "load_renamed_reports_missing_and_unexpected_keys", "return what load_state_dict returns"),
    Mistake("the checkpoint's state_dicts kept live, not copied", """
def save_checkpoint(model, optimizer, epoch):
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
            "rng": torch.get_rng_state()}
""", "checkpoint_is_a_copy_that_training_leaves_alone", "one more epoch of training changed the checkpoint"),
    Mistake("the model's state copied, the optimizer's kept live", """
def save_checkpoint(model, optimizer, epoch):
    return {"model": {k: v.clone() for k, v in model.state_dict().items()}, "optimizer": optimizer.state_dict(),
            "epoch": epoch, "rng": torch.get_rng_state()}
""", "checkpoint_is_a_copy_that_training_leaves_alone", "(its optimizer state)"),
    Mistake("resume loads the checkpoint without copying it", """
def resume(checkpoint):
    model = Classifier()
    model.load_state_dict(checkpoint["model"])
    optimizer = make_optimizer(model)
    optimizer.load_state_dict(checkpoint["optimizer"])
    torch.set_rng_state(checkpoint["rng"])
    return model, optimizer, checkpoint["epoch"] + 1
""", "resume_leaves_the_checkpoint_as_it_was", "(its optimizer state)"),
    Mistake("resume assigns the checkpoint's tensors to the model", """
def resume(checkpoint):
    model = Classifier()
    model.load_state_dict(checkpoint["model"], assign=True)
    optimizer = make_optimizer(model)
    optimizer.load_state_dict(copy.deepcopy(checkpoint["optimizer"]))
    torch.set_rng_state(checkpoint["rng"])
    return model, optimizer, checkpoint["epoch"] + 1
""", "resume_leaves_the_checkpoint_as_it_was", "the checkpoint it was given (its `"),
]

CATALOGUE = {"0_linear": LINEAR, "1_conv2d": CONV2D, "2_dropout": DROPOUT, "3_batchnorm2d": BATCHNORM2D,
             "4_capstone": CAPSTONE, "5_linear_function": LINEAR_FUNCTION, "6_checkpoint": CHECKPOINT,
             "7_hooks_stateless": HOOKS_STATELESS}
