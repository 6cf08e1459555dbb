"""The package's shape, checked from its source (no imports): layers, cycles, module sizes, private names.

The rules are those of ARCHITECTURE.md: a subpackage imports only the layers below it (imports inside
functions count too; ``if TYPE_CHECKING:`` blocks do not), no import cycle between modules, no module
over 900 lines, at most a dozen modules at the package root, and no private name (``_x``) imported
from another subpackage.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "hlamatch"

#: The layers, lowest first.  A module may import from its own layer and from any layer below.
#: ``root`` is the package's own modules (errors, constants, _jit, ...), shared by every layer.
LAYERS = ("root", "kernels", "engine", "hla", "table", "io", "results", "compute", "api", "cli")


def _modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        parts = list(p.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _imports(name: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(target module, imported names, line) of every intra-package import outside TYPE_CHECKING blocks."""
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    found: list[tuple[str, list[str], int]] = []

    def visit(node: ast.AST) -> None:
        for ch in ast.iter_child_nodes(node):
            if isinstance(ch, ast.If) and "TYPE_CHECKING" in ast.unparse(ch.test):
                continue
            if isinstance(ch, ast.ImportFrom):
                if ch.level:
                    base = name.split(".") if is_pkg else name.split(".")[:-1]
                    base = base[: len(base) - (ch.level - 1)]
                    target = ".".join(base + ([ch.module] if ch.module else []))
                else:
                    target = ch.module or ""
                if target == "hlamatch" or target.startswith("hlamatch."):
                    found.append((target, [a.name for a in ch.names], ch.lineno))
            elif isinstance(ch, ast.Import):
                for a in ch.names:
                    if a.name.startswith("hlamatch"):
                        found.append((a.name, [], ch.lineno))
            visit(ch)

    visit(tree)
    return found


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (PKG / parts[1]).is_dir()) else "root"


MODULES = _modules()


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        for target, names, _ in _imports(name, path):
            targets = [target] + [f"{target}.{n}" for n in names]
            for t in targets:
                if t in MODULES and t != name and not name.startswith(t + "."):
                    edges.setdefault(name, set()).add(t)
    return edges


def test_no_import_cycles() -> None:
    edges = _edges()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in MODULES:
        if v not in index:
            strong(v)
    assert cycles == []


def test_layers_import_only_downwards() -> None:
    bad = []
    for name, path in MODULES.items():
        mine = _layer(name)
        if name in ("hlamatch", "hlamatch.__main__"):  # the lazy public API (nothing at import time); `python -m`
            continue
        for target, _, line in _imports(name, path):
            theirs = _layer(target) if target != "hlamatch" else "root"
            if LAYERS.index(theirs) > LAYERS.index(mine):
                bad.append(f"{path.relative_to(PKG.parent)}:{line} ({mine}) imports {target} ({theirs})")
    assert bad == []


def test_no_private_names_across_subpackages() -> None:
    bad = []
    for name, path in MODULES.items():
        for target, names, line in _imports(name, path):
            if _layer(target) == _layer(name) and _layer(name) != "root":
                continue
            if _layer(target) == "root" and _layer(name) == "root":
                continue
            for n in names:
                if n.startswith("_") and not n.startswith("__"):
                    bad.append(f"{path.relative_to(PKG.parent)}:{line} imports {n} from {target}")
    assert bad == []


def test_module_sizes_and_root() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in MODULES.items()}
    assert {n: s for n, s in sizes.items() if s > 900} == {}
    root = [n for n, p in MODULES.items() if n.count(".") == 1 and p.name != "__init__.py"]
    assert len(root) <= 12, root
    subpackages = {n.split(".")[1] for n, p in MODULES.items() if p.name == "__init__.py" and n != "hlamatch"}
    assert set(LAYERS) - {"root"} <= subpackages | {"root"}, subpackages


@pytest.mark.parametrize("layer", [x for x in LAYERS if x != "root"])
def test_every_layer_is_a_subpackage(layer: str) -> None:
    assert (PKG / layer / "__init__.py").is_file()
