"""The house's rules (DESIGN.md "Layers and apps"), read from the code's imports.

Imports run one way: config -> {observatory, bundles} -> casework -> reporting ->
evidence, and any app may use the HTTP kernel in web/.  Where today's code still breaks
a rule, the rule's allow-list names each offence; the list only ever shrinks (a listed
offence that is gone fails too, so the list stays true).  The standalone bundle verifier's
own rule (the standard library and cryptography only) is in
tests/evidence/test_bundle_verifier.py.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tests.support.processes import REPO

APPS = ("web", "evidence", "reporting", "casework", "observatory", "bundles", "demo")
SHIPPING = ("config", *APPS)

FORBIDDEN = {
    "evidence": {"web", "reporting", "casework", "observatory", "bundles", "demo"},
    "reporting": {"casework", "observatory", "bundles", "demo", "cryptography"},
    "casework": {"observatory", "bundles", "demo", "cryptography"},
    "observatory": {"bundles", "demo", "cryptography"},
    "bundles": {"observatory", "demo", "cryptography"},
    # The demo data of a local run: it uses the product's services, nothing uses it.
    "demo": {"observatory", "bundles", "cryptography"},
    "config": {"cryptography"},
    # The HTTP kernel every app may use: it uses the sealing kernel, never an app.
    "web": {"reporting", "casework", "observatory", "bundles", "demo", "cryptography"},
}


def shipping_files():
    for package in SHIPPING:
        for path in sorted((REPO / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path):
    """(line, absolute module, names) for every import in ``path``, function-local ones
    included: an import inside a function closes a circle as surely as one at the top."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, module] if module else base)
            yield node.lineno, module, tuple(alias.name for alias in node.names)


def offences(check) -> list[str]:
    """``check(path, module, names)`` -> what ``path`` did wrong, or None."""
    found = []
    for path in shipping_files():
        for _, module, names in imports(path):
            offence = check(path, module, names)
            if offence:
                found.append(f"{path.relative_to(REPO)} {offence}")
    return sorted(set(found))


def top(path: Path) -> str:
    return path.relative_to(REPO).parts[0]


def assert_only_allowed(found: list[str], allowed: set[str]) -> None:
    assert sorted(set(found) - allowed) == [], "a new offence against the rule"
    assert sorted(allowed - set(found)) == [], "gone: remove it from the allow-list"


# --- one way down ---------------------------------------------------------------------


def _against_the_direction(path, module, names):
    if module.split(".")[0] in FORBIDDEN.get(top(path), ()):
        return f"imports {module}"
    return None


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_the_layering_allows(package):
    found = offences(_against_the_direction)
    assert [offence for offence in found if offence.startswith(f"{package}/")] == []


# Tasks are sent by name (``current_app.send_task("casework.tasks.run_step", ...)``):
# a module that imports a tasks module to enqueue closes a circle through it.
TASKS_IMPORTED_ALLOWED: set[str] = set()


def _imports_tasks(path, module, names):
    targets = [module, *(f"{module}.{name}" for name in names)]
    for target in targets:
        ours = target.endswith(".tasks") and target.split(".")[0] in SHIPPING
        if ours and module_name(path) != target:
            return f"imports {target}"
    return None


def test_only_a_tasks_module_imports_itself():
    assert_only_allowed(offences(_imports_tasks), TASKS_IMPORTED_ALLOWED)


# config/ is wiring: settings, URLs (by dotted string), the Celery app, WSGI.  An app
# imported by config makes config both the top and the bottom of the house.
CONFIG_IMPORTS_ALLOWED: set[str] = set()


def _config_imports_an_app(path, module, names):
    if top(path) == "config" and module.split(".")[0] in APPS:
        return f"imports {module}"
    return None


def test_config_imports_no_app():
    assert_only_allowed(offences(_config_imports_an_app), CONFIG_IMPORTS_ALLOWED)


# Apps take the HTTP kernel (CSRF, rate limits, parsers, schema hooks) from web/.
APPS_IMPORT_CONFIG_ALLOWED: set[str] = set()


def _app_imports_config(path, module, names):
    if top(path) in APPS and module.split(".")[0] == "config":
        return f"imports {module}"
    return None


def test_apps_import_the_http_kernel_from_web():
    assert_only_allowed(offences(_app_imports_config), APPS_IMPORT_CONFIG_ALLOWED)


# --- inside the apps -----------------------------------------------------------------

# A name with a leading underscore is its module's own business.
PRIVATE_IMPORTS_ALLOWED: set[str] = set()


def _imports_private_names(path, module, names):
    private = [n for n in names if n.startswith("_") and not n.startswith("__")]
    return f"imports {module}: {', '.join(private)}" if private else None


def test_no_module_imports_another_modules_private_names():
    assert_only_allowed(offences(_imports_private_names), PRIVATE_IMPORTS_ALLOWED)


# The API answers from services and selectors; HTML views are the other door, not its
# helpers.
API_IMPORTS_VIEWS_ALLOWED: set[str] = set()


def _api_imports_views(path, module, names):
    ours = module.split(".")[0] in SHIPPING
    if path.name.startswith("api") and ours and ".views" in f".{module}":
        return f"imports {module}"
    return None


def test_the_api_does_not_import_the_html_views():
    assert_only_allowed(offences(_api_imports_views), API_IMPORTS_VIEWS_ALLOWED)


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(path): path for path in shipping_files()}

    def known(name):
        while name and name not in paths:
            name = name.rpartition(".")[0]
        return name

    graph = defaultdict(set)
    for name, path in paths.items():
        for _, module, names in imports(path):
            for target in [f"{module}.{n}" for n in names] or [module]:
                found = known(target if target in paths else module)
                if found and found != name:
                    graph[name].add(found)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


CIRCLES_ALLOWED: set[str] = set()


def test_no_import_circle():
    found = {" ".join(component) for component in circles(import_graph())}
    assert_only_allowed(found, CIRCLES_ALLOWED)


def test_each_rule_finds_its_offence(tmp_path, monkeypatch):
    # The allow-lists are empty: a rule whose check found nothing would pass for ever.
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    for path, source in {
        "evidence/keys.py": "from reporting.models import Report\n",
        "casework/workflow.py": "def send():\n    from casework.tasks import run_step\n",
        "casework/tasks.py": "from casework import workflow\n",
        "config/urls.py": "from casework.views import cases\n",
        "reporting/views.py": "from config.ratelimit import too_many\n",
        "bundles/services.py": "from casework.services.cases import _worker, open_case\n",
        "casework/api.py": "from .views.cases import page\n",
    }.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(source)
    assert offences(_against_the_direction) == ["evidence/keys.py imports reporting.models"]
    assert offences(_imports_tasks) == ["casework/workflow.py imports casework.tasks"]
    assert offences(_config_imports_an_app) == ["config/urls.py imports casework.views"]
    assert offences(_app_imports_config) == ["reporting/views.py imports config.ratelimit"]
    assert offences(_imports_private_names) == [
        "bundles/services.py imports casework.services.cases: _worker"
    ]
    assert offences(_api_imports_views) == ["casework/api.py imports casework.views.cases"]
    assert circles(import_graph()) == [["casework.tasks", "casework.workflow"]]


def test_the_circle_finder_finds_one():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


# --- audit rows are written by services ----------------------------------------------


def _audit_writes(path):
    """Lines of ``path`` that write an audit row: audit.record(...), or record(...)
    imported from casework.audit."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "casework.audit"
        for alias in node.names
        if alias.name == "record"
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name.endswith("audit.record") or name in imported:
                yield node.lineno


def _views_and_middleware():
    for app in SHIPPING:
        root = REPO / app
        yield from root.glob("views*.py")
        yield from root.rglob("views/*.py")
        yield from root.rglob("api*.py")
        yield from root.glob("auth.py")  # the sign-in middleware
        yield from root.glob("middleware.py")


def test_no_view_writes_an_audit_row_itself():
    # Audit rows are written by services, in the transaction of the act they record
    # (casework/audit.py); a view that writes one has an act outside its service.
    offences = [
        f"{path.relative_to(REPO)}:{line}"
        for path in sorted(set(_views_and_middleware()))
        for line in _audit_writes(path)
    ]
    assert offences == []


def test_the_audit_write_check_finds_one(tmp_path):
    view = tmp_path / "views.py"
    view.write_text("from casework import audit\ndef v(request):\n    audit.record(1, 'x')\n")
    assert list(_audit_writes(view)) == [3]
