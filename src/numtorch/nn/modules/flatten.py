from .module import Module


class Flatten(Module):
    """Flattens dimensions ``start_dim`` to ``end_dim`` into one (by default all but the batch).

    Shape:
        Input ``(N, *dims)``; output ``(N, prod(dims))`` with the defaults.
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Splits dimension ``dim`` into ``unflattened_size``: the inverse of :class:`Flatten`.

    Args:
        dim (int): the dimension to split.
        unflattened_size (tuple of int): its new sizes; their product must be the size of ``dim`` (one may be -1).

    Shape:
        Input ``(*, S, *)``; output ``(*, *unflattened_size, *)``.

    Examples::

        >>> nn.Unflatten(1, (1, 28, 28))(numtorch.randn(64, 784)).shape
        numtorch.Size([64, 1, 28, 28])
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(f"unflattened_size must be a tuple of ints, but found type "
                            f"{type(unflattened_size).__name__}")
        for i, size in enumerate(unflattened_size):
            if not isinstance(size, int):
                raise TypeError(f"unflattened_size must be tuple of ints, but found element of type "
                                f"{type(size).__name__} at pos {i}")
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input):
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
