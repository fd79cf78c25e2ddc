"""No import cycles among the project's modules, counting imports inside
functions too: an import moved into a function still makes a cycle, it only
hides it until the function runs."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("config", "newsletter", "subscribers")


def project_modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of PACKAGES."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _imported(node: ast.Import | ast.ImportFrom, *, module: str, is_package: bool) -> list[str]:
    """The modules an import statement names: for ``from a import b``, the
    submodule ``a.b`` when there is one (tested by the caller), else ``a``."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module if is_package else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports anywhere in its body."""
    modules = project_modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        edges: set[str] = set()
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            names = _imported(node, module=module, is_package=path.name == "__init__.py")
            if isinstance(node, ast.ImportFrom):
                submodules = [name for name in names[1:] if name in modules]
                # ``from a import b, c``: the submodules named, else the module itself.
                names = submodules if len(submodules) == len(names) - 1 else [names[0], *submodules]
            edges.update(name for name in names if name in modules and name != module)
        graph[module] = edges
    return graph


def cycles_find(graph: dict[str, set[str]]) -> list[tuple[set[str], list[str]]]:
    """Each strongly connected component of more than one module (Tarjan),
    with one of its cycles (a list of modules, the first repeated at the end)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [(component, _cycle_in(graph, component)) for component in components]


def _cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest path from the component's first module back to itself."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & component):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError(f"no cycle through {start}")  # a component always has one


def _report(found: list[tuple[set[str], list[str]]]) -> str:
    lines = []
    for component, cycle in found:
        line = "  " + " -> ".join(cycle)
        if len(component) > len(cycle) - 1:
            line += f" (one of the cycles among {', '.join(sorted(component))})"
        lines.append(line)
    return "import cycles:\n" + "\n".join(lines)


def test_the_project_has_no_import_cycle():
    found = cycles_find(import_graph())
    assert not found, _report(found)


def test_imports_inside_functions_are_walked():
    graph = import_graph()
    # newsletter.apps imports config.lib.lookups inside ready().
    assert "config.lib.lookups" in graph["newsletter.apps"]
    graph = {"a": {"b"}, "b": {"c", "a"}, "c": {"a"}, "d": {"a"}}
    assert cycles_find(graph) == [({"a", "b", "c"}, ["a", "b", "a"])]
