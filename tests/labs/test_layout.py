"""The trust boundary is the layout: labkit.in_kernel runs beside the learner's code and is untrusted, labkit.grader
decides grades, labkit.wire is all they share; a grading kernel has no grader to import; no import cycles."""

import ast
from pathlib import Path

import pytest

from labtools import notebook, write
from labkit.grader.grade import grade

LABKIT = Path(__file__).resolve().parents[2] / "src" / "labkit"


def module_name(path: Path) -> str:
    parts = path.relative_to(LABKIT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Each labkit module and the labkit modules it imports anywhere in its body (functions included)."""
    modules = {module_name(p): p for p in LABKIT.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found |= {f"{node.module}.{a.name}" for a in node.names}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_labkit_has_no_import_cycles():
    assert cycle(imports()) is None


def test_the_wire_module_imports_nothing_from_labkit():
    assert imports()["labkit.wire"] == set()


def test_the_kernels_side_imports_nothing_from_the_grader():
    graph = imports()
    for name in (n for n in graph if n.startswith("labkit.in_kernel")):
        assert not {m for m in graph[name] if m.startswith("labkit.grader")}, name


@pytest.mark.kernels
def test_a_grading_kernel_has_no_grader_to_import(tmp_path, toy_labs):
    reach = "import labkit.grader.grade"
    result = grade(write(tmp_path / "toy.ipynb", notebook(reach, "def double(x):\n    return 2 * x")), toy_labs)
    assert result["score"] == result["max_score"] > 0, result
    assert any("code cell 1 raised ModuleNotFoundError" in note for note in result["notes"]), result["notes"]


def test_the_cycle_finder_finds_a_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
