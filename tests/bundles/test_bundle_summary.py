"""The case summary of an evidence bundle, as HTML and as PDF (bundles/summary.py).

No database: the summary is made from plain values, and read back with pypdf.
"""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import UTC, datetime

import pytest
from fontTools.ttLib import TTFont
from PIL import Image
from pypdf import PdfReader

from bundles.summary import (
    FONT_DIR,
    HEADING_KEYS,
    Summary,
    SummaryFile,
    render_html,
    render_pdf,
)

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
SHA2 = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"

# The caller passes these translated; here, words that say which key they are.
HEADINGS = {key: f"[{key}]" for key in HEADING_KEYS} | {
    "notes_excluded": "Internal notes are not included in this bundle.",
    "messages_excluded": "The conversation with her is not included.",
    "messages_included": "The conversation with her is included.",
    "kind_image": "image (photo)",
}

FRENCH_NARRATIVE = (
    "Depuis le mois d'août, un homme m'envoie des messages depuis le compte @karim_x99.\n"
    "Il dit qu'il enverra les photos à ma famille à Fès.\n"
    "\n"
    "J'ai peur pour ma sécurité."
)
ARABIC_NARRATIVE = (
    "منذ شهر غشت يرسل لي رسائل على Instagram من الحساب @karim_x99 ويهددني بنشر الصور.\n"
    "أنشأ حساباً مزيفاً باسمي: https://facebook.com/profile.php?id=1000123456789/ ويكتب لصديقاتي."
)


def summary(**changes) -> Summary:
    base = Summary(
        language="fr",
        title="Dossier C-000123 — résumé",
        facts=[
            ("Référence du dossier", "C-000123"),
            ("Organisation exportatrice", "Association Tahadi pour l'égalité"),
            ("Demandé par", "Collectif juridique — Maître Salma Bennani"),
            ("Approuvé par", "Nadia El Idrissi"),
            ("Identifiant du paquet", "5b1e0c9e-8d8f-4c1e-9a55-2f3c7d8e9a10"),
            ("Date de l'export", "22 novembre 2026"),
            ("Région", "Fès-Meknès"),
            ("Reçu", "14 novembre 2026, 14 h"),
        ],
        narrative=FRENCH_NARRATIVE,
        identifiers="@karim_x99 (Instagram)",
        timeline=[
            ("14/11/2026 14:00", "Elle", "Signalement reçu"),
            ("22/11/2026 10:00", "Nadia El Idrissi", "Export approuvé"),
        ],
        files=[
            SummaryFile(
                name="capture d'écran du message.png",
                kind="image",
                size=48213,
                sha256=SHA,
                received="14/11/2026 14:00",
                original_path=f"data/originals/{SHA}_capture_d_ecran_du_message.png",
                working_copy_path=f"data/working-copies/{SHA}_capture_d_ecran_du_message.png",
            ),
            SummaryFile(
                name="صورة الحساب المزيف.jpg",
                kind="video",
                size=1203344,
                sha256=SHA2,
                received="14/11/2026 14:00",
                original_path=f"data/originals/{SHA2}_صورة_الحساب_المزيف.jpg",
                working_copy_path="",
            ),
        ],
        notes=[("15/11/2026 09:00", "Nadia El Idrissi", "Appel avec elle : elle confirme.")],
        messages_included=False,
        headings=HEADINGS,
    )
    return dataclasses.replace(base, **changes)


def arabic_summary(**changes) -> Summary:
    return summary(
        language="ar",
        title="الملف C-000123 — ملخص",
        facts=[("مرجع الملف", "C-000123"), ("الجهة", "فاس-مكناس")],
        narrative=ARABIC_NARRATIVE,
        timeline=[("14/11/2026 14:00", "هي", "استلام البلاغ")],
        notes=None,
        **changes,
    )


def html_of(value: Summary) -> str:
    return render_html(value).decode("utf-8")


def pdf_of(value: Summary, **kwargs) -> PdfReader:
    data = render_pdf(value, **kwargs)
    assert data.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(data))


def text_of(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


# --- HTML -------------------------------------------------------------------------------


def test_html_is_a_whole_document_in_the_summary_language_and_direction():
    html = html_of(summary())
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="fr" dir="ltr">' in html
    assert '<meta charset="utf-8">' in html
    assert "<title>Dossier C-000123 — résumé</title>" in html
    assert "<style>" in html
    assert html.rstrip().endswith("</html>")
    for key in ("facts", "narrative", "identifiers", "timeline", "files", "integrity"):
        assert f"[{key}]" in html

    arabic = html_of(arabic_summary())
    assert '<html lang="ar" dir="rtl">' in arabic
    assert "الملف C-000123 — ملخص" in arabic


def test_html_escapes_everything_it_is_given():
    html = html_of(
        summary(
            narrative="avant <script>alert(1)</script> après & fin",
            identifiers='<img src=x onerror="alert(2)">',
            facts=[("<b>Référence</b>", "C-000123 <i>x</i>")],
            timeline=[("<u>14h</u>", "<em>Elle</em>", "<a href=x>reçu</a>")],
            files=[dataclasses.replace(summary().files[0], name="<svg onload=alert(3)>.png")],
            notes=[("15/11", "<s>Nadia</s>", "<iframe></iframe>")],
            headings=HEADINGS | {"narrative": "<h1>Récit</h1>"},
        )
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt; après &amp; fin" in html
    for raw in ("<script", "<img", "<b>", "<i>", "<u>", "<em>", "<a ", "<svg", "<s>", "<iframe"):
        assert raw not in html
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html
    assert "&lt;h1&gt;Récit&lt;/h1&gt;" in html


def test_html_refers_to_nothing_outside_itself():
    html = html_of(summary())
    assert "http://" not in html
    assert "https://" not in html
    for marker in ("src=", "href=", "url(", "@import", "<link", "<script", "<img", "<iframe"):
        assert marker not in html.lower()


def test_a_link_she_gave_is_text_kept_left_to_right_not_a_link():
    html = html_of(arabic_summary())
    assert '<bdi dir="ltr">https://facebook.com/profile.php?id=1000123456789/</bdi>' in html
    assert '<bdi dir="ltr">@karim_x99</bdi>' in html
    assert "href" not in html
    assert "<a " not in html


def test_html_keeps_her_line_breaks_each_line_in_its_own_direction():
    html = html_of(summary(narrative="première ligne\r\nseconde ligne\n\nبعد سطر فارغ"))
    section = html.split("[narrative]", 1)[1].split("</section>", 1)[0]
    paragraphs = re.findall(r'<p dir="auto">(.*?)</p>', section)
    assert paragraphs == ["première ligne", "seconde ligne", "", "بعد سطر فارغ"]


def test_html_wraps_what_she_and_the_caller_gave_in_bdi():
    html = html_of(arabic_summary())
    assert "<td><bdi>C-000123</bdi></td>" in html
    assert "<h3><bdi>صورة الحساب المزيف.jpg</bdi></h3>" in html
    assert f'<code dir="ltr">{SHA}</code>' in html


def test_html_shows_notes_when_included_and_says_so_when_not():
    included = html_of(summary())
    assert "Appel avec elle : elle confirme." in included
    assert "Nadia El Idrissi" in included
    assert HEADINGS["notes_excluded"] not in included

    excluded = html_of(summary(notes=None))
    assert HEADINGS["notes_excluded"] in excluded
    assert "Appel avec elle" not in excluded

    none = html_of(summary(notes=[]))
    assert HEADINGS["notes_excluded"] not in none
    assert '<p class="muted">[none]</p>' in none


def test_html_says_whether_the_conversation_is_included():
    assert HEADINGS["messages_excluded"] in html_of(summary())
    html = html_of(summary(messages_included=True))
    assert HEADINGS["messages_included"] in html
    assert HEADINGS["messages_excluded"] not in html


def test_html_lists_every_file_with_digest_and_paths():
    html = html_of(summary())
    for item in summary().files:
        assert item.sha256 in html
        assert item.original_path in html
        assert str(item.size) in html
    assert summary().files[0].working_copy_path in html
    assert "image (photo)" in html  # a kind the caller named
    assert "<dd>video</dd>" in html  # one it did not: its code
    assert "[no_working_copy]" in html


def test_control_characters_that_would_reorder_or_hide_her_text_are_dropped():
    name = "photo\u202egpj.exe\u202c\x00\x07.png"
    value = summary(files=[dataclasses.replace(summary().files[0], name=name)])
    html = html_of(value)
    assert "photogpj.exe.png" in html
    assert "\u202e" not in html
    assert "\x00" not in html
    assert "photogpj.exe.png" in text_of(pdf_of(value))


def test_missing_headings_and_unknown_languages_are_refused():
    headings = dict(HEADINGS)
    del headings["notes_excluded"]
    with pytest.raises(ValueError, match="notes_excluded"):
        render_html(summary(headings=headings))
    with pytest.raises(ValueError, match="notes_excluded"):
        render_pdf(summary(headings=headings))
    with pytest.raises(ValueError, match="de"):
        render_html(summary(language="de"))


# --- PDF --------------------------------------------------------------------------------


def test_pdf_holds_the_summary_text():
    reader = pdf_of(summary())
    text = text_of(reader)
    assert "C-000123" in text
    for french in ("résumé", "Fès-Meknès", "Référence du dossier", "sécurité", "d'août"):
        assert french in text
    assert SHA in text
    assert "Appel avec elle : elle confirme." in text
    assert HEADINGS["messages_excluded"] in text
    assert reader.trailer["/Root"]["/Lang"] == "fr"
    assert reader.metadata.title == "Dossier C-000123 — résumé"


def test_pdf_says_when_notes_are_not_included():
    text = text_of(pdf_of(summary(notes=None)))
    assert HEADINGS["notes_excluded"] in text
    assert "Appel avec elle" not in text


def test_a_long_narrative_flows_over_numbered_pages_each_naming_the_case():
    sentence = "Il m'écrit chaque nuit depuis un nouveau compte, et je n'ose plus sortir. "
    narrative = (sentence * 300)[:20000]
    reader = pdf_of(summary(narrative=narrative))
    pages = len(reader.pages)
    assert pages >= 5
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert "Dossier C-000123" in text  # the header
        assert re.search(rf"\b{number}\s*/\s*{pages}\b", text)  # the footer
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=0.1)  # A4
    assert reader.pages[0].mediabox.height == pytest.approx(841.89, abs=0.1)


def test_an_arabic_summary_renders_right_to_left_with_her_handle_readable():
    reader = pdf_of(arabic_summary())
    text = text_of(reader)
    assert "C-000123" in text
    assert "karim_x99" in text
    assert "https://facebook.com/profile.php?id=1000123456789/" in text
    # Shaped Arabic: the letters come out in their joined (presentation) forms.
    assert re.search("[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]", text)
    assert reader.trailer["/Root"]["/Lang"] == "ar"
    # An (English) sentence in a right-to-left summary: its final stop goes to its left.
    assert ".Internal notes are not included in this bundle" in text


def test_a_latin_handle_in_an_arabic_narrative_of_a_french_summary():
    text = text_of(pdf_of(summary(narrative=ARABIC_NARRATIVE)))
    assert "karim_x99" in text
    assert "Instagram" in text


def embedded_fonts(reader: PdfReader) -> dict[str, TTFont]:
    fonts = {}
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            program = descriptor["/FontFile2"].get_object().get_data()
            fonts[str(font["/BaseFont"])] = TTFont(io.BytesIO(program))
    return fonts


@pytest.mark.parametrize("make", [summary, arabic_summary])
def test_the_fonts_embedded_are_the_vendored_dejavu(make):
    fonts = embedded_fonts(pdf_of(make()))
    assert fonts
    vendored = {
        TTFont(FONT_DIR / name)["name"].getDebugName(5)
        for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf")
    }
    for base_name, font in fonts.items():
        assert re.fullmatch(r"/[A-Z]{6}\+DejaVuSans.*", base_name), base_name
        assert font["name"].getDebugName(1) in ("DejaVu Sans", "DejaVu Sans Mono")
        assert font["name"].getDebugName(5) in vendored  # "Version 2.37"
    assert (FONT_DIR / "LICENSE-DejaVu.txt").read_text().count("Bitstream") >= 3


def test_long_names_and_characters_the_font_lacks_do_not_break_the_pdf():
    long_name = "capture_" + "x" * 300 + ".png"
    value = summary(
        narrative="J'ai peur 你好 🙏 " + "a" * 500,
        files=[dataclasses.replace(summary().files[0], name=long_name)],
    )
    text = text_of(pdf_of(value))
    assert "capture_xxxx" in text
    assert "[U+4F60][U+597D]" in text  # shown as code points, not silently lost
    assert "[U+1F64F]" in text


def test_the_same_summary_gives_the_same_pdf():
    assert render_pdf(summary()) == render_pdf(summary())
    assert render_pdf(arabic_summary()) == render_pdf(arabic_summary())


def test_the_caller_can_date_the_pdf():
    created = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    reader = pdf_of(summary(), created=created)
    assert reader.metadata.creation_date == created


# --- ready for court (issue 15, item 16) ------------------------------------------------

ZONE = "Toutes les heures : fuseau horaire Africa/Casablanca"


def photo(width: int = 2400, height: int = 1600) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 60)).save(out, "JPEG", quality=90)
    return out.getvalue()


def with_image(value: Summary, image: bytes | None) -> Summary:
    files = [dataclasses.replace(value.files[0], image=image), *value.files[1:]]
    return dataclasses.replace(value, files=files)


@pytest.mark.parametrize("make", [summary, arabic_summary])
def test_every_page_states_the_one_time_zone_of_its_times(make):
    sentence = "Il m'écrit chaque nuit depuis un nouveau compte. "
    value = dataclasses.replace(
        make(), narrative=sentence * 400, headings=HEADINGS | {"time_zone": ZONE}
    )
    reader = pdf_of(value)
    assert len(reader.pages) > 1
    for page in reader.pages:
        assert "Africa/Casablanca" in page.extract_text()
    assert ZONE in html_of(value)


@pytest.mark.parametrize("make", [summary, arabic_summary])
def test_the_conversation_is_printed_when_included_and_only_then(make):
    messages = [
        ("14/11/2026 15:00", "Elle", "Il m'a encore écrit depuis le compte @salim_77."),
        (
            "14/11/2026 16:20",
            "Association Tahadi",
            "Gardez les captures, nous préparons la plainte.",
        ),
    ]
    included = make(messages_included=True, messages=messages)
    text = text_of(pdf_of(included))
    assert "salim_77" in text
    assert "Gardez les captures" in text
    assert "Gardez les captures" in html_of(included)
    excluded = text_of(pdf_of(make(messages_included=False, messages=messages)))
    assert "Gardez les captures" not in excluded
    assert "salim_77" not in excluded


@pytest.mark.parametrize("make", [summary, arabic_summary])
def test_an_images_sanitised_copy_is_drawn_reduced_to_fit(make):
    original = photo()
    reader = pdf_of(with_image(make(), original))
    drawn = [image for page in reader.pages for image in page.images]
    assert len(drawn) == 1
    width, height = drawn[0].image.size
    assert max(width, height) <= 1600  # reduced, not the copy's full pixels
    assert width / height == pytest.approx(2400 / 1600, rel=0.01)
    assert HEADINGS["file_image"] in text_of(reader).replace("\n", " ") or make is arabic_summary
    # Not an image Pillow reads: left out, the summary is still made.
    assert not [i for p in pdf_of(with_image(make(), b"not an image")).pages for i in p.images]
    # The same copy gives the same PDF.
    assert render_pdf(with_image(make(), original)) == render_pdf(with_image(make(), original))
