"""A victim files a report in Arabic, in Chromium with JavaScript off, with a photo."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest

from reporting import services
from reporting.models import Report
from tests.support.uploading import jpeg

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MARKER = b"MARKER-evidence-plaintext-must-never-touch-disk-4b1d"


def test_filing_in_arabic_without_scripts_seals_everything(
    browser, live_server, coordinator_key, blob_root, settings, tmp_path
):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    started = time.time()
    context = browser.new_context(viewport={"width": 360, "height": 740}, java_script_enabled=False)
    page = context.new_page()

    def on_rtl_page():
        assert page.locator("html").get_attribute("dir") == "rtl"
        assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.goto(f"{live_server.url}/ar/")
    page.get_by_role("link", name="تقديم بلاغ").click()
    on_rtl_page()
    # Two pages of questions, then her words: whether she is safe comes first.
    assert page.locator(".progress").inner_text() == "الخطوة 1 من 3"
    assert page.locator("main input:not([type=hidden])").first.get_attribute("name") == "urgency"
    page.get_by_label("صور حميمة لي تنتشر").check()
    page.get_by_label("ابتزاز بصور حميمة (الابتزاز الجنسي)").check()
    page.get_by_role("button", name="متابعة").click()
    on_rtl_page()
    page.get_by_label("أين تسكنين؟").select_option("souss_massa")
    # The language to answer her in comes answered with the one she reads.
    assert page.get_by_label("العربية أو الدارجة").is_checked()
    page.get_by_label("من 18 إلى 24 سنة").check()
    page.get_by_label("مساعدة في حذف المحتوى").check()
    page.locator("input[name=consent_share][value=yes]").check()
    page.locator("input[name=consent_statistics][value=yes]").check()
    page.get_by_role("button", name="متابعة").click()
    on_rtl_page()
    assert page.locator(".progress").inner_text() == "الخطوة 3 من 3"
    page.get_by_label("ماذا حدث؟ بأي لغة تشائين.").fill("يهددني بنشر صوري إن لم أدفع")
    page.locator("input[name=evidence]").set_input_files(
        files=[
            {"name": "تهديد.jpg", "mimeType": "image/jpeg", "buffer": jpeg(extra=MARKER * 50_000)}
        ]
    )
    page.get_by_role("button", name="إرسال بلاغي").click()

    on_rtl_page()
    code = page.locator(".receipt-code").inner_text()
    report = Report.objects.get()
    assert services.open_receipt(code)[0].report == report
    assert (report.category, report.region, report.language, report.consent_statistics) == (
        "sextortion",
        "souss_massa",
        "ar",
        True,
    )
    assert report.evidence.count() == 1
    new_temp_files = [
        p
        for p in Path(tempfile.gettempdir()).iterdir()
        if p.is_file() and p.stat().st_mtime >= started
    ]
    on_disk = [p for p in [*blob_root.rglob("*"), *tmp_path.rglob("*")] if p.is_file()]
    assert on_disk, "the sealed evidence should be on disk"
    for path in on_disk + new_temp_files:
        assert MARKER not in path.read_bytes(), path
    context.close()


def test_coming_back_with_the_code_without_scripts(browser, live_server, coordinator_key):
    report_facts = services.ReportFacts(
        urgency=[],
        category="doxxing",
        region="oriental",
        language="fr",
        age_band="35_49",
        services=["legal"],
        consent_share=True,
        consent_statistics=False,
    )
    pending = services.new_receipt()
    recipients = services.recipients_for(report_facts, pending)
    services.file_report(
        report_facts,
        services.ReportContent(narrative="Mon adresse circule sur un groupe Facebook."),
        [],
        pending=pending,
        recipients=recipients,
    )
    context = browser.new_context(viewport={"width": 360, "height": 740}, java_script_enabled=False)
    page = context.new_page()

    page.goto(f"{live_server.url}/fr/")
    page.get_by_role("link", name="J'ai déjà un code de suivi").click()
    page.get_by_label("Votre code de suivi").fill(pending.display.replace(" ", "-"))
    page.get_by_role("button", name="Ouvrir mon signalement").click()

    assert "Reçu : il attend une intervenante" in page.locator(".status").inner_text()
    assert "Mon adresse circule" in page.locator(".narrative").inner_text()
    page.locator("input[name=evidence]").set_input_files(
        files=[{"name": "groupe.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}]
    )
    page.get_by_role("button", name="Ajouter à mon signalement").click()
    assert "1 fichier a été ajouté" in page.locator(".notice").inner_text()
    assert "groupe.jpg" in page.locator(".files").inner_text()

    page.get_by_label("Écrire à la personne qui vous aide").fill("J'ai aussi des vocaux.")
    page.get_by_role("button", name="Envoyer", exact=True).click()
    assert "J'ai aussi des vocaux." in page.locator(".thread").inner_text()

    page.get_by_role("button", name="Fermer mon signalement sur cet appareil").click()
    page.goto(f"{live_server.url}/fr/return/report/")
    assert page.url == f"{live_server.url}/fr/return/"
    context.close()
