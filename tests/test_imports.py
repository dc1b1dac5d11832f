"""The import graph of refsnn, read from the source with ``ast``.

* no import cycle between refsnn's modules (module-level imports);
* no import inside a function in ``refsnn/networks/``: every dependency is at the top
  of its module, where a reader sees it;
* every public class has exactly one defining module (re-exports are fine).
"""

import ast
import pathlib

import refsnn

ROOT = pathlib.Path(refsnn.__file__).parent


def modules():
    """{module name: parsed source} for every module of refsnn."""
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = (path, ast.parse(path.read_text(encoding="utf-8")))
    return found


def _imported(name, is_package, node, known):
    """The refsnn modules that the import statement ``node`` in module ``name`` names."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in known}
    package = name if is_package else name.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    base = (f"{package}.{node.module}" if node.module else package) if node.level else node.module
    targets = {f"{base}.{alias.name}" for alias in node.names} & set(known)  # from . import module
    return targets or ({base} & set(known))


def _top_level_imports(tree):
    """Import statements that run when the module is imported (not inside a def)."""
    stack, found = list(tree.body), []
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))
    return found


def import_graph():
    known = modules()
    return {name: set().union(*(_imported(name, path.name == "__init__.py", node, known)
                                for node in _top_level_imports(tree))) - {name}
            for name, (path, tree) in known.items()}


def find_cycle(graph):
    """One import cycle as a list of modules, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt, path + [nxt])
                if cycle:
                    return cycle
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node, [node])
            if cycle:
                return cycle
    return None


def test_no_import_cycle():
    """A package's ``__init__`` importing its submodules is not a cycle; a submodule
    importing another that imports it back is."""
    graph = {name: {m for m in deps if not name.startswith(m + ".")} for name, deps in import_graph().items()}
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph))}"


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_function_level_import_in_networks():
    late = []
    for name, (path, tree) in modules().items():
        if not name.startswith("refsnn.networks"):
            continue
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                late += [f"{name}:{node.lineno}" for node in ast.walk(fn) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert not late, f"imports inside functions: {late}"


def test_every_public_class_has_one_defining_module():
    homes = {}
    for name, (path, tree) in modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                homes.setdefault(node.name, []).append(name)
    twice = {cls: where for cls, where in homes.items() if len(where) > 1}
    assert not twice, f"classes defined in more than one module: {twice}"
