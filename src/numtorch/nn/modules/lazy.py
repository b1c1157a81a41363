"""LazyModuleMixin: a layer whose parameter shapes come from its first input, as ``torch.nn.modules.lazy``.

A lazy layer is built without knowing its input size: its parameters are
:class:`~numtorch.nn.UninitializedParameter`. A forward pre-hook runs once, at the first
call: it asks ``initialize_parameters(input)`` to give them shapes and initial values,
removes itself, and turns the module into its ordinary class (``LazyLinear`` becomes
``Linear``). State created on the first call, by a hook: the forward itself stays one line.
"""
from ..parameter import UninitializedParameter


class LazyModuleMixin:
    """Mixed in before a layer class (``class LazyLinear(LazyModuleMixin, Linear)``).

    The layer defines ``cls_to_become`` (the class it becomes) and ``initialize_parameters(*args)``,
    which calls ``materialize`` on its uninitialized parameters and then ``reset_parameters()``.
    """

    cls_to_become = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters, with_kwargs=True)

    def has_uninitialized_params(self):
        """Whether a parameter or buffer still waits for the first call."""
        tensors = list(self._parameters.values()) + list(self._buffers.values())
        return any(isinstance(t, UninitializedParameter) for t in tensors)

    def initialize_parameters(self, *args, **kwargs):
        raise NotImplementedError(f"initialize_parameters is not implemented for {type(self).__name__}")

    def _infer_parameters(self, module, args, kwargs=None):
        self.initialize_parameters(*args, **(kwargs or {}))
        if self.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        self._initialize_hook.remove()
        del self._initialize_hook
        if self.cls_to_become is not None:
            self.__class__ = self.cls_to_become
