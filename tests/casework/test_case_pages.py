"""What a caseworker sees and does on the queue and case pages."""

from __future__ import annotations

import hashlib
import html

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from casework import selectors, services
from casework.models import AuditEvent, Case, Membership
from reporting import services as reporting
from tests.support.cast import file_report, new_user, signed_in_client
from tests.support.uploading import jpeg

pytestmark = pytest.mark.django_db


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def test_the_queue_puts_urgent_cases_first_then_the_soonest_due(cast):
    calm_old, _ = file_report()
    urgent, _ = file_report(urgency=("physical_danger",))
    calm_new, _ = file_report()
    Case.objects.filter(pk=calm_new.case.pk).update(
        sla_due_at=calm_old.case.sla_due_at.replace(year=2020)
    )

    text = page_text(cast.client("alice").get("/fr/staff/"))

    positions = [text.index(r.case.reference) for r in (urgent, calm_new, calm_old)]
    assert positions == sorted(positions)
    assert "Urgent" in text


def test_filters_and_counts_tell_her_what_waits(cast):
    file_report(urgency=("self_harm",))
    file_report(category="doxxing")
    late, _ = file_report()
    Case.objects.filter(pk=late.case.pk).update(sla_due_at=late.case.sla_due_at.replace(year=2020))
    client = cast.client("alice")

    everything = client.get("/fr/staff/").context
    urgent_only = client.get("/fr/staff/?urgent=yes").context
    doxxing = client.get("/fr/staff/?category=doxxing").context
    breached = client.get("/fr/staff/?breached=on").context

    assert everything["counts"]["open"] == 3
    assert everything["counts"]["urgent"] == 1
    assert everything["counts"]["breached"] == 1
    assert urgent_only["page"].paginator.count == 1
    assert doxxing["page"].paginator.count == 1
    assert [c.pk for c in breached["page"].object_list] == [late.case.pk]


def test_closed_cases_leave_the_queue_unless_asked_for(cast):
    report, _ = file_report()
    services.change_status(report.case, Case.Status.ACKNOWLEDGED, actor=cast.users["alice"])
    services.change_status(
        report.case, Case.Status.CLOSED, actor=cast.users["alice"], outcome="helped"
    )
    client = cast.client("alice")

    assert report.case.reference not in page_text(client.get("/fr/staff/"))
    assert report.case.reference in page_text(client.get("/fr/staff/?status=closed"))


def test_the_queue_pages_and_its_query_count_does_not_grow_with_the_page(cast, settings):
    for _ in range(7):
        file_report()
    client = cast.client("alice")

    def queries(page_size: int) -> int:
        settings.CASEWORK_QUEUE_PAGE_SIZE = page_size
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/fr/staff/").status_code == 200
        return len(captured)

    settings.CASEWORK_QUEUE_PAGE_SIZE = 5
    second = page_text(client.get("/fr/staff/?page=2"))
    assert "Page 2 sur 2" in second
    assert queries(2) == queries(7)


def test_opening_a_case_shows_her_words_and_records_who_opened_it(cast):
    report, _ = file_report(narrative="يهددني بنشر الصور إذا لم أدفع")
    response = cast.client("alice").get(f"/ar/staff/cases/{report.case.pk}/")

    text = page_text(response)
    assert "يهددني بنشر الصور إذا لم أدفع" in text
    assert 'dir="rtl"' in text
    assert AuditEvent.objects.filter(case_id=report.case.pk, action="case.viewed").count() == 1
    with translation.override("ar"):
        viewed = selectors.action_label("case.viewed")
    assert viewed != "opened the case"
    assert f"alice: {viewed}" in text  # the access log, in the page's language


@pytest.fixture
def photo_case(cast):
    original = jpeg(extra=b"trailing bytes kept in the original")
    report, _ = file_report(category="intimate_images", files=[("capture.jpg", original)])
    return report.case, report.evidence.get(), original


def test_images_show_inline_sanitised_and_the_original_needs_a_reason(cast, photo_case):
    case, item, original = photo_case
    client = cast.client("alice")

    page = page_text(client.get(f"/fr/staff/cases/{case.pk}/"))
    assert f"/fr/staff/cases/{case.pk}/evidence/{item.pk}/view/" in page
    shown = b"".join(client.get(f"/fr/staff/cases/{case.pk}/evidence/{item.pk}/view/"))
    assert shown[:2] == b"\xff\xd8"
    assert b"trailing bytes" not in shown

    no_reason = client.post(f"/fr/staff/cases/{case.pk}/evidence/{item.pk}/original/", {})
    assert no_reason.status_code == 400
    download = client.post(
        f"/fr/staff/cases/{case.pk}/evidence/{item.pk}/original/", {"reason": "court"}
    )

    body = b"".join(download.streaming_content)
    assert body == original
    assert hashlib.sha256(body).hexdigest() == item.sha256
    assert "capture" not in download["Content-Disposition"]  # her name for it stays sealed
    row = AuditEvent.objects.get(case_id=case.pk, action="evidence.downloaded")
    assert row.detail["reason"] == "court"
    assert row.actor == "alice"
    page = page_text(client.get(f"/fr/staff/cases/{case.pk}/"))
    assert "alice: a téléchargé un original — Pour une plainte ou une procédure judiciaire" in page


def test_a_download_note_is_sealed_to_her_organisation_and_never_in_the_log(cast, photo_case):
    case, item, _ = photo_case
    alice = cast.client("alice")
    url = f"/fr/staff/cases/{case.pk}/evidence/{item.pk}/original/"
    note = "Audience du 12 mars, demandée par Me Leila"

    unexplained = alice.post(url, {"reason": "other", "note": "  "})
    unknown = alice.post(url, {"reason": "Dépôt de plainte"})
    download = alice.post(url, {"reason": "other", "note": note})

    assert unexplained.status_code == 400
    assert "Dites pourquoi dans la note." in page_text(unexplained)
    assert unknown.status_code == 400
    assert download.status_code == 200
    [row] = AuditEvent.objects.filter(case_id=case.pk, action="evidence.downloaded")
    assert row.detail["reason"] == "other"
    log = " ".join(str(detail) for detail in AuditEvent.objects.values_list("detail", flat=True))
    assert "Audience" not in log
    # Her colleague reads it in the access log, as text.
    shown = page_text(cast.client("bianca").get(f"/fr/staff/cases/{case.pk}/"))
    assert f"Autre raison (dites-la dans la note) — « <bdi>{note}</bdi> »" in shown


def test_status_buttons_move_the_case_and_a_stale_click_is_explained(cast):
    report, _ = file_report()
    client = cast.client("alice")
    url = f"/fr/staff/cases/{report.case.pk}/status/"

    client.post(url, {"to": "acknowledged"})
    stale = client.post(url, {"to": "acknowledged"}, follow=True)

    assert Case.objects.get(pk=report.case.pk).status == "acknowledged"
    assert stale.status_code == 200
    assert len(list(stale.context["messages"])) == 1


def test_a_reply_from_the_case_page_reaches_her_return_visit(cast):
    report, pending = file_report()
    cast.client("alice").post(
        f"/fr/staff/cases/{report.case.pk}/reply/", {"reply-text": "Nous avons bien reçu."}
    )

    _, her_key = reporting.open_receipt(pending.code)
    assert [m["text"] for m in reporting.read_messages(report, her_key)] == [
        "Nous avons bien reçu."
    ]


def test_an_empty_note_is_refused_on_the_page_with_nothing_saved(cast):
    report, _ = file_report()

    response = cast.client("alice").post(
        f"/fr/staff/cases/{report.case.pk}/notes/", {"note-text": ""}
    )

    assert response.status_code == 400
    assert report.case.notes.count() == 0


def test_a_member_waiting_for_access_sees_the_facts_but_not_her_words(cast):
    report, _ = file_report(narrative="Texte scellé")
    newcomer = new_user("yasmine")
    services.add_member(
        cast.orgs["association"], newcomer, role=Membership.Role.CASEWORKER, unlocked_by=None
    )

    text = page_text(signed_in_client(newcomer).get(f"/fr/staff/cases/{report.case.pk}/"))

    assert "Texte scellé" not in text
    assert report.case.reference in text
    assert "attente" in text
