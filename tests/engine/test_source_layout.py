"""numtorch's source reads in any order: imports at the top, Python's builtins never hidden, and Tensor's
private fields written by tensor.py alone."""
import ast
import builtins
import pathlib
import subprocess
import sys

import pytest

SOURCE = pathlib.Path(__file__).parents[2] / "src" / "numtorch"
MODULES = sorted(SOURCE.rglob("*.py"))


def names(path):
    return str(path.relative_to(SOURCE))


def parse(path):
    return ast.parse(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", MODULES, ids=names)
def test_every_import_comes_before_the_code_of_its_module(path):
    body = parse(path).body
    first_code = next((i for i, node in enumerate(body) if not isinstance(node, (ast.Import, ast.ImportFrom))
                       and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))), len(body))
    late = [node.lineno for node in body[first_code:] if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert not late, f"imports after the module's first statement, at lines {late}"


@pytest.mark.parametrize("path", [p for p in MODULES if p != SOURCE / "__init__.py"], ids=names)
def test_no_module_hides_a_builtin_name(path):
    """Only ``numtorch/__init__.py`` holds torch's names that are builtins too (``numtorch.float``, ``.sum``)."""
    bound = []
    for node in parse(path).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.append(node.name)
        elif isinstance(node, ast.Assign):
            bound += [n.id for target in node.targets for n in ast.walk(target) if isinstance(n, ast.Name)]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound += [(alias.asname or alias.name).partition(".")[0] for alias in node.names]
    assert not set(bound) & set(dir(builtins))


TENSOR_PRIVATE_FIELDS = {"_grad", "_node", "_requires_grad", "_version", "_view"}


@pytest.mark.parametrize("path", [p for p in MODULES if p != SOURCE / "tensor.py"], ids=names)
def test_only_tensor_py_writes_the_private_fields_of_a_tensor(path):
    written = [(node.lineno, node.attr) for node in ast.walk(parse(path))
               if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
               and node.attr in TENSOR_PRIVATE_FIELDS]
    assert not written, "use Tensor._make or Tensor._share"


def test_tensor_keeps_its_private_fields_in_the_list_above():
    tensor_py = parse(SOURCE / "tensor.py")
    written = {node.attr for node in ast.walk(tensor_py) if isinstance(node, ast.Attribute)
               and isinstance(node.ctx, ast.Store) and node.attr.startswith("_") and not node.attr.startswith("__")}
    assert written == TENSOR_PRIVATE_FIELDS


@pytest.mark.parametrize("module", ["autograd", "ops", "tensor", "factories", "functions"])
def test_an_engine_module_imported_first_brings_a_working_engine(module):
    """Without the package's __init__ (which would fix the order), any of them can come first: no import cycle."""
    script = f"""
import importlib, sys, types
package = types.ModuleType("numtorch")
package.__path__ = [{str(SOURCE)!r}]
sys.modules["numtorch"] = package
importlib.import_module("numtorch.{module}")
x = importlib.import_module("numtorch.factories").tensor([1.0, 2.0], requires_grad=True)
(x * x).sum().backward()
print(x.grad.tolist())
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[2.0,", "4.0]"]


def test_a_function_written_as_in_torch_can_be_the_first_operation_of_a_fresh_process():
    """autograd.py imports tensor.py on first use: a learner's Function applied before any built-in
    operation has made a tensor (tensors from factories only) must find it too."""
    script = """
import numtorch

class Double(numtorch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * 2

x = numtorch.ones(2, requires_grad=True)
Double.apply(x).sum().backward()
print(x.grad.tolist())
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[2.0,", "2.0]"]
