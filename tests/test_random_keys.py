"""Keys that carry no order (issue 16, item 3).

Sequential ids placed her acts between the staff's, whose audit rows have exact times: a
copy of the database bracketed her message within 6.7 s and a new report within 7.6 s.
Every row she makes, or that is made at her act, now has a random key; the order a page
needs (a conversation, a chain of custody, her files, the questions put to her) is a
position counted within its parent.  And the migration gave the rows already there
random keys without losing one link between them, or a link of the audit chain.
"""

from __future__ import annotations

import itertools
import string
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from casework import audit
from casework.models import CASE_REFERENCE, Case, WorkflowStep, case_reference
from evidence import services as evidence
from evidence.ids import RANDOM_ID_CEILING, RANDOM_ID_FLOOR, random_id
from evidence.models import CustodyEvent, EvidenceItem, SealedObject
from reporting import services as reporting
from reporting.models import ConsentRequest, Message, Report, ReporterKey, ReportEvidence
from tests.support.cast import file_report
from tests.support.uploading import jpeg, parse

# Every table whose rows she makes, or that are made at her act.
REPORTER_SIDE = [
    ReporterKey,
    Report,
    ReportEvidence,
    Message,
    ConsentRequest,
    SealedObject,
    EvidenceItem,
    CustodyEvent,
    Case,
    WorkflowStep,
]
N = 40


def kendall_tau(keys: list[int]) -> float:
    """Rank correlation between creation order (the list's order) and key order: 1 for
    keys that grow with time, about 0 for keys that tell nothing."""
    pairs = list(itertools.combinations(keys, 2))
    concordant = sum(1 for earlier, later in pairs if earlier < later)
    return (2 * concordant - len(pairs)) / len(pairs)


def test_every_reporter_side_table_has_a_random_key():
    for model in REPORTER_SIDE:
        assert model._meta.pk.default is random_id, model.__name__
        assert not model._meta.pk.get_internal_type().endswith("AutoField"), model.__name__


@pytest.mark.django_db
def test_no_reporter_side_table_can_be_ordered_by_creation_from_its_keys(cast, blob_root):
    """Forty reports, each with a file, then a forty-message conversation and forty
    questions, all through the real services.  For a sequence the rank correlation of
    key and creation order is 1; for each table here it must be what chance gives.
    Under chance, tau over 40 rows has a standard deviation of 0.11: a bound of 0.5 is
    4.5 of them (a false alarm about once in 150,000 runs per table)."""
    created: dict[str, list[int]] = {model.__name__: [] for model in REPORTER_SIDE}
    first = None
    for n in range(N):
        report, pending = file_report(files=((f"capture-{n}.txt", b"he wrote %d" % n),))
        first = first or (report, pending)
        item = report.evidence.get()
        created["ReporterKey"].append(report.reporter_id)
        created["Report"].append(report.pk)
        created["ReportEvidence"].append(ReportEvidence.objects.get(report=report).pk)
        created["SealedObject"].append(report.content_id)
        created["EvidenceItem"].append(item.pk)
        created["CustodyEvent"].append(item.custody.get().pk)
        created["Case"].append(report.case.pk)
        created["WorkflowStep"].append(report.case.workflow_steps.get().pk)
    report, _ = first
    for n in range(N):
        author = Message.Author.REPORTER if n % 2 else Message.Author.HELPER
        created["Message"].append(reporting.post_message(report, f"message {n}", author=author).pk)
    for n in range(N):
        question = reporting.ask_consent(
            report,
            service="legal",
            organization_name=f"Organisation {n}",
            recipient=cast.orgs["centre"].key_recipient,
        )
        created["ConsentRequest"].append(question.pk)

    taus = {name: kendall_tau(keys) for name, keys in created.items()}
    assert all(len(keys) == N for keys in created.values())
    assert all(RANDOM_ID_FLOOR <= k < RANDOM_ID_CEILING for ks in created.values() for k in ks)
    assert {name: tau for name, tau in taus.items() if abs(tau) >= 0.5} == {}
    # What the order now rests on is the position within her own report.
    assert list(report.messages.values_list("position", flat=True)) == list(range(1, N + 1))
    assert [q.organization_name for q in report.consent_requests.all()] == [
        f"Organisation {n}" for n in range(N)
    ]


@pytest.mark.django_db
def test_the_conversation_keeps_the_order_it_was_written_in(cast, blob_root):
    report, pending = file_report()
    said = []
    for n in range(12):
        author = Message.Author.REPORTER if n % 3 else Message.Author.HELPER
        reporting.post_message(report, f"message {n}", author=author)
        said.append((author, f"message {n}"))

    read = reporting.read_messages(report, pending.identity)

    assert [(m["author"], m["text"]) for m in read] == said


@pytest.mark.django_db
def test_her_files_and_each_chain_of_custody_keep_their_order(cast, blob_root):
    names = ["first.txt", "second.jpg", "third.txt", "fourth.txt"]
    report, pending = file_report(
        files=((names[0], b"one"), (names[1], jpeg()), (names[2], b"three"))
    )
    _, received, _ = parse(reporting.report_recipients(report), {"evidence": [(names[3], b"four")]})
    reporting.add_evidence(report, received.getlist("evidence"))

    items = list(report.evidence.all())
    assert [reporting.evidence_name(i, pending.identity) for i in items] == names
    assert [i.position for i in items] == [1, 2, 3, 4]

    photo = items[1]
    for bundle in ("bundle-1", "bundle-2"):
        evidence.add_custody(
            report.evidence.all(),
            action=CustodyEvent.Action.EXPORTED,
            actor="leila",
            at=datetime.now(UTC),
            detail={"bundle": bundle},
        )
    chain = list(photo.custody.all())
    assert [(e.position, e.action, e.detail.get("bundle")) for e in chain] == [
        (1, "received", None),
        (2, "working_copy_made", None),
        (3, "exported", "bundle-1"),
        (4, "exported", "bundle-2"),
    ]
    assert [e.position for e in items[0].custody.all()] == [1, 2, 3]


def test_a_case_reference_is_short_and_can_be_read_out():
    readable = set(string.digits + string.ascii_uppercase) - set("ILOU")
    seen = set()
    for key in [RANDOM_ID_FLOOR, RANDOM_ID_CEILING - 1, *(random_id() for _ in range(200))]:
        reference = case_reference(key)
        prefix, *groups = reference.split("-")
        assert prefix == "C"
        assert [len(g) for g in groups] == [4, 4, 3], reference
        assert set("".join(groups)) <= readable, reference
        assert CASE_REFERENCE.fullmatch(reference), reference  # what emails are searched for
        seen.add(reference)
    assert len(seen) == 202
    # Cases opened before keys were random keep the reference they were known by.
    assert case_reference(42) == "C-000042"
    assert CASE_REFERENCE.fullmatch("C-000042")


# --- the migration --------------------------------------------------------------------------

BEFORE = [
    ("evidence", "0003_sealed_objects_to_the_hour"),
    ("reporting", "0002_consent_requests"),
    ("casework", "0011_bundle_recipients"),
]
AFTER = [
    ("evidence", "0004_random_keys"),
    ("reporting", "0003_random_keys"),
    ("casework", "0012_random_keys"),
]
HOUR = datetime(2026, 11, 22, 14, tzinfo=UTC)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _old_rows(apps) -> dict:
    """A report as the old schema held it: her key, her words, two files with their
    custody, a conversation, a question, a case with a step, a note and a referral."""
    get = apps.get_model
    blobs = iter(f"{n:032x}" for n in itertools.count(1))

    def sealed():
        return get("evidence", "SealedObject").objects.create(
            blob_key=next(blobs), header=b"h", payload_size=1, created_at=HOUR
        )

    organization = get("casework", "Organization").objects.create(
        name="A", slug="a", kind="partner_association"
    )
    other = get("casework", "Organization").objects.create(
        name="B", slug="b", kind="listening_centre"
    )
    user = get("casework", "User").objects.create(username="alice")
    reporter = get("reporting", "ReporterKey").objects.create(
        lookup="lookup", key_recipient="age1x", sealed_key=b"k", created_at=HOUR
    )
    report = get("reporting", "Report").objects.create(
        reporter=reporter,
        category="sextortion",
        gbvims_type="psychological",
        region="oriental",
        language="fr",
        age_band="18_24",
        consent_share=False,
        consent_statistics=True,
        content=sealed(),
        created_at=HOUR,
    )
    Item, Custody = get("evidence", "EvidenceItem"), get("evidence", "CustodyEvent")
    items = []
    for n in range(2):
        item = Item.objects.create(
            original=sealed(),
            note=sealed(),
            kind="text",
            mime="text/plain",
            extension="txt",
            size=3,
            sha256=f"{n}" * 64,
            received_at=HOUR,
        )
        for action in ("received", "working_copy_refused", "exported"):
            Custody.objects.create(item=item, action=action, actor="x", at=HOUR)
        items.append(item)
    report.evidence.add(*items)
    Message = get("reporting", "Message")
    for author in ("reporter", "helper", "reporter"):
        Message.objects.create(report=report, author=author, body=sealed(), created_at=HOUR)
    question = get("reporting", "ConsentRequest").objects.create(
        report=report, service="legal", organization_name="B", recipient="age1y", asked_at=HOUR
    )
    case = get("casework", "Case").objects.create(
        report=report, organization=organization, opened_at=HOUR, sla_due_at=HOUR
    )
    get("casework", "WorkflowStep").objects.create(kind="new_case", case=case, created_at=HOUR)
    note = get("casework", "CaseNote").objects.create(
        case=case, author=user, body=sealed(), created_at=HOUR
    )
    referral = get("casework", "Referral").objects.create(
        case=case,
        from_organization=organization,
        to_organization=other,
        service="legal",
        reason=sealed(),
        state="awaiting_consent",
        referred_by=user,
        consent_request=question,
        created_at=HOUR,
    )
    # The audit log names the case and a file by their ids, and is hash-chained.
    audit.record(user, audit.Action.CASE_VIEWED, case=case.pk, organization=organization.pk)
    audit.record(
        user,
        audit.Action.EVIDENCE_VIEWED,
        case=case.pk,
        organization=organization.pk,
        detail={"item": items[0].pk},
    )
    return {
        "case": case.pk,
        "report_blob": report.content.blob_key,
        "note_blob": note.body.blob_key,
        "reason_blob": referral.reason.blob_key,
        "item_blobs": [i.original.blob_key for i in items],
        "message_blobs": list(
            Message.objects.order_by("pk").values_list("body__blob_key", flat=True)
        ),
    }


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_rows_random_keys_and_keeps_every_link(blob_root):
    try:
        old = _old_rows(_migrate(BEFORE))
        apps = _migrate(AFTER)
    finally:
        # Whatever happened, the rest of the suite runs on the latest schema.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    get = apps.get_model
    for label in [
        "evidence.SealedObject",
        "evidence.EvidenceItem",
        "evidence.CustodyEvent",
        "reporting.ReporterKey",
        "reporting.Report",
        "reporting.ReportEvidence",
        "reporting.Message",
        "reporting.ConsentRequest",
        "casework.WorkflowStep",
    ]:
        keys = list(get(label).objects.values_list("pk", flat=True))
        assert keys, label
        assert all(RANDOM_ID_FLOOR <= k < RANDOM_ID_CEILING for k in keys), label

    # Every link still leads where it led: from the case (whose id the audit log names,
    # so it kept it) to her report, its key, her words, files, conversation, question.
    case = get("casework", "Case").objects.get(pk=old["case"])
    report = case.report
    assert report.content.blob_key == old["report_blob"]
    assert report.reporter.lookup == "lookup"
    items = list(report.evidence.order_by("position"))
    assert [i.original.blob_key for i in items] == old["item_blobs"]
    assert [i.position for i in items] == [1, 2]
    for item in items:
        chain = item.custody.order_by("position")
        assert list(chain.values_list("position", "action")) == [
            (1, "received"),
            (2, "working_copy_refused"),
            (3, "exported"),
        ]
    messages = report.messages.order_by("position")
    assert [m.body.blob_key for m in messages] == old["message_blobs"]
    assert [m.position for m in messages] == [1, 2, 3]
    referral = case.referrals.get()
    assert referral.consent_request.report_id == report.pk
    assert referral.reason.blob_key == old["reason_blob"]
    assert case.notes.get().body.blob_key == old["note_blob"]
    assert case.workflow_steps.count() == 1
    # The database agrees that no foreign key dangles, and the audit chain is intact.
    with transaction.atomic():
        connection.check_constraints()
    checked, broken = audit.verify()
    assert (checked, broken) == (2, None)
