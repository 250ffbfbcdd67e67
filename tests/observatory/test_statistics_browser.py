"""The coordination's statistics page in real Chromium, on a desk and on a phone, in
French and in Arabic: the server-drawn charts show, nothing overflows the screen, and
the page runs no script of its own."""

from __future__ import annotations

import os
import shutil

import pytest

from observatory.period import Period
from tests.support.cast import make_cast, signed_in_client
from tests.support.statistics_data import Filed, insert, realistic

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def keep(path) -> None:
    """STATISTICS_SCREENSHOTS=/some/dir keeps the pictures to look at."""
    folder = os.environ.get("STATISTICS_SCREENSHOTS")
    if folder:
        shutil.copy(path, folder)


@pytest.mark.parametrize(
    ("language", "width"), [("fr", 1280), ("fr", 360), ("ar", 360), ("ar", 1280)]
)
def test_the_charts_show_on_a_desk_and_on_a_phone(browser, live_server, tmp_path, language, width):
    cast = make_cast()
    period = Period.default()
    filed = realistic(11, list(period.months[:11]), reports=1500)
    filed += [Filed(month=period.months[11]) for _ in range(3)]  # a month under 5
    insert(filed, cast.orgs["association"])
    client = signed_in_client(cast.users["coralie"], language=language)
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.add_cookies(
        [{"name": n, "value": m.value, "url": live_server.url} for n, m in client.cookies.items()]
    )
    page = context.new_page()

    page.goto(f"{live_server.url}/{language}/staff/statistics/")

    assert page.locator("html").get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
    months = page.locator("#chart-month")
    assert months.is_visible()
    box = months.bounding_box()
    assert box["width"] <= width
    assert box["height"] > 100
    assert page.locator("#chart-month .chart-item").count() == 12
    assert page.locator("#chart-month .chart-hidden").count() >= 1
    # The hatched bar is painted with its pattern (the CSP lets presentation attributes
    # through), and the published ones in the accent colour.
    assert page.locator("#chart-month .chart-hidden").first.get_attribute("fill").startswith("url(")
    fill = page.locator("#chart-month .chart-bar").first.evaluate("e => getComputedStyle(e).fill")
    assert fill == "rgb(31, 95, 139)"
    # Nothing wider than the screen: the page never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # Each bar's number is drawn inside the chart, not cut off at its edges.
    for text in page.locator("#chart-region .chart-value").all():
        inner = text.bounding_box()
        outer = page.locator("#chart-region").bounding_box()
        assert outer["x"] - 1 <= inner["x"]
        assert inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1
    page.screenshot(path=str(tmp_path / f"statistics-{language}-{width}.png"), full_page=True)
    keep(tmp_path / f"statistics-{language}-{width}.png")
    context.close()
