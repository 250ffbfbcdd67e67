"""How long filing takes her: words to read and questions to answer, page by page.

    .venv/bin/python bench/time_to_file.py [--languages fr ar en] [--port 8765] [--show]

Runs the site on its embedded defaults (a SQLite file in a temporary folder, the demo's
organisations), then walks the scripts-off path in real Chromium at 360 px, in each
language, from the home page to the receipt: home, each step, her words, the receipt.
On each page it counts what a browser renders (the visible text of the page; the header
and footer, the same on every page, once) and the questions on it, and estimates the
time as the issue that asked for it does (she answers nothing about danger, and the
first choice of every other question):

* reading: 200 words a minute (she may be reading in her second language);
* answering: 20 s a question she must answer.  A question that comes already answered
  (the language of the page she is reading) costs only its reading; so does a box she
  may leave empty (one without ``required``: the names of those doing it, a safe
  contact, her files), which she reads and passes.  A group of boxes to tick is a
  question even when ticking nothing is allowed (the urgency question: "none" is an
  answer she has to give herself);
* a closed list (``<select>``, her region) is counted as a browser shows it: its label
  and the option it shows.  Its other names (the regions) are scanned for hers, not read, and
  finding hers is the question's 20 s (Chromium's ``innerText`` lists them all);
* typing her words: 60 s, the "typical" filing (a few sentences on a phone);
* the network: each page over a slow phone network (400 ms round trip, 400 kbit/s down,
  200 kbit/s up), from the bytes Chromium actually received for it.

Prints a table per language and a Markdown block for docs/BENCHMARKS.md.  Sends traffic
to 127.0.0.1 only, and stops by itself.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORDS_PER_MINUTE = 200
SECONDS_PER_QUESTION = 20
TYPING_SECONDS = 60
RTT, DOWN, UP = 0.4, 400_000 / 8, 200_000 / 8  # seconds, bytes a second
# What she chooses on the way (the answers change no page's length much).
NARRATIVE = {
    "fr": "Il publie mes photos et m'écrit la nuit depuis mars.",
    "ar": "ينشر صوري ويراسلني ليلًا منذ مارس.",
    "en": "He posts my photos and writes to me at night since March.",
}

# The questions she must answer: one per group of choices or box she must fill; a group
# that comes answered, or a box she may leave empty, is counted apart, as reading only.
COUNT_QUESTIONS = """() => {
  const groups = new Map();
  for (const el of document.querySelectorAll('main input, main select, main textarea')) {
    if (el.type === 'hidden' || el.type === 'submit') continue;
    const key = el.name || el.id;
    const g = groups.get(key) || {answered: false, optional: false};
    if ((el.type === 'radio' || el.type === 'checkbox') && el.checked) g.answered = true;
    if (el.tagName === 'SELECT' && el.value) g.answered = true;
    if (el.type !== 'radio' && el.type !== 'checkbox' && !el.required) g.optional = true;
    groups.set(key, g);
  }
  const all = [...groups.values()];
  // The names a closed list does not show: innerText has them, the screen does not.
  const hidden = [...document.querySelectorAll('main select')].flatMap(
    s => [...s.options].filter(o => !o.selected).map(o => o.text));
  return {
    open: all.filter(g => !g.answered && !g.optional).length,
    preset: all.filter(g => g.answered || g.optional).length,
    hidden: hidden.join(' '),
  };
}"""


@dataclass
class Page:
    name: str
    words: int
    questions: int
    preset: int
    bytes_down: int
    bytes_up: int

    @property
    def reading(self) -> float:
        return self.words * 60 / WORDS_PER_MINUTE

    @property
    def answering(self) -> float:
        return self.questions * SECONDS_PER_QUESTION

    @property
    def network(self) -> float:
        # A request, its answer, and a redirect on posts (one round trip more).
        return 2 * RTT + self.bytes_down / DOWN + self.bytes_up / UP


def words_in(text: str) -> int:
    return len(re.findall(r"\w+", text))


def start_site(port: int, var: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_"))}
    env.update(
        VAR_DIR=str(var),
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    env.pop("CACHE_URL", None)
    python = sys.executable
    for command in (["migrate", "--noinput", "-v", "0"], ["seed_demo"]):
        subprocess.run(
            [python, "manage.py", *command],
            cwd=REPO,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    server = subprocess.Popen(
        [python, "manage.py", "runserver", "--noreload", "--insecure", f"127.0.0.1:{port}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("the site did not start")


def walk(browser, base: str, language: str, *, show: bool = False) -> list[Page]:
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, java_script_enabled=False, locale=language
    )
    page = context.new_page()
    received = {"down": 0, "up": 0}

    def on_response(response):
        with contextlib.suppress(Exception):  # a redirect has no body to count
            received["down"] += len(response.body())

    page.on("response", on_response)
    page.on(
        "request",
        lambda r: received.__setitem__("up", received["up"] + len(r.post_data_buffer or b"")),
    )
    pages: list[Page] = []

    def measure(name: str) -> None:
        # The header and footer are the same on every page: read once, on the first.
        text = page.locator("body" if not pages else "main").inner_text()
        count = page.evaluate(COUNT_QUESTIONS)
        if show:  # what was counted, to see where the words are
            print(
                f"--- {language} {name}\n{text}\n(not shown by the closed list: {count['hidden']})"
            )
        pages.append(
            Page(
                name,
                words_in(text) - words_in(count["hidden"]),
                count["open"],
                count["preset"],
                received["down"],
                received["up"],
            )
        )
        received.update(down=0, up=0)

    def go_on() -> None:
        page.locator("main form button[type=submit]").first.click()

    page.goto(f"{base}/{language}/")
    measure("home")
    page.locator(f"a[href='/{language}/report/']").first.click()
    while "/report/your-words/" not in page.url:  # the steps, whatever they are
        if len(pages) > 10:
            raise SystemExit(f"{language}: the steps do not end ({page.url})")
        path = page.url.rstrip("/").rsplit("/report", 1)[-1]
        measure(path.rsplit("/", 1)[-1] or "urgency")
        # Not in danger right now (nothing ticked there); elsewhere, the first choice.
        for group in page.evaluate(
            "() => [...new Set([...document.querySelectorAll("
            "'main input[type=radio], main input[type=checkbox]')].map(e => e.name))]"
        ):
            boxes = page.locator(f"main input[name={group}]")
            if group != "urgency" and not page.locator(f"input[name={group}]:checked").count():
                boxes.first.check()
        for select in page.locator("main select").all():
            if not select.input_value():
                select.select_option(index=1)
        go_on()
    measure("your words")
    page.locator("textarea[name=narrative]").fill(NARRATIVE[language])
    go_on()
    page.wait_for_url("**/report/receipt/")
    measure("receipt")
    context.close()
    # What she sends is counted on the page she sends it from.
    for before, after in itertools.pairwise(pages):
        before.bytes_up, after.bytes_up = after.bytes_up, 0
    return pages


def report(language: str, pages: list[Page]) -> tuple[float, float]:
    print(
        f"\n{language}: page, words, questions (+preset or optional), reading, answering, network s"
    )
    for p in pages:
        print(
            f"  {p.name:<12} {p.words:>4} {p.questions:>3} (+{p.preset}) "
            f"{p.reading:>6.0f} {p.answering:>6.0f} {p.network:>6.1f}"
        )
    minimum = sum(p.reading + p.answering + p.network for p in pages)
    typical = minimum + TYPING_SECONDS
    words = sum(p.words for p in pages)
    questions = sum(p.questions for p in pages)
    print(
        f"  {len(pages)} pages, {words} words, {questions} questions: "
        f"minimum {minimum / 60:.1f} min, typical {typical / 60:.1f} min"
    )
    return minimum, typical


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--languages", nargs="+", default=["fr", "ar", "en"])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--show", action="store_true", help="print each page's counted text")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    var = Path(tempfile.mkdtemp(prefix="time-to-file-"))
    server = start_site(args.port, var)
    rows = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
                args=["--no-sandbox", "--disable-gpu"],
            )
            for language in args.languages:
                pages = walk(browser, f"http://127.0.0.1:{args.port}", language, show=args.show)
                rows.append((language, pages, *report(language, pages)))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(var, ignore_errors=True)
    print("\n| language | pages | words | questions | minimum | typical (+60 s typing) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for language, pages, minimum, typical in rows:
        print(
            f"| {language} | {len(pages)} | {sum(p.words for p in pages)} | "
            f"{sum(p.questions for p in pages)} | {minimum / 60:.1f} min | {typical / 60:.1f} min |"
        )


if __name__ == "__main__":
    main()
