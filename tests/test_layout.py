"""The package's structure: no import circle, and optional extras never imported by ``import vecnet``.

The import graph is read from the source with :mod:`ast`, imports inside
functions included, so that a circle cannot hide behind a deferred import.
"""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "vecnet"


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path, name, modules):
    """The vecnet modules ``path`` (module ``name``) imports, anywhere in its body.

    ``from package import module`` counts as importing ``module`` alone, as a
    submodule always finds its package's ``__init__`` already running.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "vecnet")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "vecnet":
                continue
            subs = {f"{target}.{a.name}" for a in node.names} & modules
            found.update(subs if len(subs) == len(node.names) else subs | {target})
    return found


def import_graph():
    """``{module: set of vecnet modules it imports}`` over every module of the package."""
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {t for t in _imports(path, name, set(paths)) if t in paths and t != name}
            for name, path in paths.items()}


def _circles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_reader_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circles(graph) == [["a", "b", "c"]]


def test_the_package_has_no_import_circle():
    graph = import_graph()
    assert "vecnet.network" in graph and "vecnet.io" in graph["vecnet.network"]
    assert _circles(graph) == []


def test_import_vecnet_loads_no_optional_extra():
    code = ("import sys, vecnet; "
            "print(sorted(m for m in ('sklearn', 'torch', 'onnx', 'onnxruntime', 'dask', 'distributed', "
            "'matplotlib', 'tqdm', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent)
    assert out.stdout.strip() == "[]"
