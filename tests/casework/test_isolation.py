"""Nobody reads or writes another organisation's case: every case page and API endpoint
by every member of the cast.  Outsiders get exactly what a case that does not exist
gets (404), so they cannot even learn that it exists.

The endpoints are read from the URL configuration, so a new case URL is covered the day
it is added.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from casework.models import AuditEvent, Case
from tests.support.cast import MEMBERS, file_report
from tests.support.uploading import jpeg

pytestmark = pytest.mark.django_db

INSIDERS = {"alice", "bianca", "amina"}  # association A, which holds the case
OUTSIDERS = sorted(set(MEMBERS) - INSIDERS)  # nadia (B), leila (clinic), coralie (coordination)
MISSING = 987_654


def case_routes() -> list[tuple[str, set[str]]]:
    """(namespaced url name, its parameters) for every route that takes a case id."""
    found = []

    def walk(patterns, namespace):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, entry.namespace or namespace)
            elif isinstance(entry, URLPattern) and "case_id" in entry.pattern.converters:
                found.append((f"{namespace}:{entry.name}", set(entry.pattern.converters)))

    walk(get_resolver().url_patterns, None)
    return sorted(set((name, frozenset(params)) for name, params in found))


ROUTES = case_routes()


def url(name: str, params, case_id: int, item_id: int) -> str:
    kwargs = {"case_id": case_id}
    if "item_id" in params:
        kwargs["item_id"] = item_id
    if "bundle_id" in params:  # none exists: the case's 404 must come first anyway
        kwargs["bundle_id"] = "00000000-0000-4000-8000-000000000000"
    return reverse(name, kwargs=kwargs)


@pytest.fixture
def case_with_evidence(cast):
    report, _ = file_report(files=[("proof.jpg", jpeg())])
    return report.case, report.evidence.get()


def test_the_matrix_covers_the_pages_and_the_api():
    names = {name for name, _ in ROUTES}
    assert "casework:case" in names
    assert "casework:evidence_original" in names
    assert any(name.startswith("staff_api:") for name in names), names


def snapshot(case: Case) -> tuple:
    case = Case.objects.get(pk=case.pk)
    return (
        case.status,
        case.assignee_id,
        sorted(case.tags.values_list("name", flat=True)),
        case.notes.count(),
        case.report.messages.count(),
    )


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_get_not_found_on_every_case_url_as_if_it_did_not_exist(
    cast, case_with_evidence, who
):
    case, item = case_with_evidence
    client = cast.client(who)
    before = snapshot(case)
    body = {"to": "acknowledged", "assignee": "", "text": "x", "tags": "t", "reason": "court"}

    for name, params in ROUTES:
        for method in ("get", "post"):
            send = getattr(client, method)
            real = send(url(name, params, case.pk, item.pk), body)
            missing = send(url(name, params, MISSING, item.pk), body)
            assert real.status_code == missing.status_code, (who, name, method)
            assert real.status_code in (404, 405), (who, name, method, real.status_code)
            assert b"proof.jpg" not in real.content
        assert client.get(url(name, params, case.pk, item.pk)).status_code in (404, 405)

    assert snapshot(case) == before
    assert not AuditEvent.objects.filter(case_id=case.pk, actor=who).exists()


@pytest.mark.parametrize("who", sorted(INSIDERS))
def test_every_member_of_the_holding_organisation_opens_the_case(cast, case_with_evidence, who):
    case, item = case_with_evidence
    client = cast.client(who)

    page = client.get(reverse("casework:case", args=[case.pk]))
    image = client.get(reverse("casework:evidence_copy", args=[case.pk, item.pk]))

    assert page.status_code == 200
    assert "proof.jpg" in page.content.decode()
    assert image.status_code == 200
    assert b"".join(image.streaming_content)[:2] == b"\xff\xd8"  # a JPEG, decrypted


def test_someone_signed_out_is_sent_to_sign_in_not_told_anything(client, case_with_evidence):
    case, item = case_with_evidence
    for name, params in ROUTES:
        if name.startswith("staff_api:"):
            response = client.get(url(name, params, case.pk, item.pk))
            assert response.status_code in (401, 403), name
        else:
            response = client.get(url(name, params, case.pk, item.pk))
            assert response.status_code in (302, 405), name
            if response.status_code == 302:
                assert "/staff/login/" in response["Location"]


def test_a_file_of_another_case_is_not_found_through_this_one(cast, case_with_evidence):
    _, item = case_with_evidence
    other, _ = file_report()  # same organisation, no files
    client = cast.client("alice")

    assert (
        client.get(f"/fr/staff/cases/{other.case.pk}/evidence/{item.pk}/view/").status_code == 404
    )
    response = client.post(
        f"/fr/staff/cases/{other.case.pk}/evidence/{item.pk}/original/", {"reason": "court"}
    )
    assert response.status_code == 404
    api = client.get(f"/api/staff/cases/{other.case.pk}/evidence/{item.pk}/view/")
    assert api.status_code == 404


def test_the_members_pages_of_another_organisation_are_not_found(cast):
    centre = cast.orgs["centre"].memberships.get()
    admin = cast.client("amina")

    assert admin.get("/fr/staff/organisation/centre/members/").status_code == 404
    assert (
        admin.post(f"/fr/staff/organisation/centre/members/{centre.pk}/grant/").status_code == 404
    )
    theirs = f"/fr/staff/organisation/association/members/{centre.pk}/grant/"
    assert admin.post(theirs).status_code == 404


def test_the_queue_of_one_organisation_never_lists_anothers_cases(cast):
    mine, _ = file_report(region="casablanca_settat")
    theirs, _ = file_report(region="fes_meknes")

    alice_queue = cast.client("alice").get("/fr/staff/").content.decode()
    nadia_queue = cast.client("nadia").get("/fr/staff/").content.decode()

    assert mine.case.reference in alice_queue
    assert theirs.case.reference not in alice_queue
    assert theirs.case.reference in nadia_queue
    assert mine.case.reference not in nadia_queue
