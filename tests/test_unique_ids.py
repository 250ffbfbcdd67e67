"""Every id on every page is unique, and every label points at a field that exists
(issue 15, item 8: the label of the caseworkers' internal note put the cursor in the
box of the reply to her, because both fields had the id "id_text").

Real Chromium walks her pages (home, every step of the report with scripts off, the
receipt, the return page, her report with messages and a question) and the guide, then
the staff pages of each role: the queue, a case with notes, messages, evidence, a
referral and a bundle asked for, the referrals, the members, the coordination's
statistics and escalations, a lawyer's bundle page.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from bundles import services as bundle_services
from bundles.recipients import add_recipient
from casework import services
from reporting import services as reporting
from reporting.models import Message
from tests.evidence.agetool import keygen
from tests.support.cast import PASSWORD, file_report, make_cast, signed_in_client
from tests.support.uploading import jpeg

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}

PROBLEMS = """() => {
  const seen = new Map();
  for (const el of document.querySelectorAll("[id]")) seen.set(el.id, (seen.get(el.id) || 0) + 1);
  const duplicated = [...seen].filter(([, n]) => n > 1).map(([id, n]) => `${id} x${n}`);
  const dangling = [...document.querySelectorAll("label[for]")]
    .filter((label) => !document.getElementById(label.htmlFor))
    .map((label) => `label for=${label.htmlFor}`);
  return [...duplicated, ...dangling];
}"""


class Checker:
    """Collects every page's problems, so that one run names them all."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}
        self.pages = 0

    def check(self, page: Page) -> None:
        self.pages += 1
        problems = page.evaluate(PROBLEMS)
        if problems:
            self.found[page.url] = problems


def _fill_and_continue(page: Page) -> None:
    """Answer whatever the step asks, the simplest way, and go on: the first choice of
    each question (after the first, so that "in danger now" does not end the walk),
    one tick, a few words, yes to consents."""
    page.evaluate(
        """() => {
      const form = document.querySelector("form.intake") || document.querySelector("form");
      const groups = new Map();
      for (const input of form.querySelectorAll("input[type=radio], input[type=checkbox]")) {
        if (!groups.has(input.name)) groups.set(input.name, []);
        groups.get(input.name).push(input);
      }
      for (const [name, inputs] of groups) {
        const yes = inputs.find((i) => i.value === "yes");
        const no = inputs.find((i) => i.value === "no" || i.value === "none");
        const pick = yes || (name === "urgency" ? no : null);
        (pick || inputs[inputs.length > 1 ? 1 : 0]).checked = true;
      }
      for (const box of form.querySelectorAll("textarea")) box.value = "Il publie mes photos.";
      for (const select of form.querySelectorAll("select")) {
        const option = [...select.options].find((o) => o.value);
        if (!select.value && option) select.value = option.value;
      }
      for (const input of form.querySelectorAll("input[type=text][required]")) input.value = "x";
    }"""
    )
    page.locator("form button[type=submit]:visible").last.click()


def test_her_pages_have_unique_ids_and_labels_that_point_somewhere(browser, live_server):
    make_cast()
    checker = Checker()
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="fr-FR")
    page = context.new_page()
    for path in ("/fr/", "/ar/", "/fr/guide/", "/fr/guide/talk-to-someone/"):
        page.goto(live_server.url + path)
        checker.check(page)
    page.goto(f"{live_server.url}/fr/guide/")
    page.locator("main a[href*='/guide/']").first.click()
    checker.check(page)

    page.goto(f"{live_server.url}/fr/report/")
    steps = 0
    while "/report/receipt/" not in page.url:
        checker.check(page)
        assert page.locator("form").count(), f"no form to go on with at {page.url}"
        _fill_and_continue(page)
        steps += 1
        assert steps < 15, f"the walk through the report stopped at {page.url}"
    checker.check(page)  # the receipt
    assert steps >= 2  # her questions, then her words

    report, pending = file_report(consent_share=False)
    alice = cast_member("alice")
    services.reply_to_reporter(report.case, "Nous sommes là.", actor=alice)
    reporting.post_message(report, "Merci.", author=Message.Author.REPORTER)
    services.refer_case(
        report.case,
        to=org("clinic"),
        service="legal",
        reason="Plainte.",
        actor=alice,
        identity=services.unlock_member_key(alice, PASSWORD),
    )
    page.goto(f"{live_server.url}/fr/return/")
    checker.check(page)
    page.locator("input[name=code]").fill(pending.display)
    page.locator("main form button[type=submit]").first.click()
    assert "/return/report/" in page.url
    assert page.locator("[data-testid=consent-question]").count() == 1
    checker.check(page)
    context.close()

    # With scripts on, what they add to the page (the quick exit, the sending notice).
    context = browser.new_context(viewport=PHONE, locale="fr-FR")
    page = context.new_page()
    for path in ("/fr/", "/ar/report/", "/fr/return/", "/fr/guide/"):
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        checker.check(page)
    context.close()

    assert checker.found == {}, checker.found


def cast_member(name: str):
    from casework.models import User

    return User.objects.get(username=name)


def org(slug: str):
    from casework.models import Organization

    return Organization.objects.get(slug=slug)


def staff_page(browser, live_server, user, *, width: int = 1280):
    client = signed_in_client(user)
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.add_cookies(
        [
            {"name": name, "value": morsel.value, "url": live_server.url}
            for name, morsel in client.cookies.items()
        ]
    )
    return context.new_page()


def test_staff_pages_have_unique_ids_and_labels_that_point_somewhere(browser, live_server):
    cast = make_cast()
    alice, leila = cast.users["alice"], cast.users["leila"]
    report, _ = file_report(files=(("capture.jpg", jpeg()),))
    case = services.change_status(report.case, "acknowledged", actor=alice)
    services.reply_to_reporter(case, "Nous sommes là.", actor=alice)
    reporting.post_message(report, "Merci.", author=Message.Author.REPORTER)
    services.add_note(case, "Rappeler lundi.", actor=alice)
    key = services.unlock_member_key(alice, PASSWORD)
    referral = services.refer_case(
        case, to=cast.orgs["clinic"], service="legal", reason="Plainte.", actor=alice, identity=key
    )
    services.accept_referral(referral, actor=leila)
    add_recipient(actor=leila, text=keygen()[1], label="Portable")
    bundle = bundle_services.request_bundle(case, actor=leila)
    for _ in range(2):  # two offers waiting in the centre's inbox, each with its form
        offered, _ = file_report()
        services.refer_case(
            offered.case,
            to=cast.orgs["centre"],
            service="listening",
            reason="Écoute.",
            actor=alice,
            identity=key,
        )
    file_report(urgency=("physical_danger",))

    checker = Checker()
    visits = {
        "alice": [
            "/fr/staff/",
            "/fr/staff/?status=closed",
            f"/fr/staff/cases/{case.pk}/",
            f"/fr/staff/cases/{case.pk}/evidence/{report.evidence.get().pk}/original/",
            "/fr/staff/password/",
        ],
        "amina": ["/fr/staff/organisation/association/members/"],
        "nadia": ["/fr/staff/referrals/"],
        "leila": [
            "/fr/staff/referrals/",
            f"/fr/staff/cases/{case.pk}/",
            f"/fr/staff/cases/{case.pk}/bundles/{bundle.uuid}/",
            "/fr/staff/my-keys/",
        ],
        "coralie": ["/fr/staff/statistics/", "/fr/staff/escalations/", "/fr/staff/"],
    }
    for name, paths in visits.items():
        page = staff_page(browser, live_server, cast.users[name])
        for path in paths:
            response = page.goto(live_server.url + path)
            assert response.status == 200, (name, path, response.status)
            checker.check(page)
        page.context.close()
    page = browser.new_page()
    page.goto(f"{live_server.url}/fr/staff/login/")
    checker.check(page)
    page.close()

    assert checker.found == {}, checker.found


def test_the_note_label_points_at_the_note_and_the_reply_says_it_goes_to_her(browser, live_server):
    cast = make_cast()
    report, _ = file_report()
    page = staff_page(browser, live_server, cast.users["alice"])
    page.goto(f"{live_server.url}/fr/staff/cases/{report.case.pk}/")

    page.get_by_text("Note interne pour vos collègues").click()
    focused = page.evaluate("document.activeElement.closest('form').action")
    assert focused.endswith(f"/staff/cases/{report.case.pk}/notes/")
    page.get_by_text("Message pour elle").click()
    focused = page.evaluate("document.activeElement.closest('form').action")
    assert focused.endswith(f"/staff/cases/{report.case.pk}/reply/")
    assert "lui est envoyé" in page.locator("form.to-her").inner_text()
    assert "elle ne voit jamais" in page.locator("form.internal-note").inner_text()
    # The two boxes do not look alike.
    colours = page.evaluate(
        """() => ["form.to-her", "form.internal-note"].map(
          (s) => getComputedStyle(document.querySelector(s)).backgroundColor)"""
    )
    assert colours[0] != colours[1]
    page.context.close()
