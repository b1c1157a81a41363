"""What happens when code asks numtorch for a name torch has and numtorch does not.

Each of numtorch's public modules sets ``__getattr__ = coverage.module_getattr(__name__)``;
Python calls it only for names the module lacks. A name torch's module has (``nn.LSTM``) raises
:class:`NotInNumtorchError`, which says that numtorch does not implement it and lists what the
module does cover; any other name (a typo, a private name) raises the usual AttributeError.
"""
import sys

from .torch_names import TORCH_NAMES


class NotInNumtorchError(AttributeError):
    """A name torch has and numtorch does not. An AttributeError, so ``hasattr`` and ``getattr(m, name, default)``
    behave as they do for any missing attribute."""


def covered(module_name):
    """The public names of numtorch module ``module_name`` (its ``__all__``, if it has one) that torch's has too."""
    module, path = sys.modules[module_name], module_name.partition(".")[2]
    names = getattr(module, "__all__", None) or vars(module)
    return sorted(name for name in names if not name.startswith("_") and name in TORCH_NAMES[path])


def module_getattr(module_name):
    """A module-level ``__getattr__`` for numtorch module ``module_name`` (``"numtorch.nn"``, say)."""
    path = module_name.partition(".")[2]
    torch_name = "torch" + ("." + path if path else "")

    def __getattr__(name):
        module = sys.modules[module_name]
        # Python's own words first: code that reads them (labkit's grader, for a layer it withholds) still can.
        missing = f"module '{module_name}' has no attribute '{name}'"
        if not name.startswith("_") and name in TORCH_NAMES[path]:
            raise NotInNumtorchError(
                f"{missing}: numtorch does not implement {torch_name}.{name}; {module_name} covers: "
                f"{', '.join(covered(module_name))} (see \"numtorch vs torch\" in numtorch's README)",
                name=name, obj=module)
        raise AttributeError(missing, name=name, obj=module)

    return __getattr__
