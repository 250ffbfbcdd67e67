"""The question put to her on her return visit: may her report go to this organisation?

Her yes is what shares it, by her own key re-issuing the headers of everything she
sent; her no shares nothing.  A plain form: no JavaScript, CSRF-protected.
"""

from __future__ import annotations

import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from evidence import keys
from evidence import services as evidence
from evidence.exceptions import CannotOpen
from reporting import services
from reporting.models import ConsentRequest, Message, Report
from reporting.signals import consent_answered
from tests.support.uploading import jpeg

pytestmark = pytest.mark.django_db

NARRATIVE = "Quelqu'un a ouvert un compte à mon nom et écrit à mes collègues."
FACTS = services.ReportFacts(
    urgency=[],
    category="impersonation",
    region="oriental",
    language="fr",
    age_band="25_34",
    services=["legal"],
    consent_share=False,
    consent_statistics=True,
)
CLINIC = "Clinique juridique L"


@pytest.fixture
def filed(coordinator_key) -> tuple[Report, services.PendingReceipt]:
    pending = services.new_receipt()
    recipients = services.recipients_for(FACTS, pending)
    report = services.file_report(
        FACTS,
        services.ReportContent(narrative=NARRATIVE),
        [],
        pending=pending,
        recipients=recipients,
    )
    return report, pending


@pytest.fixture
def clinic():
    """The organisation the question is about: only its key, which nothing opens yet."""
    return keys.new_identity()


@pytest.fixture
def asked(filed, clinic) -> ConsentRequest:
    report, _ = filed
    return services.ask_consent(
        report, service="legal", organization_name=CLINIC, recipient=str(clinic.recipient)
    )


def her_browser(pending, *, language: str = "fr", **kwargs) -> Client:
    client = Client(**kwargs)
    client.post(f"/{language}/return/", {"code": pending.display})
    return client


def page(response) -> str:
    return html.unescape(response.content.decode())


def answer(client, question: ConsentRequest, value: str):
    return client.post("/fr/return/consent/", {"question": question.pk, "answer": value})


def test_the_question_is_at_the_top_of_her_page_as_a_plain_form(filed, asked):
    _, pending = filed
    shown = page(her_browser(pending).get("/fr/return/report/"))

    question = shown.index('data-testid="consent-question"')
    assert question < shown.index(NARRATIVE)
    assert CLINIC in shown
    form = re.search(r'<form method="post" action="/fr/return/consent/">(.*?)</form>', shown, re.S)
    assert form is not None
    assert 'name="csrfmiddlewaretoken"' in form.group(1)
    assert f'name="question" value="{asked.pk}"' in form.group(1)
    assert 'name="answer" value="yes"' in form.group(1)
    assert 'name="answer" value="no"' in form.group(1)
    # Two submit buttons of a plain form: nothing needs a script to work.
    section = shown[question : shown.index("</section>", question)]
    assert "<script" not in section
    assert "onclick" not in section


def test_the_question_reads_in_arabic_from_right_to_left(filed, asked):
    _, pending = filed
    shown = page(her_browser(pending, language="ar").get("/ar/return/report/"))

    assert 'dir="rtl"' in shown
    assert CLINIC in shown
    assert 'data-testid="consent-question"' in shown


def test_her_yes_shares_everything_she_sent_by_re_issuing_headers_only(
    filed, asked, clinic, blob_root
):
    report, pending = filed
    client = her_browser(pending)
    client.post("/fr/return/evidence/", {"evidence": SimpleUploadedFile("faux.jpg", jpeg())})
    services.post_message(report, "Nous avons bien lu.", author=Message.Author.HELPER)
    report = Report.objects.get(pk=report.pk)
    with pytest.raises(CannotOpen):
        services.read_content(report, clinic)
    on_disk = {p: p.read_bytes() for p in blob_root.rglob("*") if p.is_file()}

    response = answer(client, asked, "yes")

    assert response["Location"] == "/fr/return/report/"
    report = Report.objects.get(pk=report.pk)
    assert report.sealed_to[-1] == str(clinic.recipient)
    assert services.read_content(report, clinic)["narrative"] == NARRATIVE
    assert evidence.read_object(report.evidence.get().original, [clinic]) == jpeg()
    assert services.read_messages(report, clinic)[0]["text"] == "Nous avons bien lu."
    assert {p: p.read_bytes() for p in blob_root.rglob("*") if p.is_file()} == on_disk
    asked.refresh_from_db()
    assert asked.state == ConsentRequest.State.GRANTED
    assert (asked.answered_at.minute, asked.answered_at.second) == (0, 0)
    # What she sends from now on is sealed to the clinic too.
    services.post_message(report, "Merci.", author=Message.Author.REPORTER)
    assert services.read_messages(report, clinic)[-1]["text"] == "Merci."

    shown = page(client.get("/fr/return/report/"))
    assert 'data-testid="consent-thanks"' in shown
    assert 'data-testid="consent-question"' not in shown
    assert CLINIC in shown  # "You agreed on … to pass your report to …"


def test_her_no_shares_nothing_and_she_is_told_so_calmly(filed, asked, clinic):
    report, pending = filed
    client = her_browser(pending)
    sealed_to = list(report.sealed_to)

    answer(client, asked, "no")

    report = Report.objects.get(pk=report.pk)
    assert report.sealed_to == sealed_to
    with pytest.raises(CannotOpen):
        services.read_content(report, clinic)
    asked.refresh_from_db()
    assert asked.state == ConsentRequest.State.REFUSED
    shown = page(client.get("/fr/return/report/"))
    assert 'data-testid="consent-thanks"' in shown
    assert 'data-testid="consent-question"' not in shown


def test_an_answer_given_stays_given(filed, asked, clinic):
    _, pending = filed
    client = her_browser(pending)
    answer(client, asked, "yes")

    answer(client, asked, "no")  # the back button, a second click

    asked.refresh_from_db()
    assert asked.state == ConsentRequest.State.GRANTED
    assert services.read_content(Report.objects.get(pk=asked.report_id), clinic)


def test_a_question_about_another_report_is_not_hers_to_answer(filed, asked, clinic):
    other_pending = services.new_receipt()
    services.file_report(
        FACTS,
        services.ReportContent(narrative="Un autre signalement."),
        [],
        pending=other_pending,
        recipients=services.recipients_for(FACTS, other_pending),
    )

    answer(her_browser(other_pending), asked, "yes")

    asked.refresh_from_db()
    assert asked.state == ConsentRequest.State.ASKED
    with pytest.raises(CannotOpen):
        services.read_content(Report.objects.get(pk=asked.report_id), clinic)


def test_an_answer_without_the_pages_csrf_token_is_refused(filed, asked):
    _, pending = filed
    client = her_browser(pending, enforce_csrf_checks=True)

    response = answer(client, asked, "yes")

    assert response.status_code == 403
    asked.refresh_from_db()
    assert asked.state == ConsentRequest.State.ASKED


def test_no_answer_without_her_code_opened_in_this_browser(asked):
    response = answer(Client(), asked, "yes")

    assert response["Location"] == "/fr/return/"
    asked.refresh_from_db()
    assert asked.state == ConsentRequest.State.ASKED


def test_the_announcement_goes_out_inside_her_answers_transaction(filed, asked, clinic):
    report, pending = filed
    _, her_key = services.open_receipt(pending.display)

    def fail(sender, **kwargs):
        raise RuntimeError("a receiver failed")

    consent_answered.connect(fail)
    try:
        with pytest.raises(RuntimeError):
            services.answer_consent(report, asked.pk, granted=True, identity=her_key)
    finally:
        consent_answered.disconnect(fail)

    # Her answer and the sharing rolled back with the receiver's failure.
    asked.refresh_from_db()
    assert asked.state == ConsentRequest.State.ASKED
    report = Report.objects.get(pk=report.pk)
    assert str(clinic.recipient) not in report.sealed_to
