"""The caseworkers' API: the queue and the case file for an app, with the scoping,
the second factor, the CSRF check and the audit log of the pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from casework import api, services
from casework.audit import Action
from casework.auth import COOKIE_NAME
from casework.models import AuditEvent, Case
from reporting import services as reporting
from reporting.models import Report
from tests.support.cast import (
    PASSWORD,
    Role,
    confirmed_device,
    file_report,
    new_user,
    signed_in_client,
)
from tests.support.uploading import jpeg, text_bytes

pytestmark = pytest.mark.django_db

QUEUE = "/api/staff/cases/"
NARRATIVE = "Il publie mes photos et menace de les envoyer à ma famille."
OUTSIDERS = ["nadia", "leila", "coralie"]
Status = Case.Status


def case_url(case: Case, tail: str = "") -> str:
    return f"{QUEUE}{case.pk}/{tail}"


def send(client, method: str, url: str, body: dict | None = None):
    return getattr(client, method)(url, body or {}, content_type="application/json")


def french(message) -> str:
    with translation.override("fr"):
        return str(message)


def audit_rows(case: Case, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(case_id=case.pk, action=action))


def report_with_files(*files: tuple[str, bytes]) -> tuple[Report, reporting.PendingReceipt]:
    """A report filed with evidence, sealed on arrival as the intake form does."""
    return file_report(narrative=NARRATIVE, files=files)


# --- the queue ---------------------------------------------------------------------------


def test_the_queue_lists_her_organisations_case_with_its_facts_and_not_her_words(cast):
    report, _ = file_report(narrative=NARRATIVE)
    elsewhere, _ = file_report(region="fes_meknes")

    response = cast.client("alice").get(QUEUE)

    assert response.status_code == 200
    body = response.json()
    assert body["organization"] == {"slug": "association", "name": "Association A"}
    assert (body["count"], body["page"], body["pages"]) == (1, 1, 1)
    [case] = body["results"]
    assert case == {
        "id": report.case.pk,
        "reference": report.case.reference,
        "urgent": False,
        "priority": 2,
        "priority_reasons": ["Sextorsion : les maîtres chanteurs fixent souvent des délais courts"],
        "status": "new",
        "category": "sextortion",
        "gbvims_type": report.gbvims_type,
        "region": "casablanca_settat",
        "age_band": "18_24",
        "language": "ar",
        "opened_at": case["opened_at"],
        "sla_due_at": case["sla_due_at"],
        "breached": False,
        "assignee": None,
        "outcome": "",
        "tags": [],
        "legal_hold": False,
    }
    assert elsewhere.case.reference not in response.content.decode()
    assert "photos" not in response.content.decode()  # nothing sealed is opened
    assert not AuditEvent.objects.filter(action=Action.CASE_VIEWED).exists()


def test_the_queue_filters_by_status_category_urgency_assignee_and_lateness(cast):
    alice = cast.users["alice"]
    urgent, _ = file_report(urgency=("physical_danger",))
    taken, _ = file_report(category="doxxing")
    services.change_status(taken.case, Status.ACKNOWLEDGED, actor=alice)  # now hers
    late, _ = file_report()
    Case.objects.filter(pk=late.case.pk).update(sla_due_at=timezone.now() - timedelta(days=1))
    client = cast.client("alice")

    def listed(**query) -> list[int]:
        response = client.get(QUEUE, query)
        assert response.status_code == 200, response.json()
        return [case["id"] for case in response.json()["results"]]

    assert listed() == [urgent.case.pk, late.case.pk, taken.case.pk]  # urgent, then due
    assert listed(urgent="yes") == [urgent.case.pk]
    assert listed(status="acknowledged") == [taken.case.pk]
    assert listed(category="doxxing") == [taken.case.pk]
    assert listed(assignee="me") == [taken.case.pk]
    assert listed(assignee=str(alice.pk)) == [taken.case.pk]
    assert listed(assignee="none") == [urgent.case.pk, late.case.pk]
    assert listed(breached="true") == [late.case.pk]
    assert listed(region="fes_meknes") == []
    assert listed(status="closed") == []


def test_a_filter_that_makes_no_sense_is_refused_naming_the_field(cast):
    file_report()
    client = cast.client("alice")

    for query, field in [
        ({"status": "lost"}, "status"),
        ({"assignee": "someone"}, "assignee"),
        ({"org": "centre"}, "org"),  # not hers: never shown, whether it exists or not
        ({"page": "0"}, "page"),
    ]:
        response = client.get(QUEUE, query)
        assert response.status_code == 400, query
        assert field in response.json(), response.json()
    assert client.get(QUEUE, {"page": 2}).status_code == 404


def test_the_counts_say_how_many_cases_are_open_new_urgent_late_hers_and_untaken(cast):
    alice = cast.users["alice"]
    file_report(urgency=("physical_danger",))
    mine, _ = file_report()
    services.change_status(mine.case, Status.ACKNOWLEDGED, actor=alice)
    closed, _ = file_report()
    services.change_status(closed.case, Status.ACKNOWLEDGED, actor=alice)
    services.change_status(closed.case, Status.CLOSED, actor=alice, outcome="helped")
    late, _ = file_report()
    Case.objects.filter(pk=late.case.pk).update(sla_due_at=timezone.now() - timedelta(days=1))

    counts = cast.client("alice").get(QUEUE).json()["counts"]

    assert counts == {"open": 3, "new": 2, "urgent": 1, "breached": 1, "mine": 1, "unassigned": 2}


def test_a_full_page_reads_the_database_as_often_as_a_short_one(cast, settings):
    alice = cast.users["alice"]
    for number in range(30):
        report, _ = file_report()
        services.set_tags(report.case, [f"tag {number}", "court"], actor=alice)
        if number % 2:
            services.assign_case(report.case, alice, actor=alice)
    client = cast.client("alice")
    client.get(QUEUE)  # the session notes her first request: not part of the page's cost

    def queries_for_a_page_of(size: int) -> tuple[int, dict]:
        settings.CASEWORK_QUEUE_PAGE_SIZE = size
        with CaptureQueriesContext(connection) as queries:
            response = client.get(QUEUE)
        assert response.status_code == 200
        return len(queries), response.json()

    short_count, short = queries_for_a_page_of(5)
    full_count, full = queries_for_a_page_of(30)

    assert (len(short["results"]), short["pages"]) == (5, 6)
    assert (len(full["results"]), full["pages"]) == (30, 1)
    assert all("court" in case["tags"] for case in full["results"])
    assert {case["assignee"] for case in full["results"]} == {"alice", None}
    assert full_count == short_count


# --- the case file -----------------------------------------------------------------------


def test_the_case_file_opens_her_words_with_alices_key_and_the_opening_is_logged(cast):
    report, _ = file_report(narrative=NARRATIVE)
    case = report.case

    response = cast.client("alice").get(case_url(case))

    assert response.status_code == 200
    body = response.json()
    assert body["reference"] == case.reference
    assert body["narrative"] == NARRATIVE
    assert body["identifiers"] == "@harasser"
    assert (body["evidence"], body["messages"], body["notes"]) == ([], [], [])
    assert [move["to"] for move in body["moves"]] == ["acknowledged"]  # then, closing
    assert [entry["action"] for entry in body["timeline"]] == ["report.filed"]
    [viewed] = audit_rows(case, Action.CASE_VIEWED)
    assert viewed.actor == "alice"


def test_a_session_without_its_key_cookie_is_told_to_sign_in_again(cast):
    report, _ = report_with_files(("photo.jpg", jpeg()))
    item = report.evidence.get()
    client = cast.client("alice")
    del client.cookies[COOKIE_NAME]  # the browser was closed: its half of the key is gone

    response = client.get(case_url(report.case))
    original = send(
        client, "post", case_url(report.case, f"evidence/{item.pk}/original/"), {"reason": "court"}
    )

    assert response.status_code == 409
    assert response.json()["detail"] == french(api.KeyLockedConflict.default_detail)
    assert NARRATIVE not in response.content.decode()
    assert original.status_code == 409
    assert not audit_rows(report.case, Action.CASE_VIEWED)
    assert not audit_rows(report.case, Action.EVIDENCE_DOWNLOADED)


def test_a_member_waiting_for_access_is_told_so_rather_than_to_sign_in_again(cast):
    report, _ = file_report(narrative=NARRATIVE)
    newcomer = new_user("wafa")
    services.add_member(cast.orgs["association"], newcomer, role=Role.CASEWORKER, unlocked_by=None)
    confirmed_device(newcomer)

    response = signed_in_client(newcomer).get(case_url(report.case))

    assert response.status_code == 409
    assert response.json()["detail"] == french(api.WaitingForAccess.default_detail)


# --- acts on a case ----------------------------------------------------------------------


def test_acknowledging_moves_the_case_gives_it_to_her_and_the_reporter_sees_it(cast):
    report, _ = file_report()
    case = report.case

    response = send(cast.client("alice"), "post", case_url(case, "status/"), {"to": "acknowledged"})

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["assignee"]) == ("acknowledged", "alice")
    report.refresh_from_db()
    assert report.status == Report.Status.IN_PROGRESS  # what she reads on her return visit
    [moved] = audit_rows(case, Action.CASE_STATUS)
    assert (moved.actor, moved.detail) == ("alice", {"from": "new", "to": "acknowledged"})


def test_a_move_the_states_do_not_allow_is_refused_with_409_and_nothing_moves(cast):
    report, _ = file_report()
    client = cast.client("alice")

    refused = send(client, "post", case_url(report.case, "status/"), {"to": "in_progress"})
    nonsense = send(client, "post", case_url(report.case, "status/"), {"to": "solved"})

    assert refused.status_code == 409
    # Where the case stands and where she asked it to go, in words (French by default).
    assert french(Status.NEW.label) in refused.json()["detail"]
    assert french(Status.IN_PROGRESS.label) in refused.json()["detail"]
    assert nonsense.status_code == 400
    assert "to" in nonsense.json()
    assert Case.objects.get(pk=report.case.pk).status == Status.NEW
    assert not audit_rows(report.case, Action.CASE_STATUS)


def test_a_lead_assigns_the_case_to_a_colleague_and_back_to_nobody(cast):
    report, _ = file_report()
    case = report.case
    bianca = cast.client("bianca")

    given = send(bianca, "post", case_url(case, "assign/"), {"assignee": cast.users["alice"].pk})
    dropped = send(bianca, "post", case_url(case, "assign/"), {"assignee": None})

    assert (given.status_code, given.json()["assignee"]) == (200, "alice")
    assert (dropped.status_code, dropped.json()["assignee"]) == (200, None)
    assert [row.detail["to"] for row in audit_rows(case, Action.CASE_ASSIGNED)] == [
        cast.users["alice"].pk,
        None,
    ]


def test_a_case_cannot_be_given_to_someone_outside_the_organisation(cast):
    report, _ = file_report()

    response = send(
        cast.client("bianca"),
        "post",
        case_url(report.case, "assign/"),
        {"assignee": cast.users["nadia"].pk},
    )

    assert response.status_code == 400
    assert "assignee" in response.json()
    assert Case.objects.get(pk=report.case.pk).assignee is None


def test_a_caseworker_may_not_give_a_case_to_someone_else(cast):
    report, _ = file_report()

    response = send(
        cast.client("alice"),
        "post",
        case_url(report.case, "assign/"),
        {"assignee": cast.users["bianca"].pk},
    )

    assert response.status_code == 403
    assert response.json()["detail"] == french(api.RoleForbids.default_detail)
    assert Case.objects.get(pk=report.case.pk).assignee is None


def test_tags_are_set_exactly_and_show_in_the_queue(cast):
    report, _ = file_report()
    client = cast.client("alice")

    response = send(
        client, "put", case_url(report.case, "tags/"), {"tags": ["court", "platform", "court"]}
    )
    too_long = send(client, "put", case_url(report.case, "tags/"), {"tags": ["x" * 41]})

    assert response.status_code == 200
    assert response.json()["tags"] == ["court", "platform"]
    assert too_long.status_code == 400
    assert client.get(QUEUE).json()["results"][0]["tags"] == ["court", "platform"]
    cleared = send(client, "put", case_url(report.case, "tags/"), {"tags": []})
    assert cleared.json()["tags"] == []


def test_a_note_is_kept_for_colleagues_and_never_shown_to_her(cast):
    report, pending = file_report()
    client = cast.client("alice")

    written = send(client, "post", case_url(report.case, "notes/"), {"text": "Call back Monday"})
    too_long = send(client, "post", case_url(report.case, "notes/"), {"text": "x" * 20_001})

    assert written.status_code == 201
    assert (written.json()["author"], written.json()["text"]) == ("alice", "Call back Monday")
    assert too_long.status_code == 400
    assert "text" in too_long.json()
    notes = cast.client("bianca").get(case_url(report.case)).json()["notes"]
    assert [(n["author"], n["text"]) for n in notes] == [("alice", "Call back Monday")]
    _reporter, identity = reporting.open_receipt(pending.code)
    assert reporting.read_messages(report, identity) == []


def test_her_reply_reaches_the_reporter_on_her_return_visit(cast):
    report, pending = file_report()
    reply = "Nous avons reçu votre signalement. Vous n'êtes pas seule."

    response = send(
        cast.client("alice"), "post", case_url(report.case, "messages/"), {"text": reply}
    )

    assert response.status_code == 201
    assert (response.json()["author"], response.json()["text"]) == ("helper", reply)
    reporter, identity = reporting.open_receipt(pending.code)
    [message] = reporting.read_messages(reporter.report, identity)
    assert (message["author"], message["text"]) == ("helper", reply)
    assert [a.action for a in AuditEvent.objects.filter(case_id=report.case.pk)][-1] == (
        Action.MESSAGE_SENT
    )


# --- evidence ----------------------------------------------------------------------------


def test_the_case_file_lists_her_file_and_the_sanitised_copy_is_viewable(cast):
    report, _ = report_with_files(("photo.jpg", jpeg()))
    item = report.evidence.get()
    client = cast.client("alice")

    [listed] = client.get(case_url(report.case)).json()["evidence"]
    # An <img> asks for images only: the file still comes, not a 406.
    image = client.get(case_url(report.case, f"evidence/{item.pk}/view/"), HTTP_ACCEPT="image/*")

    assert listed["name"] == "photo.jpg"
    assert (listed["id"], listed["kind"], listed["has_working_copy"]) == (item.pk, "image", True)
    assert listed["sha256"] == item.sha256
    assert image.status_code == 200
    assert image["Content-Type"] == "image/jpeg"
    assert image["Content-Disposition"] == "inline"
    assert b"".join(image.streaming_content)[:2] == b"\xff\xd8"
    assert audit_rows(report.case, Action.EVIDENCE_VIEWED)[0].detail == {"item": item.pk}


def test_a_file_without_a_working_copy_is_not_found_for_viewing(cast):
    report, _ = report_with_files(("WhatsApp Chat.txt", text_bytes(2000)))
    item = report.evidence.get()

    response = cast.client("alice").get(case_url(report.case, f"evidence/{item.pk}/view/"))

    assert response.status_code == 404
    assert not audit_rows(report.case, Action.EVIDENCE_VIEWED)


def test_the_original_downloads_byte_for_byte_for_a_reason_written_in_the_log(cast):
    original = jpeg(extra=b"bytes after the image")
    report, _ = report_with_files(("photo.jpg", original))
    item = report.evidence.get()
    url = case_url(report.case, f"evidence/{item.pk}/original/")
    client = cast.client("alice")

    no_reason = send(client, "post", url, {"reason": "   "})
    free_text = send(client, "post", url, {"reason": "Hearing at the Casablanca court"})
    unexplained = send(client, "post", url, {"reason": "other"})
    response = send(client, "post", url, {"reason": "court"})

    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()
    # A short list, so that the log never holds what a caseworker wrote about her.
    assert free_text.status_code == 400
    assert "reason" in free_text.json()
    assert unexplained.status_code == 400
    assert "note" in unexplained.json()
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == original
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{report.case.reference}-{item.pk}-{item.sha256[:12]}.jpg"'
    )
    assert "photo" not in response["Content-Disposition"]  # her name for it is sealed
    [downloaded] = audit_rows(report.case, Action.EVIDENCE_DOWNLOADED)
    assert downloaded.actor == "alice"
    assert downloaded.detail["reason"] == "court"


def test_a_download_note_given_through_the_api_is_sealed_not_logged(cast):
    report, _ = report_with_files(("photo.jpg", jpeg()))
    item = report.evidence.get()
    url = case_url(report.case, f"evidence/{item.pk}/original/")

    response = send(cast.client("alice"), "post", url, {"reason": "other", "note": "Expertise X"})

    assert response.status_code == 200
    [downloaded] = audit_rows(report.case, Action.EVIDENCE_DOWNLOADED)
    assert "Expertise" not in str(downloaded.detail)
    assert services.download_notes(
        report.case,
        actor=cast.users["bianca"],
        identity=services.unlock_member_key(cast.users["bianca"], PASSWORD),
    ) == {downloaded.detail["note"]: "Expertise X"}


# --- who may ask -------------------------------------------------------------------------


def every_case_endpoint(case: Case, item_id: int) -> list[tuple[str, str, dict]]:
    return [
        ("get", case_url(case), {}),
        ("post", case_url(case, "status/"), {"to": "acknowledged"}),
        ("post", case_url(case, "assign/"), {"assignee": None}),
        ("put", case_url(case, "tags/"), {"tags": ["seen"]}),
        ("post", case_url(case, "notes/"), {"text": "x"}),
        ("post", case_url(case, "messages/"), {"text": "x"}),
        ("get", case_url(case, f"evidence/{item_id}/view/"), {}),
        ("post", case_url(case, f"evidence/{item_id}/original/"), {"reason": "court"}),
    ]


@pytest.mark.parametrize("who", OUTSIDERS)
def test_other_organisations_get_not_found_on_every_endpoint_of_the_case(cast, who):
    report, _ = report_with_files(("photo.jpg", jpeg()))
    case, item = report.case, report.evidence.get()
    client = cast.client(who)

    for method, url, body in every_case_endpoint(case, item.pk):
        response = send(client, method, url, body)
        assert response.status_code == 404, (who, method, url)
        assert NARRATIVE not in response.content.decode()
    queue = client.get(QUEUE)

    assert case.reference not in queue.content.decode()
    case.refresh_from_db()
    assert (case.status, case.assignee, list(case.tags.all())) == ("new", None, [])
    assert case.notes.count() == 0
    assert report.messages.count() == 0
    assert not AuditEvent.objects.filter(case_id=case.pk, actor=who).exists()


def test_a_password_without_the_second_factor_opens_nothing(cast, client):
    report, _ = file_report(narrative=NARRATIVE)
    client.post(
        "/fr/staff/login/", {"username": "alice", "password": "correct horse battery staple"}
    )

    queue = client.get(QUEUE)
    case_file = client.get(case_url(report.case))

    assert queue.status_code == case_file.status_code == 403
    assert case_file.json()["detail"] == french(api.SECOND_FACTOR)
    assert NARRATIVE not in case_file.content.decode()
    assert not audit_rows(report.case, Action.CASE_VIEWED)


def test_nobody_signed_in_is_refused(client, cast):
    report, _ = file_report()

    assert client.get(QUEUE).status_code == 403
    assert client.get(case_url(report.case)).status_code == 403


def test_a_member_who_must_choose_her_password_is_sent_to_do_so_first(cast):
    report, _ = file_report()
    client = cast.client("alice")
    type(cast.users["alice"]).objects.filter(username="alice").update(must_change_password=True)

    response = client.get(case_url(report.case))

    assert response.status_code == 403
    assert response.json()["detail"] == french(api.NEW_PASSWORD)


def test_an_act_without_the_csrf_token_is_refused_and_with_it_goes_through(cast):
    report, _ = file_report()
    client = cast.client("alice")
    client.handler.enforce_csrf_checks = True  # as a browser's session would be checked
    url = case_url(report.case, "status/")

    forged = send(client, "post", url, {"to": "acknowledged"})
    assert forged.status_code == 403
    assert "CSRF" in forged.json()["detail"]
    assert Case.objects.get(pk=report.case.pk).status == Status.NEW

    token = client.cookies["csrftoken"].value
    done = client.post(
        url, {"to": "acknowledged"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert done.status_code == 200
    assert Case.objects.get(pk=report.case.pk).status == Status.ACKNOWLEDGED


def test_every_endpoint_is_described_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert schema.status_code == 200
    paths = schema.json()["paths"]
    expected = {
        ("/api/staff/cases/", "get"),
        ("/api/staff/cases/{case_id}/", "get"),
        ("/api/staff/cases/{case_id}/status/", "post"),
        ("/api/staff/cases/{case_id}/assign/", "post"),
        ("/api/staff/cases/{case_id}/tags/", "put"),
        ("/api/staff/cases/{case_id}/notes/", "post"),
        ("/api/staff/cases/{case_id}/messages/", "post"),
        ("/api/staff/cases/{case_id}/evidence/{item_id}/view/", "get"),
        ("/api/staff/cases/{case_id}/evidence/{item_id}/original/", "post"),
    }
    described = {(path, method) for path, ops in paths.items() for method in ops}
    assert expected <= described
    staff = [paths[path][method] for path, method in expected]
    assert all(op["security"] == [{"cookieAuth": []}] for op in staff)
    assert {path for path, _ in described if path.startswith("/api/staff/")} == {
        path for path, _ in expected
    }


# --- answers the schema describes (found by tests/test_api_schema.py) --------------------


def openapi(client) -> dict:
    return client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def described(client, path: str, method: str) -> dict:
    return openapi(client)["paths"][path][method]["responses"]


ERRORS_REF = {"$ref": "#/components/schemas/ValidationErrors"}


def test_a_refused_tag_is_named_by_its_place_in_the_list_as_the_schema_says(cast):
    report, _ = file_report()
    client = cast.client("alice")

    response = send(client, "put", case_url(report.case, "tags/"), {"tags": ["court", "x" * 41]})

    # Not a list of messages: the second tag's messages, under its index.
    assert response.status_code == 400
    assert list(response.json()) == ["tags"]
    assert list(response.json()["tags"]) == ["1"]
    schema = openapi(client)
    refused = schema["paths"]["/api/staff/cases/{case_id}/tags/"]["put"]["responses"]["400"]
    assert ERRORS_REF in refused["content"]["application/json"]["schema"]["oneOf"]
    errors = schema["components"]["schemas"]["ValidationErrors"]
    assert ERRORS_REF in errors["additionalProperties"]["oneOf"]  # nested, by index


def test_a_body_that_is_not_json_is_refused_with_a_detail_the_schema_describes(cast):
    report, _ = file_report()
    client = cast.client("alice")

    response = client.post(
        case_url(report.case, "notes/"), b"text=Call back", content_type="application/json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["detail"]
    assert report.case.notes.count() == 0
    refused = described(client, "/api/staff/cases/{case_id}/notes/", "post")["400"]
    assert {"$ref": "#/components/schemas/Error"} in (
        refused["content"]["application/json"]["schema"]["oneOf"]
    )


def test_an_original_goes_out_as_the_type_told_from_its_bytes_which_the_schema_allows(cast):
    report, _ = report_with_files(("WhatsApp Chat.txt", text_bytes(2000)))
    item = report.evidence.get()
    client = cast.client("alice")

    response = send(
        client, "post", case_url(report.case, f"evidence/{item.pk}/original/"), {"reason": "court"}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    responses = described(client, "/api/staff/cases/{case_id}/evidence/{item_id}/original/", "post")
    assert list(responses["200"]["content"]) == ["*/*"]


def test_an_erased_case_answers_410_wherever_it_would_be_read_as_the_schema_says(cast, settings):
    alice = cast.users["alice"]
    report, _ = report_with_files(("photo.jpg", jpeg()))
    case, item = report.case, report.evidence.get()
    services.change_status(case, Status.ACKNOWLEDGED, actor=alice)
    closed = services.change_status(case, Status.CLOSED, actor=alice, outcome="helped")
    later = closed.closed_at + timedelta(days=settings.CASEWORK_RETENTION_DAYS + 1)
    assert services.apply_retention(now=later) == 1
    client = cast.client("alice")
    paths = openapi(client)["paths"]
    evidence = "/api/staff/cases/{case_id}/evidence/{item_id}"

    for method, url, body, path in [
        ("get", case_url(case), {}, "/api/staff/cases/{case_id}/"),
        ("get", case_url(case, f"evidence/{item.pk}/view/"), {}, f"{evidence}/view/"),
        (
            "post",
            case_url(case, f"evidence/{item.pk}/original/"),
            {"reason": "court"},
            f"{evidence}/original/",
        ),
    ]:
        response = send(client, method, url, body)
        assert response.status_code == 410, url
        assert response.json() == {"detail": french(api.Erased.default_detail)}
        assert "410" in paths[path][method]["responses"]
