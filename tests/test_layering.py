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
