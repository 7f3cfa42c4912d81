"""The house rules of the import graph: layers only import downwards, and no cycles.

Layers (lowest first): ``dsp``, ``stream`` and ``text`` are pure foundations and import no
other package; ``alerting``, ``voice``, ``archive`` and ``cases`` build on them; ``server``,
``dashboards`` and ``simulators`` on those; ``cxpulse`` (config, CLI, process assembly) is
the only package that may import everything. Packages of one layer do not import each
other, so each can be read, tested and replaced alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS: dict[str, int] = {
    "dsp": 0, "stream": 0, "text": 0,
    "alerting": 1, "voice": 1, "archive": 1, "cases": 1,
    "server": 2, "dashboards": 2, "simulators": 2, "digests": 2,
    "cxpulse": 3,
}
# what each foundation may use of the others (a foundation is otherwise self-contained)
FOUNDATION_USES: dict[str, frozenset[str]] = {"stream": frozenset(), "dsp": frozenset(),
                                              "text": frozenset()}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for pkg in LAYERS:
        for path in sorted((ROOT / pkg).rglob("*.py")) if (ROOT / pkg).is_dir() else []:
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Project modules imported anywhere in the file (also inside functions and
    ``TYPE_CHECKING`` blocks: a cycle there is still a cycle of concepts)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import mod`` depends on pkg.mod; ``from pkg import name`` on pkg
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                       for a in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def _graph() -> dict[str, set[str]]:
    known = _modules()
    return {name: _imports(name, path, known) for name, path in known.items()}


def test_no_import_from_a_higher_or_sibling_layer() -> None:
    bad = []
    for mod, deps in _graph().items():
        top = mod.split(".")[0]
        for dep in deps:
            other = dep.split(".")[0]
            if other == top:
                continue
            allowed = (other in FOUNDATION_USES[top] if top in FOUNDATION_USES
                       else LAYERS[other] < LAYERS[top])
            if not allowed:
                bad.append(f"{mod} imports {dep}")
    assert not bad, "imports against the layering:\n" + "\n".join(sorted(bad))


def test_no_import_cycles() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_checker_sees_imports() -> None:
    """Guard against a vacuous pass: known edges are found."""
    graph = _graph()
    assert "stream.events" in graph["stream.engine"]
    assert any(d.startswith("server.") for d in graph["cxpulse.components"])


def test_tests_import_helpers_not_conftests() -> None:
    """Shared test code lives in ``tests/support``; a conftest only holds fixtures."""
    offenders = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "tests").rglob("*.py"))
                 if "conftest import" in p.read_text(encoding="utf-8")
                 and p.name != "test_layers.py"]
    assert not offenders, offenders
