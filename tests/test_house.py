"""House rules a newcomer relies on: modules stay short enough to read in one sitting
(≤ 400 lines) and functions short enough to hold in one's head (≤ 60 lines; numba kernels
excepted: a fused loop reads best in one piece)."""

from __future__ import annotations

import ast

from tests.test_layers import LAYERS, ROOT

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _sources() -> list[tuple[str, str]]:
    out = []
    for pkg in LAYERS:
        folder = ROOT / pkg
        if folder.is_dir():
            out += [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8"))
                    for p in sorted(folder.rglob("*.py"))]
    return out


def test_modules_are_short() -> None:
    long = [f"{name}: {src.count(chr(10))} lines" for name, src in _sources()
            if src.count("\n") > MAX_MODULE_LINES]
    assert not long, long


def test_functions_are_short() -> None:
    long = []
    for name, src in _sources():
        for node in ast.walk(ast.parse(src)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if any("jit" in ast.unparse(d) for d in node.decorator_list):
                continue
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                long.append(f"{name}:{node.lineno} {node.name}() {lines} lines")
    assert not long, long


def test_every_package_is_installed() -> None:
    """``pip install -e .`` maps only the packages pyproject lists; one left out imports in
    the tests (run from the root) but not in ``cxpulse run`` (the installed script)."""
    import tomllib

    listed = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = listed["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    missing = sorted(p for p in packages if f"{p}*" not in include)
    assert not missing, f"add to [tool.setuptools.packages.find] include: {missing}"
    assert packages <= set(LAYERS), sorted(packages - set(LAYERS))
