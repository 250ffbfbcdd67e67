"""Imports run one way (casework -> reporting -> evidence); only evidence touches crypto."""

from __future__ import annotations

import ast

import pytest

from tests.processes import REPO

FORBIDDEN = {
    "evidence": {"reporting", "casework"},
    "reporting": {"casework", "cryptography"},
    "casework": {"cryptography"},
    "config": {"cryptography"},
    # The HTTP kernel every app may use: it uses the sealing kernel, never an app.
    "web": {"reporting", "casework", "cryptography"},
}


def imported_roots(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module.split(".")[0]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_the_layering_allows(package):
    offences = [
        f"{path.relative_to(REPO)}:{line} imports {root}"
        for path in sorted((REPO / package).rglob("*.py"))
        for line, root in imported_roots(path)
        if root in FORBIDDEN[package]
    ]
    assert offences == []


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
    for app in ("casework", "reporting", "evidence", "config"):
        root = REPO / app
        yield from root.glob("views*.py")
        yield from (root / "views").glob("*.py")
        yield from root.glob("api*.py")
        yield from root.glob("auth.py")  # the sign-in middleware


def test_no_view_writes_an_audit_row_itself():
    # Audit rows are written by services, in the transaction of the act they record
    # (casework/audit.py); a view that writes one has an act outside its service.
    offences = [
        f"{path.relative_to(REPO)}:{line}"
        for path in sorted(_views_and_middleware())
        for line in _audit_writes(path)
    ]
    assert offences == []


def test_the_audit_write_check_finds_one(tmp_path):
    view = tmp_path / "views.py"
    view.write_text("from casework import audit\ndef v(request):\n    audit.record(1, 'x')\n")
    assert list(_audit_writes(view)) == [3]
