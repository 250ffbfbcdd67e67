"""The case summary of an evidence bundle: ``data/case-summary.html`` and ``.pdf``.

A lawyer prints the PDF for a judge; the HTML is the same content for a screen
(docs/BUNDLES.md).  Both hold what happened and the timeline, the list of evidence files
with their digests and their paths in the bag, and the internal notes only when the
approver included them (``Summary.notes`` is then a list; ``None`` says they are not
included, and the summary says so).

This module holds no translatable string: the caller passes every label, heading and
phrase already translated, in ``Summary.facts``, ``Summary.timeline`` and
``Summary.headings``; every time already written in the one time zone that
``headings["time_zone"]`` states (the PDF repeats it atop every page).  The conversation
with her, when the approver included it, is printed whole (``Summary.messages``), and the
PDF shows each image's sanitised copy as an image (``SummaryFile.image``), reduced to fit
the page; the HTML names it (it refers to nothing outside itself).
``Summary.headings`` must hold every key of ``HEADING_KEYS`` (below, with what each one is
for); ``kind_<kind>`` keys (``kind_image``...) are optional and name a file's kind, which
otherwise shows as its code.

Both files stand alone: the HTML has its style inline and refers to nothing outside
itself (no font, image, script or link), the PDF embeds the DejaVu fonts vendored in
``bundles/fonts/`` (never fetched at run time).  Everything she wrote is text, escaped in
the HTML; right-to-left (Arabic) and mixed text are laid out with the Unicode
bidirectional algorithm, each paragraph of her text in its own direction, and her handles,
addresses and links kept left-to-right inside Arabic sentences (bundles/bidi.py).
"""

from __future__ import annotations

import functools
import io
import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.template.loader import get_template
from fontTools.ttLib import TTFont
from fpdf import FPDF
from PIL import Image

from bundles import bidi

# fontTools logs (INFO) the glyphs it keeps in each font subset, and fpdf2 (WARNING) the
# characters a font lacks: what a case's summary says does not belong in the logs.
for _name in ("fontTools", "fpdf"):
    logging.getLogger(_name).setLevel(logging.ERROR)

FONT_DIR = Path(__file__).resolve().parent / "fonts"
LANGUAGES = ("fr", "ar", "en")
RTL_LANGUAGES = ("ar",)

# What the caller must pass in ``Summary.headings``, and what each one is for.
HEADING_KEYS: dict[str, str] = {
    "facts": "heading of the list of facts (case reference, organisations, dates...)",
    "narrative": "heading of what she wrote",
    "identifiers": "heading of who is doing it (handles, links)",
    "time_zone": "sentence naming the one time zone every time is written in",
    "timeline": "heading of the timeline",
    "when": "timeline column: when",
    "who": "timeline column: who",
    "what": "timeline column: what",
    "files": "heading of the list of evidence files",
    "file_kind": "label of a file's kind (image, video...)",
    "file_size": "label of a file's size, in bytes",
    "file_sha256": "label of a file's SHA-256 digest",
    "file_received": "label of when a file was received",
    "file_original": "label of the path of the original in the bundle",
    "file_working_copy": "label of the path of the sanitised copy in the bundle",
    "no_working_copy": "value of the sanitised copy when there is none",
    "file_image": "caption: the sanitised copy shown below, reduced to fit the page",
    "notes": "heading of the internal notes",
    "notes_excluded": "sentence: the internal notes are not included",
    "messages": "heading of the conversation with her",
    "messages_included": "sentence: the conversation is included (data/messages/)",
    "messages_excluded": "sentence: the conversation is not included",
    "integrity": "heading of how to check the bundle",
    "integrity_text": "paragraph: digests, manifests, signature, chain of custody",
    "none": "shown in a section with nothing in it",
}

# PDF metadata creation date when the caller gives none, so that a summary renders to
# the same bytes every time.
FIXED_CREATION_DATE = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SummaryFile:
    """One evidence file of the case."""

    name: str  # the name she gave it (may be Arabic, may be long)
    kind: str  # image, video, audio, pdf, text, archive
    size: int  # bytes
    sha256: str
    received: str  # when it was received, already formatted (to the hour)
    original_path: str  # its path in the bag: data/originals/<sha256>_<name>
    working_copy_path: str  # "" when none
    # The sanitised copy's bytes (JPEG or PNG), shown in the PDF; None: not an image.
    image: bytes | None = None


@dataclass(frozen=True)
class Summary:
    """Everything the summary shows, already translated into ``language``."""

    language: str  # "fr", "ar" or "en"; "ar" is laid out right to left
    title: str  # e.g. "Dossier C-000123 — résumé"; the PDF repeats it atop every page
    facts: list[tuple[str, str]]  # (label, value)
    narrative: str  # what she wrote
    identifiers: str  # who is doing it (handles, links), may be ""
    timeline: list[tuple[str, str, str]]  # (when, who, what)
    files: list[SummaryFile]
    notes: list[tuple[str, str, str]] | None  # (when, author, text); None: not included
    messages_included: bool
    headings: dict[str, str]  # every key of HEADING_KEYS, translated
    # The conversation, oldest first (when, who, text), when included.
    messages: Sequence[tuple[str, str, str]] = ()

    @property
    def direction(self) -> str:
        return "rtl" if self.language in RTL_LANGUAGES else "ltr"

    def check(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"unknown summary language {self.language!r}")
        missing = sorted(set(HEADING_KEYS) - set(self.headings))
        if missing:
            raise ValueError(f"summary headings missing: {', '.join(missing)}")

    def kind_name(self, kind: str) -> str:
        return self.headings.get(f"kind_{kind}", kind)


# --- HTML -------------------------------------------------------------------------------


def render_html(summary: Summary) -> bytes:
    """The summary as one standalone UTF-8 HTML document."""
    summary.check()
    context = {
        "lang": summary.language,
        "dir": summary.direction,
        "title": summary.title,
        "h": summary.headings,
        "facts": [(label, bidi.clean(value)) for label, value in summary.facts],
        "narrative": [bidi.segments(line) for line in bidi.lines(summary.narrative)],
        "identifiers": [bidi.segments(line) for line in bidi.lines(summary.identifiers)],
        "timeline": [tuple(bidi.clean(cell) for cell in row) for row in summary.timeline],
        "files": [
            {
                "name": bidi.clean(item.name),
                "kind": summary.kind_name(item.kind),
                "size": str(item.size),
                "sha256": item.sha256,
                "received": item.received,
                "original_path": bidi.clean(item.original_path),
                "working_copy_path": bidi.clean(item.working_copy_path),
            }
            for item in summary.files
        ],
        "notes_included": summary.notes is not None,
        "notes": [
            (
                bidi.clean(when),
                bidi.clean(author),
                [bidi.segments(line) for line in bidi.lines(text)],
            )
            for when, author, text in summary.notes or ()
        ],
        "messages_included": summary.messages_included,
        "messages": [
            (bidi.clean(when), bidi.clean(who), [bidi.segments(line) for line in bidi.lines(text)])
            for when, who, text in summary.messages
        ],
    }
    html = get_template("bundles/summary.html").render(context)
    return html.encode("utf-8")


# --- PDF --------------------------------------------------------------------------------

SANS, MONO = "dejavusans", "dejavusansmono"
INK, MUTED, RULE = (25, 25, 25), (90, 90, 90), (185, 185, 185)
BODY_SIZE, BODY_LINE = 10.5, 5.4
SMALL_SIZE, SMALL_LINE = 9, 4.6
MONO_SIZE = 8  # a SHA-256 digest fits on one line of the value column
FILE_BLOCK = 52  # mm, the height of a file's details, kept on one page
LABEL_WIDTH = 52  # mm, the label column of facts and file details
WHEN_WIDTH, WHO_WIDTH = 36, 38  # mm, timeline columns (what takes the rest)
IMAGE_BOX = (120, 110)  # mm, the most an image takes on the page (width, height)
IMAGE_SIDE = 1600  # px, the longest side of an image as embedded (about 300 dpi at 120 mm)
IMAGE_PIXELS = 50_000_000  # evidence/images.py makes no larger copy; refuse bigger ones


def _reduced(data: bytes) -> tuple[bytes, int, int] | None:
    """A sanitised copy as a JPEG of at most IMAGE_SIDE pixels a side (a PDF of a few
    hundred kilobytes per image, not the copy's megabytes), with its size; None if it
    is not a JPEG or PNG image Pillow reads.  Same bytes in, same bytes out."""
    try:
        with Image.open(io.BytesIO(data), formats=("JPEG", "PNG")) as image:
            if image.width * image.height > IMAGE_PIXELS:
                return None
            image.draft("RGB", (IMAGE_SIDE, IMAGE_SIDE))  # JPEG: decode at a reduced scale
            picture = image.convert("RGBA") if image.mode in ("P", "PA") else image
            if picture.mode in ("RGBA", "LA"):  # transparency on white paper
                page = Image.new("RGB", picture.size, (255, 255, 255))
                page.paste(picture, mask=picture.getchannel("A"))
                picture = page
            picture = picture.convert("RGB")
            picture.thumbnail((IMAGE_SIDE, IMAGE_SIDE))
            out = io.BytesIO()
            picture.save(out, "JPEG", quality=85)
            return out.getvalue(), picture.width, picture.height
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


@functools.cache
def _covered() -> frozenset[int]:
    """The characters DejaVu Sans draws."""
    with TTFont(FONT_DIR / "DejaVuSans.ttf", lazy=True) as font:
        return frozenset(font.getBestCmap())


def _printable(text: str) -> str:
    """For the PDF: a character the font cannot draw (a Chinese character, most emoji)
    would vanish without a trace; it is written as its code point, ``[U+4F60]``.  The
    HTML keeps them all (a browser finds a font)."""
    covered = _covered()
    if all(ord(char) in covered or char == "\n" for char in text):
        return text
    out = []
    for char in text:
        if ord(char) in covered or char == "\n":
            out.append(char)
        elif unicodedata.category(char) not in ("Cf", "Mn", "Me"):
            out.append(f"[U+{ord(char):04X}]")
        # An invisible joiner, selector or mark the font lacks is only left out.
    return "".join(out)


class _SummaryPDF(FPDF):
    def __init__(self, summary: Summary) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.summary = summary
        self.rtl = summary.direction == "rtl"
        self.set_margins(left=18, top=20, right=18)
        self.set_auto_page_break(auto=True, margin=18)
        self.add_font(SANS, "", FONT_DIR / "DejaVuSans.ttf")
        self.add_font(SANS, "B", FONT_DIR / "DejaVuSans-Bold.ttf")
        self.add_font(MONO, "", FONT_DIR / "DejaVuSansMono.ttf")
        # A glyph the monospaced font lacks (a rare Arabic letter in a file name) comes
        # from DejaVu Sans.
        self.set_fallback_fonts([SANS])
        self.set_text_shaping(True)
        self.set_title(summary.title)
        self.set_lang(summary.language)
        self.set_creator("Safe Report")
        self.set_text_color(*INK)
        self.set_draw_color(*RULE)
        self.set_line_width(0.2)

    # Every page: the title (which names the case) above, "n / N" below.

    def header(self) -> None:
        shaping = self.text_shaping
        self._style(SANS, "", 8, MUTED)
        self.set_xy(self.l_margin, 9)
        self._shape("rtl" if self.rtl else "ltr")
        self.cell(
            self.epw,
            4,
            _printable(self.summary.title),
            align="R" if self.rtl else "L",
            new_x="LMARGIN",
        )
        # One time zone for every time in the document, said on every page (a printed
        # page read alone must not leave a judge guessing).
        self.set_xy(self.l_margin, 9)
        self.cell(
            self.epw,
            4,
            _printable(self.summary.headings["time_zone"]),
            align="L" if self.rtl else "R",
            new_x="LMARGIN",
        )
        self.line(self.l_margin, 14.5, self.w - self.r_margin, 14.5)
        self.set_xy(self.l_margin, self.t_margin)
        self.text_shaping = shaping
        self._style(SANS, "", BODY_SIZE, INK)

    def footer(self) -> None:
        shaping = self.text_shaping
        # Without shaping: fpdf2 substitutes {nb} (the page count) in unshaped text only.
        self.set_text_shaping(False)
        self._style(SANS, "", 8, MUTED)
        self.set_xy(self.l_margin, -12)
        self.cell(self.epw, 4, f"{self.page_no()} / {{nb}}", align="C")
        self.text_shaping = shaping

    # Primitives.

    def _style(self, family: str, style: str, size: float, color: tuple[int, int, int]):
        self.set_font(family, style, size)
        self.set_text_color(*color)

    def _shape(self, direction: str | None) -> None:
        """Shape the following text; lay its paragraph out in ``direction`` ("ltr",
        "rtl"), or in that of its first strong character when None."""
        self.set_text_shaping(True, direction=direction)

    def _start(self) -> str:
        return "R" if self.rtl else "L"

    def _doc_direction(self) -> str:
        return "rtl" if self.rtl else "ltr"

    def _room(self, height: float) -> None:
        """A new page unless ``height`` fits on this one (or could fit on none)."""
        usable = self.page_break_trigger - self.t_margin
        if self.y + height > self.page_break_trigger and height <= usable:
            self.add_page()

    def _paragraph(
        self,
        text: str,
        *,
        own_direction: bool,
        family: str = SANS,
        style: str = "",
        size: float = BODY_SIZE,
        line: float = BODY_LINE,
        color: tuple[int, int, int] = INK,
    ) -> None:
        """One paragraph over the full width, flowing over pages.  ``own_direction``:
        hers (laid out and aligned in its own direction); else ours (the summary's)."""
        self._style(family, style, size, color)
        text = _printable(text)
        if own_direction:
            text = bidi.isolated(text)
            rtl = bidi.is_rtl(text)
            self._shape(None)
        else:
            rtl = self.rtl
            self._shape(self._doc_direction())
        self.set_x(self.l_margin)
        self.multi_cell(
            self.epw, line, text, align="R" if rtl else "L", new_x="LMARGIN", new_y="NEXT"
        )

    def _user_text(self, text: str) -> None:
        """Her text: each line a paragraph in its own direction; blank lines kept."""
        blank = False
        for line in bidi.lines(text):
            if line.strip():
                if blank:
                    self.ln(BODY_LINE * 0.6)
                self._paragraph(line, own_direction=True)
                blank = False
            else:
                blank = True

    def _heading(self, text: str, *, keep: float = 28) -> None:
        """A section heading, on the same page as the first ``keep`` mm after it."""
        self._room(keep)
        if self.y > self.t_margin + 1:
            self.ln(5)
        self._paragraph(text, own_direction=False, style="B", size=12.5, line=6.5)
        self.line(self.l_margin, self.y + 0.6, self.w - self.r_margin, self.y + 0.6)
        self.ln(2.6)

    def _none(self) -> None:
        self._paragraph(
            self.summary.headings["none"], own_direction=False, size=SMALL_SIZE, color=MUTED
        )

    def _cell_setup(self, cell: dict) -> tuple[str, str, float]:
        """Set font and shaping for a table cell; return its text, alignment and line
        height."""
        family = cell.get("family", SANS)
        size = cell.get("size", MONO_SIZE if family == MONO else BODY_SIZE)
        self._style(family, cell.get("style", ""), size, cell.get("color", INK))
        text = _printable(bidi.clean(cell["text"]))
        align = self._start()
        if cell.get("direction") == "own":
            self._shape(None)
            text = bidi.isolated(text)
        elif cell.get("direction") == "ltr":
            # A digest or a path: read left to right, wrapped lines aligned alike.
            self._shape("ltr")
            align = "L"
        else:
            self._shape(self._doc_direction())
        return text, align, cell.get("line", BODY_LINE if size > 9.5 else SMALL_LINE)

    def _cell(self, cell: dict, width: float, *, dry_run: bool = False) -> float:
        """Write a cell at the current position (or only measure it): its height."""
        text, align, line = self._cell_setup(cell)
        wrap = cell.get("wrap", "WORD")
        if dry_run:
            return self.multi_cell(
                width, line, text, align=align, wrapmode=wrap, dry_run=True, output="HEIGHT"
            )
        top = self.y
        self.multi_cell(
            width, line, text, align=align, wrapmode=wrap, new_x="LMARGIN", new_y="NEXT"
        )
        return self.y - top

    def _row(self, cells: list[dict], *, rule: bool = True) -> None:
        """Cells side by side (mirrored in a right-to-left summary), each wrapped in its
        own width.  A cell is a dict: text, width (mm), and optionally family, style,
        size, color, direction ("own": her text; "ltr"; default the summary's) and
        wrap ("CHAR" for digests and paths)."""
        height = max(self._cell(cell, cell["width"], dry_run=True) for cell in cells) + 1.6
        if height > self.page_break_trigger - self.t_margin:
            # Taller than a page: one cell after the other, flowing over pages.
            for cell in cells:
                self.set_x(self.l_margin)
                self._cell(cell, self.epw)
            return
        self._room(height)
        top = self.y + 0.8
        offset = 0.0
        for cell in cells:
            if self.rtl:
                self.set_xy(self.w - self.r_margin - offset - cell["width"], top)
            else:
                self.set_xy(self.l_margin + offset, top)
            self._cell(cell, cell["width"])
            offset += cell["width"]
        self.set_xy(self.l_margin, top - 0.8 + height)
        if rule:
            self.line(self.l_margin, self.y, self.w - self.r_margin, self.y)

    # The document.

    def build(self) -> None:
        s, h = self.summary, self.summary.headings
        self.add_page()
        self._paragraph(s.title, own_direction=False, style="B", size=16, line=8)
        self.ln(2)

        self._heading(h["facts"])
        value_width = self.epw - LABEL_WIDTH
        for label, value in s.facts:
            self._row(
                [
                    {"text": label, "width": LABEL_WIDTH, "size": SMALL_SIZE, "color": MUTED},
                    {"text": value, "width": value_width, "direction": "own"},
                ]
            )

        self._heading(h["narrative"])
        if bidi.lines(s.narrative):
            self._user_text(s.narrative)
        else:
            self._none()

        self._heading(h["identifiers"])
        if bidi.lines(s.identifiers):
            self._user_text(s.identifiers)
        else:
            self._none()

        self._heading(h["timeline"])
        if s.timeline:
            what_width = self.epw - WHEN_WIDTH - WHO_WIDTH
            head = {"style": "B", "size": SMALL_SIZE, "color": MUTED}
            self._row(
                [
                    {**head, "text": h["when"], "width": WHEN_WIDTH},
                    {**head, "text": h["who"], "width": WHO_WIDTH},
                    {**head, "text": h["what"], "width": what_width},
                ]
            )
            for when, who, what in s.timeline:
                self._row(
                    [
                        {"text": when, "width": WHEN_WIDTH, "size": SMALL_SIZE, "direction": "own"},
                        {"text": who, "width": WHO_WIDTH, "size": SMALL_SIZE, "direction": "own"},
                        {"text": what, "width": what_width, "size": SMALL_SIZE},
                    ]
                )
        else:
            self._none()

        self._heading(h["files"], keep=FILE_BLOCK + 14)
        if not s.files:
            self._none()
        for item in s.files:
            self._file(item)

        self._heading(h["notes"])
        if s.notes is None:
            self._paragraph(h["notes_excluded"], own_direction=False)
        elif not s.notes:
            self._none()
        self._said(s.notes or ())

        self._heading(h["messages"])
        self._paragraph(
            h["messages_included"] if s.messages_included else h["messages_excluded"],
            own_direction=False,
        )
        if s.messages_included:
            self.ln(2)
            if not s.messages:
                self._none()
        self._said(s.messages if s.messages_included else ())

        self._heading(h["integrity"])
        self._paragraph(h["integrity_text"], own_direction=False)

    def _said(self, entries) -> None:
        """Notes or messages: when and who in small type, then the words as written."""
        for when, who, text in entries:
            self._room(20)
            self._paragraph(
                f"{bidi.clean(when)} — {bidi.clean(who)}",
                own_direction=False,
                style="B",
                size=SMALL_SIZE,
                line=SMALL_LINE,
                color=MUTED,
            )
            self._user_text(text)
            self.ln(2)

    def _file(self, item: SummaryFile) -> None:
        h = self.summary.headings
        value_width = self.epw - LABEL_WIDTH
        self._room(FILE_BLOCK)
        self.ln(1.5)
        self._cell(
            {"text": item.name, "width": self.epw, "style": "B", "direction": "own"}, self.epw
        )
        label = {"width": LABEL_WIDTH, "size": SMALL_SIZE, "color": MUTED}
        mono = {"width": value_width, "family": MONO, "direction": "ltr", "wrap": "CHAR"}
        plain = {"width": value_width, "size": SMALL_SIZE, "direction": "own"}
        details = [
            (h["file_kind"], {**plain, "text": self.summary.kind_name(item.kind)}),
            (h["file_size"], {**plain, "text": str(item.size)}),
            (h["file_sha256"], {**mono, "text": item.sha256}),
            (h["file_received"], {**plain, "text": item.received}),
            (h["file_original"], {**mono, "text": item.original_path}),
            (
                h["file_working_copy"],
                {**mono, "text": item.working_copy_path}
                if item.working_copy_path
                else {**plain, "text": h["no_working_copy"], "direction": None},
            ),
        ]
        for name, value in details:
            self._row([{**label, "text": name}, value], rule=False)
        if item.image is not None:
            self._image(item.image)
        self.ln(1)
        self.line(self.l_margin, self.y, self.w - self.r_margin, self.y)

    def _image(self, data: bytes) -> None:
        """The sanitised copy, reduced to fit IMAGE_BOX, under a caption; a copy that
        cannot be drawn is only left out (the file itself is in the bag)."""
        reduced = _reduced(data)
        if reduced is None:
            return
        jpeg, width_px, height_px = reduced
        scale = min(IMAGE_BOX[0] / width_px, IMAGE_BOX[1] / height_px)
        width, height = width_px * scale, height_px * scale
        self._room(height + 10)
        self.ln(1)
        self._paragraph(
            self.summary.headings["file_image"],
            own_direction=False,
            size=SMALL_SIZE,
            line=SMALL_LINE,
            color=MUTED,
        )
        x = self.w - self.r_margin - width if self.rtl else self.l_margin
        self.image(io.BytesIO(jpeg), x=x, y=self.y + 1, w=width, h=height)
        self.set_y(self.y + height + 2)


def render_pdf(summary: Summary, *, created: datetime | None = None) -> bytes:
    """The summary as an A4 PDF: the title (with the case reference) atop every page,
    "n / N" at the foot.  ``created``: the PDF's creation date (the export's time);
    without it a fixed date, so that the same summary gives the same bytes."""
    summary.check()
    pdf = _SummaryPDF(summary)
    pdf.set_creation_date(created or FIXED_CREATION_DATE)
    pdf.build()
    return bytes(pdf.output())
