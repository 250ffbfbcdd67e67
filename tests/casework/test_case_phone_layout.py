"""The case page on a phone: nothing sits off-screen, the facts first of all (issue 15,
item 14: at 390 px the facts were pushed past the right edge), in French and in Arabic
(right to left).  Real Chromium."""

from __future__ import annotations

import pytest

from casework import services
from reporting import services as reporting
from reporting.models import Message
from tests.support.cast import PASSWORD, file_report, make_cast, signed_in_client
from tests.support.uploading import jpeg

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OUTSIDE = """(width) => [...document.querySelectorAll("main *")]
  .filter((el) => el.getClientRects().length && !el.closest(".table-wrap"))
  .map((el) => [el, el.getBoundingClientRect()])
  .filter(([, box]) => box.right > width + 0.5 || box.left < -0.5)
  .map(([el, box]) => `${el.tagName.toLowerCase()}.${el.className} ${box.left}..${box.right}`)
  .slice(0, 10)"""


@pytest.fixture
def busy_case(db):
    """A case with everything the page can show: a photo, messages, a note, a referral
    with a long organisation name, a priority with its reasons, tags."""
    cast = make_cast()
    alice = cast.users["alice"]
    report, _ = file_report(
        files=(("capture-d-ecran-de-la-conversation-whatsapp-du-12-mars.jpg", jpeg()),),
        urgency=("extortion_deadline",),
        consent_share=False,
    )
    case = services.change_status(report.case, "acknowledged", actor=alice)
    services.reply_to_reporter(case, "Nous sommes là. " * 20, actor=alice)
    reporting.post_message(
        report, "https://exemple.ma/" + "a" * 120, author=Message.Author.REPORTER
    )
    services.add_note(case, "Rappeler lundi.", actor=alice)
    services.set_tags(case, ["sextorsion", "plainte"], actor=alice)
    services.refer_case(
        case,
        to=cast.orgs["clinic"],
        service="legal",
        reason="Plainte.",
        actor=alice,
        identity=services.unlock_member_key(alice, PASSWORD),
    )
    return cast, case


@pytest.mark.parametrize("width", [390, 360])
@pytest.mark.parametrize("language", ["fr", "ar"])
def test_nothing_on_the_case_page_extends_past_a_phone_screen(
    browser, live_server, busy_case, width, language
):
    cast, case = busy_case
    client = signed_in_client(cast.users["alice"], language=language)
    context = browser.new_context(
        viewport={"width": width, "height": 800}, is_mobile=True, has_touch=True
    )
    context.add_cookies(
        [
            {"name": name, "value": morsel.value, "url": live_server.url}
            for name, morsel in client.cookies.items()
        ]
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/{language}/staff/cases/{case.pk}/")
    assert page.locator("html").get_attribute("dir") == ("rtl" if language == "ar" else "ltr")

    inner = page.evaluate("innerWidth")
    assert inner == width
    assert page.evaluate(OUTSIDE, width) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= inner
    facts = page.locator(".case-facts dd, .case-facts dt")
    assert facts.count() >= 20
    for i in range(facts.count()):
        box = facts.nth(i).bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width
    assert page.locator(".case-facts .case-status").is_visible()
    context.close()
