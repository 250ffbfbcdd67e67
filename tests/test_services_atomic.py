"""Every service that writes an audit row runs in one transaction with it: the act and
its row commit together or not at all (casework/audit.py).  A `@transaction.atomic`
that slid onto a helper once left `add_note` outside any transaction, so a note could
be kept without its row; the structural check below walks every service module so that
it cannot slide again unseen, and the rollback tests make the audit write fail inside
real calls and look at what was kept."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from casework import audit, services
from casework.models import AuditEvent, Case, CaseNote
from reporting.models import Message
from tests.support.cast import file_report
from tests.support.processes import REPO

SERVICE_MODULES = sorted(
    [
        *(REPO / "casework" / "services").glob("*.py"),
        REPO / "bundles" / "services.py",
        REPO / "bundles" / "recipients.py",
        REPO / "bundles" / "build.py",
        *(REPO / "reporting" / "services").glob("*.py"),
        REPO / "evidence" / "services.py",
        REPO / "observatory" / "services.py",
    ]
)


def _is_atomic(node: ast.expr) -> bool:
    text = ast.unparse(node)
    return text in {"transaction.atomic", "atomic"} or text.startswith(
        ("transaction.atomic(", "atomic(")
    )


def _called_name(call: ast.Call) -> str:
    return ast.unparse(call.func)


class _AuditCalls(ast.NodeVisitor):
    """The calls in one function that write an audit row, each with whether it sits
    inside a `with transaction.atomic()` block of that function."""

    def __init__(self, writers: set[str]) -> None:
        self.writers = writers
        self.depth = 0
        self.calls: list[tuple[int, str, bool]] = []

    def visit_With(self, node: ast.With) -> None:
        atomic = any(_is_atomic(item.context_expr) for item in node.items)
        for item in node.items:
            self.visit(item.context_expr)
        self.depth += atomic
        for statement in node.body:
            self.visit(statement)
        self.depth -= atomic

    def visit_Call(self, node: ast.Call) -> None:
        name = _called_name(node)
        if name == "audit.record" or name in self.writers:
            self.calls.append((node.lineno, name, self.depth > 0))
        self.generic_visit(node)

    # A nested function or lambda runs later, outside this frame's transaction: its
    # calls are not this function's.
    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        return None

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef


def _functions(path: Path) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _calls(node: ast.FunctionDef, writers: set[str]) -> list[tuple[int, str, bool]]:
    visitor = _AuditCalls(writers)
    for statement in node.body:
        visitor.visit(statement)
    return visitor.calls


def _outside_a_transaction(path: Path, root: Path = REPO) -> list[str]:
    """Public functions of a service module that write an audit row (themselves or
    through a helper of the module) somewhere no transaction covers: neither their own
    (a decorator, a `with` block) nor that of the helper they call."""
    functions = _functions(path)
    writers: set[str] = set()
    while found := {n for n, f in functions.items() if n not in writers and _calls(f, writers)}:
        writers |= found  # helpers that write, through helpers that write...

    def uncovered(name: str, safe: set[str]) -> list[tuple[int, str]]:
        if any(_is_atomic(d) for d in functions[name].decorator_list):
            return []
        return [
            (line, called)
            for line, called, covered in _calls(functions[name], writers)
            if not covered and called not in safe
        ]

    safe: set[str] = set()
    while found := {n for n in writers - safe if not uncovered(n, safe)}:
        safe |= found
    return [
        f"{path.relative_to(root)}:{line} {name}() calls {called} outside a transaction"
        for name in sorted(writers - safe)
        if not name.startswith("_")  # a helper is judged through the services calling it
        for line, called in uncovered(name, safe)
    ]


def test_the_scan_finds_the_services_that_write_audit_rows():
    # A scan that found nothing would pass whatever the code did.
    writers = {
        name
        for path in SERVICE_MODULES
        for name, node in _functions(path).items()
        if "audit.record(" in ast.unparse(node) and not name.startswith("_")
    }
    assert {"add_note", "change_status", "set_tags", "reply_to_reporter"} <= writers
    assert {"request_bundle", "approve_bundle", "add_recipient", "interrupted"} <= writers


def test_an_unprotected_audit_write_is_found(tmp_path):
    # The shape of the defect: the decorator on the helper above the service.
    module = tmp_path / "services.py"
    module.write_text(
        "from django.db import transaction\n"
        "@transaction.atomic\n"
        "def _check(x):\n"
        "    pass\n"
        "def _log(actor):\n"
        "    audit.record(actor, 'x')\n"
        "def act(x, *, actor):\n"
        "    _check(x)\n"
        "    _log(actor)\n"
        "@transaction.atomic\n"
        "def fine(x, *, actor):\n"
        "    _log(actor)\n"
        "def also_fine(x, *, actor):\n"
        "    with transaction.atomic():\n"
        "        audit.record(actor, 'y')\n",
        encoding="utf-8",
    )
    found = [o.split(" ", 1)[1] for o in _outside_a_transaction(module, tmp_path)]
    assert found == ["act() calls _log outside a transaction"]


@pytest.mark.parametrize("path", SERVICE_MODULES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_service_writes_its_audit_row_in_its_own_transaction(path):
    assert _outside_a_transaction(path) == []


class _AuditDown(Exception):
    """The audit write failed (a full disk, a lost connection, the chain's lock)."""


@pytest.fixture
def failing_audit(monkeypatch):
    def fail(*args, **kwargs):
        raise _AuditDown

    monkeypatch.setattr(audit, "record", fail)


@pytest.mark.django_db
def test_a_note_whose_audit_row_fails_is_not_kept(cast, failing_audit):
    report, _ = file_report()
    case = report.case
    before = Case.objects.values_list("last_activity_at", flat=True).get(pk=case.pk)

    with pytest.raises(_AuditDown):
        services.add_note(case, "Appelé la plateforme, ticket 4411", actor=cast.users["alice"])

    assert not CaseNote.objects.filter(case=case).exists()
    assert Case.objects.values_list("last_activity_at", flat=True).get(pk=case.pk) == before
    assert not AuditEvent.objects.filter(action=audit.Action.NOTE_ADDED).exists()


@pytest.mark.django_db
def test_a_reply_whose_audit_row_fails_does_not_reach_her(cast, failing_audit):
    report, _ = file_report()
    before = Message.objects.filter(report=report).count()

    with pytest.raises(_AuditDown):
        services.reply_to_reporter(report.case, "Nous avons lu.", actor=cast.users["alice"])

    assert Message.objects.filter(report=report).count() == before


@pytest.mark.django_db
def test_a_status_change_whose_audit_row_fails_is_not_kept(cast, failing_audit):
    report, _ = file_report()

    with pytest.raises(_AuditDown):
        services.change_status(report.case, Case.Status.ACKNOWLEDGED, actor=cast.users["alice"])

    assert Case.objects.get(pk=report.case.pk).status == Case.Status.NEW
