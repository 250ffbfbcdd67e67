"""The guide in Chromium, as she would use it: Arabic, a 360-px phone, scripts off."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(
        viewport=PHONE, java_script_enabled=False, locale="ar-MA", is_mobile=True, has_touch=True
    )
    context.requests = []
    context.on("request", lambda request: context.requests.append(request.url))
    page = context.new_page()
    yield page
    # Everything the pages asked for came from this site: no font, image or script
    # from StopNCII, NCMEC or anyone else.
    assert context.requests
    assert all(url.startswith(live_server.url) for url in context.requests), context.requests
    context.close()


# Where each character of "447-2" is drawn, in the legal card's list of articles.
ARTICLE_GLYPHS_X = """() => {
  const card = document.querySelector('[data-card=legal_refs]');
  const walker = document.createTreeWalker(card, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, at = node.data.indexOf('447-2');
    if (at < 0) continue;
    return [0, 3, 4].map(i => {
      const range = document.createRange();
      range.setStart(node, at + i);
      range.setEnd(node, at + i + 1);
      return range.getBoundingClientRect().x;
    });
  }
}"""


def on_a_phone_in_arabic(page):
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_walking_to_the_stopncii_card_in_arabic_without_scripts(phone, live_server, tmp_path):
    page = phone
    page.goto(f"{live_server.url}/ar/")
    page.locator("a[href='/ar/guide/']").click()
    on_a_phone_in_arabic(page)
    page.screenshot(path=str(tmp_path / "guide-ar-start.png"), full_page=True)

    page.get_by_role("link", name="لا، ليس الآن").click()
    on_a_phone_in_arabic(page)
    page.get_by_role("link", name="نُشرت صور حميمة لي، أو قد تُنشر").click()
    on_a_phone_in_arabic(page)
    page.get_by_role("link", name="لا، عمري 18 سنة أو أكثر").click()

    page.wait_for_url(f"{live_server.url}/ar/guide/images_adult/")
    on_a_phone_in_arabic(page)
    card = page.locator("[data-card=stopncii]")
    expect(card.get_by_role("heading")).to_have_text("خدمة StopNCII: لمنع نشر صوركِ الحميمة")
    expect(card.get_by_role("link", name="StopNCII.org")).to_have_attribute(
        "rel", "noopener noreferrer"
    )
    # Its two closing actions, side by side inside the 360-px card.
    report = card.locator("[data-action=report]")
    talk = card.locator("[data-action=talk]")
    expect(report).to_have_attribute("href", "/ar/report/")
    card_box, report_box, talk_box = card.bounding_box(), report.bounding_box(), talk.bounding_box()
    for box in (report_box, talk_box):
        assert card_box["x"] <= box["x"]
        assert box["x"] + box["width"] <= card_box["x"] + card_box["width"]
        assert box["height"] >= 44  # big enough for a thumb
    # "الفصل 447-2" shows 447-2 (read left to right), not 2-447.
    four, hyphen, two = page.evaluate(ARTICLE_GLYPHS_X)
    assert four < hyphen < two
    page.screenshot(path=str(tmp_path / "guide-ar-stopncii.png"), full_page=True)

    talk.click()
    on_a_phone_in_arabic(page)
    page.get_by_label("الجهة").select_option("souss_massa")
    page.locator(".guide-region button").click()
    page.wait_for_url("**/ar/guide/talk-to-someone/?from=images_adult&region=souss_massa")
    on_a_phone_in_arabic(page)
    expect(page.locator(".guide-centres h3")).to_have_text("الجمعية الشريكة في الجهة")
    expect(page.locator("a.back")).to_have_attribute("href", "/ar/guide/images_adult/")
    page.screenshot(path=str(tmp_path / "guide-ar-talk.png"), full_page=True)


def test_in_danger_the_numbers_are_on_the_first_screen(phone, live_server, tmp_path):
    page = phone
    page.goto(f"{live_server.url}/ar/guide/")
    page.get_by_role("link", name="نعم، أو لستُ متأكدة").click()

    page.wait_for_url(f"{live_server.url}/ar/guide/danger/")
    on_a_phone_in_arabic(page)
    police = page.locator("a[href='tel:19']").first
    box = police.bounding_box()
    # Without scrolling, under the sticky header with the quick exit.
    assert box["y"] > 0
    assert box["y"] + box["height"] <= PHONE["height"]
    expect(police).to_have_text("19")
    page.screenshot(path=str(tmp_path / "guide-ar-danger.png"))
