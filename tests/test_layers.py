"""The packages stack in layers; every import goes down them, and no modules import each other.

Bottom up: ``service.bilingual`` and ``service.canonical`` (plain helpers), ``service.contract``
(the request and response models), ``service.tlog`` (the transparency log), ``service.engine``
(the rules; it imports only the contract and the helpers), the schema generator, ``service.store``
(persistence; it imports neither the engine nor the HTTP layer), ``service.caseload`` (caseloads,
over the engine), ``service.api`` (the HTTP API: the engine and the store), ``service.console``
(pages over the API's actions), ``service.app`` (the one application: the API, the caseload's
router and the console), and at the top ``service.cli``, which imports the sub-commands of the
packages below it (``serve`` runs the application by name, not by import).

The imports are read from the source (``ast``), those inside functions and ``TYPE_CHECKING``
blocks too: an import deferred to run time is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Each layer: its name and the modules in it (a name covers the module and everything under it).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("helpers", ("service", "service.bilingual", "service.canonical")),
    ("contract", ("service.contract",)),
    ("tlog", ("service.tlog",)),
    ("engine", ("service.engine", "service.explain")),
    ("schemas", ("service.schemas",)),
    ("store", ("service.store",)),
    ("caseload", ("service.caseload", "service.synthetic")),
    ("api", ("service.api",)),
    ("console", ("service.console",)),
    ("app", ("service.app",)),
    ("cli", ("service.cli",)),
)
RANK = {name: rank for rank, (name, _) in enumerate(LAYERS)}

# What each layer may import besides itself; anything else is refused, even a lower layer (the
# store never reads the engine, nor the engine the transparency log).
ALLOWED: dict[str, frozenset[str]] = {
    "helpers": frozenset(),
    "contract": frozenset({"helpers"}),
    "tlog": frozenset({"helpers", "contract"}),
    "engine": frozenset({"helpers", "contract"}),
    "schemas": frozenset({"helpers", "contract", "engine"}),
    "store": frozenset({"helpers", "contract", "tlog"}),
    "caseload": frozenset({"helpers", "contract", "engine"}),
    "api": frozenset({"helpers", "contract", "tlog", "engine", "store"}),
    "console": frozenset({"helpers", "contract", "engine", "store", "api"}),
    "app": frozenset({"helpers", "engine", "api", "console", "caseload"}),
    "cli": frozenset(RANK) - {"app"},
}
# The application takes one thing from the caseload package: its router.
APP_FROM_CASELOAD = frozenset({"service.caseload.http"})

# Modules that another part of the same change straightens; each mark goes when it has.
PENDING: dict[tuple[str, str], str] = {}


def layer_of(module: str) -> str:
    """The layer of a module; ``python -m`` files (``__main__``) are programs, at the top."""
    if module.rsplit(".", 1)[-1] == "__main__":
        return "cli"
    best: tuple[str, str] | None = None
    for name, prefixes in LAYERS:
        for prefix in prefixes:
            inside = module == prefix or module.startswith(prefix + ".")
            if inside and (best is None or len(prefix) > len(best[1])):
                best = (name, prefix)
    if best is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS in tests/test_layers.py")
    return best[0]


class Source:
    """The ``service`` package under ``root``: its modules and what each imports."""

    def __init__(self, root: Path):
        self.root = root

    @cached_property
    def modules(self) -> dict[str, Path]:
        found = {}
        for path in sorted((self.root / "service").rglob("*.py")):
            parts = path.relative_to(self.root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
        return found

    @cached_property
    def imports(self) -> dict[str, list[tuple[str, int, tuple[str, ...]]]]:
        """module → (imported module, line, names taken from it) for each import of ``service``."""
        return {module: list(self._imports(module, path)) for module, path in self.modules.items()}

    def _imports(self, module: str, path: Path) -> Iterator[tuple[str, int, tuple[str, ...]]]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found = [(alias.name, ()) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = self._absolute(module, path, node)
                found = [
                    (f"{source}.{alias.name}", ())  # `from service.api import commands`
                    if f"{source}.{alias.name}" in self.modules
                    else (source, (alias.name,))
                    for alias in node.names
                ]
            else:
                continue
            for name, names in found:
                if name in self.modules:
                    yield name, node.lineno, names

    @staticmethod
    def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        parts = package.split(".")[: len(package.split(".")) - node.level + 1]
        return ".".join([*parts, *([node.module] if node.module else [])])

    def cycle_through(self, start: str) -> list[str] | None:
        """A shortest import cycle through ``start`` (breadth first), or None."""
        parent: dict[str, str] = {}
        frontier = [start]
        while frontier:
            following = []
            for module in frontier:
                for target, _, _ in self.imports[module]:
                    if target == start and module != start:
                        path = [module]
                        while path[-1] in parent:
                            path.append(parent[path[-1]])
                        return [*reversed(path), start]
                    if target not in parent and target != start:
                        parent[target] = module
                        following.append(target)
            frontier = following
        return None

    def layer_problems(self, module: str) -> list[str]:
        layer = layer_of(module)
        problems = []
        for target, line, names in self.imports[module]:
            to = layer_of(target)
            where = f"{module} line {line} imports {target}"
            if RANK[to] > RANK[layer]:
                problems.append(f"{where}: up from layer {layer} to layer {to}")
            elif to != layer and to not in ALLOWED[layer]:
                problems.append(f"{where}: layer {layer} may not import layer {to}")
            elif layer == "app" and to == "caseload" and target not in APP_FROM_CASELOAD:
                problems.append(f"{where}: the application takes only the caseload's router")
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private and target != module:
                problems.append(f"{where}: its private names {', '.join(private)}")
        return problems


SERVICE = Source(ROOT)


def _each_module(check: str) -> list[object]:
    return [
        pytest.param(
            module,
            id=module,
            marks=[pytest.mark.xfail(reason=PENDING[check, module], strict=True)]
            if (check, module) in PENDING
            else [],
        )
        for module in SERVICE.modules
    ]


@pytest.mark.parametrize("module", _each_module("layers"))
def test_imports_go_down_the_layers(module: str) -> None:
    assert SERVICE.layer_problems(module) == []


@pytest.mark.parametrize("module", _each_module("cycle"))
def test_no_import_cycle(module: str) -> None:
    cycle = SERVICE.cycle_through(module)
    assert cycle is None, " -> ".join(cycle or [])


def test_the_command_line_imports_its_sub_commands() -> None:
    imported = {target for target, _, _ in SERVICE.imports["service.cli"]}
    assert {"service.api.commands", "service.caseload.commands"} <= imported


def test_the_checks_find_an_upward_import_a_cycle_and_a_private_name(tmp_path: Path) -> None:
    files = {
        "service/__init__.py": "",
        "service/engine/__init__.py": "",
        "service/engine/rules.py": "from service.app import create_app\n",
        "service/store/__init__.py": "",
        "service/store/a.py": "def f():\n    from service.store import b\n",
        "service/store/b.py": "from . import c\n",
        "service/store/c.py": "import service.store.a\nfrom service.engine import rules\n",
        "service/api/__init__.py": "",
        "service/app.py": "from service.caseload.run import go\n",
        "service/caseload/__init__.py": "",
        "service/engine/util.py": "_hidden = 1\n",
        "service/caseload/run.py": "from service.engine.util import _hidden\ngo = 1\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    source = Source(tmp_path)
    assert source.layer_problems("service.engine.rules") == [
        "service.engine.rules line 1 imports service.app: up from layer engine to layer app"
    ]
    assert source.layer_problems("service.store.c") == [
        "service.store.c line 2 imports service.engine.rules: layer store may not import layer"
        " engine"
    ]
    assert source.layer_problems("service.app") == [
        "service.app line 1 imports service.caseload.run: the application takes only the"
        " caseload's router"
    ]
    assert source.layer_problems("service.caseload.run") == [
        "service.caseload.run line 1 imports service.engine.util: its private names _hidden"
    ]
    assert source.cycle_through("service.store.a") == [
        "service.store.a",
        "service.store.b",
        "service.store.c",
        "service.store.a",
    ]
    assert source.cycle_through("service.engine.rules") is None  # up, but no way back


# --- one place per thing ------------------------------------------------------------------------


def _defining(name: str) -> set[str]:
    """The modules that define a top-level function ``name``."""
    return {
        module
        for module, path in SERVICE.modules.items()
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.FunctionDef) and node.name == name
    }


def _saying(text: str) -> set[str]:
    """The modules with the string constant ``text`` in their code."""
    return {
        module
        for module, path in SERVICE.modules.items()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and node.value == text
    }


@pytest.mark.parametrize(
    ("function", "home"),
    [
        ("canonical_json", "service.canonical"),
        ("secret_from_headers", "service.api.auth"),
        ("rules_problem", "service.engine.decider"),
    ],
)
def test_one_definition(function: str, home: str) -> None:
    assert _defining(function) == {home}


# The caseload's own refusal of a record (its wording names the jurisdiction asked for) is moved
# onto rules_problem by the other part of this change.
@pytest.mark.parametrize("error_type", ["unknown_jurisdiction", "before_first_version"])
def test_the_no_rules_errors_are_built_in_one_place(error_type: str) -> None:
    assert _saying(error_type) == {"service.engine.decider"}


def test_every_http_error_body_is_built_in_the_errors_module() -> None:
    # Problems and {"errors": ...} bodies: nowhere in the HTTP layer but service.api.errors (the
    # handlers raise a Refusal it made), nor in the caseload's router.
    found = []
    for module, path in SERVICE.modules.items():
        if not module.startswith("service.api") and module != "service.caseload.http":
            continue
        if module == "service.api.errors":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict) and any(
                isinstance(k, ast.Constant) and k.value == "errors" for k in node.keys
            ):
                found.append(f"{module} line {node.lineno}: an error body")
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "problem"
                and module.startswith("service.api")
            ):
                found.append(f"{module} line {node.lineno}: a problem")
    assert found == []
