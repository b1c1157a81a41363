"""A name torch has and numtorch lacks says so; a typo stays a plain AttributeError; the README lists what is covered."""
import importlib
import pathlib
import re
import textwrap
import types

import pytest

import numtorch
from numtorch.coverage import NotInNumtorchError, covered
from numtorch.torch_names import TORCH_NAMES

README = pathlib.Path(__file__).parents[2] / "README.md"


@pytest.mark.parametrize("module, name", [
    ("numtorch.nn", "LSTM"), ("numtorch.nn.functional", "silu"), ("numtorch", "fft"), ("numtorch.optim", "RMSprop"),
    ("numtorch.optim.lr_scheduler", "OneCycleLR"), ("numtorch.utils.data", "random_split"),
])
def test_a_torch_name_numtorch_lacks_raises_an_error_that_says_so(module, name):
    with pytest.raises(NotInNumtorchError) as info:
        getattr(importlib.import_module(module), name)
    torch_module = module.replace("numtorch", "torch")
    assert str(info.value).startswith(f"module '{module}' has no attribute '{name}': "
                                      f"numtorch does not implement {torch_module}.{name}; {module} covers: ")
    assert isinstance(info.value, AttributeError)


def test_the_message_lists_what_the_module_covers():
    with pytest.raises(NotInNumtorchError, match=r"numtorch.nn covers: .*\bConv2d, .*\bLinear, .*numtorch vs torch"):
        numtorch.nn.LSTM


def test_hasattr_and_getattr_with_a_default_still_work_on_missing_torch_names():
    assert not hasattr(numtorch.nn, "LSTM") and not hasattr(numtorch.nn.functional, "silu")
    assert getattr(numtorch.nn, "Transformer", "absent") == "absent"


@pytest.mark.parametrize("module, name", [("numtorch.nn", "Linaer"), ("numtorch", "tensr"), ("numtorch.nn", "_private"),
                                          ("numtorch.nn.functional", "conv3")])
def test_a_typo_or_a_private_name_is_a_plain_attribute_error(module, name):
    with pytest.raises(AttributeError) as info:
        getattr(importlib.import_module(module), name)
    assert type(info.value) is AttributeError
    assert str(info.value) == f"module '{module}' has no attribute '{name}'"


def test_every_covered_name_exists_in_torch_too(torch):
    for path in TORCH_NAMES:
        torch_module = importlib.import_module("torch" + ("." + path if path else ""))
        for name in covered("numtorch" + ("." + path if path else "")):
            assert hasattr(torch_module, name), (path, name)


@pytest.mark.parametrize("path", sorted(TORCH_NAMES))
def test_the_list_of_torch_names_is_torch_2_13s(torch, path):
    """If this fails after a torch upgrade: `python -m tests.engine.test_coverage > src/numtorch/torch_names.py`."""
    torch_module = importlib.import_module("torch" + ("." + path if path else ""))
    missing = [n for n in TORCH_NAMES[path] if not hasattr(torch_module, n)]
    assert not missing, f"listed but not in {torch_module.__name__}: {missing}"
    unlisted = [n for n, v in vars(torch_module).items()
                if not n.startswith("_") and not isinstance(v, types.ModuleType) and n not in TORCH_NAMES[path]]
    assert not unlisted, f"in {torch_module.__name__} but not listed: {unlisted}"


@pytest.mark.parametrize("path", ["nn", "nn.functional", "nn.utils", "func", "optim", "optim.lr_scheduler", "utils.data"])
def test_the_readme_table_lists_every_name_the_module_covers(path):
    row = next(line for line in README.read_text().splitlines() if line.startswith(f"| `{path}` |"))
    supported = row.split(" | ")[1]
    listed = set(re.findall(r"`(\w+)", supported))
    assert not set(covered(f"numtorch.{path}")) - listed, f"README's {path} row lacks these"


def torch_names_source():
    """The text of numtorch/torch_names.py, from the torch installed here."""
    lines = ['"""The public names of torch 2.13\'s modules that numtorch mirrors, so that a name torch has and numtorch '
             'lacks', 'can say so (see :mod:`numtorch.coverage`). Generated from torch; tests/engine/test_coverage.py '
             'checks it."""', "TORCH_NAMES = {"]
    for path in TORCH_NAMES:
        module = importlib.import_module("torch" + ("." + path if path else ""))
        names = sorted(n for n in dir(module) if not n.startswith("_") and not (  # not the modules torch imports
            isinstance(getattr(module, n), types.ModuleType) and not getattr(module, n).__name__.startswith("torch")))
        body = textwrap.fill(" ".join(names), 108, initial_indent="    ", subsequent_indent="    ")
        lines.append(f'    "{path}": frozenset("""\n{body}\n""".split()),')
    return "\n".join(lines + ["}"]) + "\n"


if __name__ == "__main__":
    print(torch_names_source(), end="")
