"""Her way through the facts steps in a real browser, to the page of her words: what the
browser tests and bench/browser_seal.py start from."""

from __future__ import annotations


def answer_the_steps(page, base: str, lang: str = "fr", category: str = "impersonation") -> None:
    page.goto(f"{base}/{lang}/report/")
    page.locator(f"input[name=category][value={category}]").check()
    page.locator("form.intake button[type=submit]").click()
    page.locator("select[name=region]").select_option("oriental")
    page.locator("input[name=age_band][value='25_34']").check()
    page.locator("input[name=services][value=takedown]").check()
    page.locator("input[name=consent_share][value=no]").check()
    page.locator("input[name=consent_statistics][value=no]").check()
    page.locator("form.intake button[type=submit]").click()
    page.wait_for_url("**/report/your-words/")
