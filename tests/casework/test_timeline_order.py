"""The timeline puts what is known to be later after what is earlier, although her times
are kept to the hour only (issue 15, item 12)."""

from __future__ import annotations

import pytest

from casework import selectors, services
from casework.models import Case
from reporting import services as reporting
from reporting.models import Message
from tests.support.cast import file_report

pytestmark = pytest.mark.django_db


def actions(case: Case) -> list[str]:
    return [entry.action for entry in selectors.timeline(case)]


def test_her_answer_to_a_reply_comes_after_the_reply_and_the_acts_before_it(cast):
    alice = cast.users["alice"]
    report, _ = file_report()
    case = services.change_status(report.case, Case.Status.ACKNOWLEDGED, actor=alice)
    services.reply_to_reporter(case, "Nous sommes là.", actor=alice)
    reporting.post_message(report, "Merci, il a recommencé.", author=Message.Author.REPORTER)
    services.add_note(case, "Elle a répondu.", actor=alice)

    order = actions(case)

    assert order == [
        "report.filed",
        "case.status_changed",
        "message.sent",
        "reporter.message",
        "note.added",
    ], order
    [hers] = [e for e in selectors.timeline(case) if e.action == "reporter.message"]
    assert hers.hour_only
    assert (hers.at.minute, hers.at.second, hers.at.microsecond) == (0, 0, 0)  # nothing finer


def test_her_message_before_any_reply_stays_before_the_reply(cast):
    alice = cast.users["alice"]
    report, _ = file_report()
    reporting.post_message(report, "Vous êtes là ?", author=Message.Author.REPORTER)
    case = services.change_status(report.case, Case.Status.ACKNOWLEDGED, actor=alice)
    services.reply_to_reporter(case, "Oui.", actor=alice)

    order = actions(case)

    assert order.index("reporter.message") < order.index("message.sent")


def test_the_case_page_says_her_times_are_to_the_hour(cast):
    alice = cast.users["alice"]
    report, _ = file_report()
    case = services.change_status(report.case, Case.Status.ACKNOWLEDGED, actor=alice)
    services.reply_to_reporter(case, "Nous sommes là.", actor=alice)
    reporting.post_message(report, "Merci.", author=Message.Author.REPORTER)

    page = cast.client("alice").get(f"/fr/staff/cases/{case.pk}/").content.decode()
    timeline = page[page.index('id="timeline-title"') :]

    assert timeline.index("Une réponse lui a été envoyée") < timeline.index(
        "Elle a écrit un message"
    )
    assert "(à l'heure près)</span> — Elle a écrit un message" in timeline
