"""Load drill: many reporters at once, through the pages a victim's browser uses.

    .venv/bin/python bench/load.py [--reporters 50] [--seconds 60] [--workers 4]
                                   [--return-share 0.3] [--drain-timeout 300]
                                   [--redis-url redis://127.0.0.1:6379/12]

Needs PostgreSQL on 127.0.0.1:5432 (as `make test` does) and redis-server installed;
creates a throw-away database `safe_report_load_drill` (BENCH_ADMIN_DATABASE_URL names
the server) with a partner association that takes every report (any region, capacity
100 000, a notification address, one caseworker holding its key) and a national
coordination.  Then starts, all on loopback and all stopped by itself: a private
redis-server on a free port (broker, and the rate limits' cache as production's
CACHE_URL; --redis-url uses a database of a running Redis instead), an SMTP server
(aiosmtpd) in this process, gunicorn (config/gunicorn.conf.py, --workers threaded workers),
one Celery worker (prefork, concurrency 2, as the Procfile) on a queue of this drill's
own, and beat.  DJANGO_DEBUG is off everywhere.

Each of --reporters threads is one browser (tests.support.processes.Browser: cookies, the CSRF
token of each form, the headers a browser adds to a form post, each redirect followed
as its own timed request) doing, for --seconds:

* a filing: GET the first step, POST the four steps of routing facts (each answer
  redirects to the next step's page, which is fetched), GET "in your own words", POST
  her words (multipart, through the sealing upload handler) with, for a quarter of
  them, a small photo (JPEG) and for a tenth a chat export (text file), GET the receipt
  page and read the code off it, POST "I have kept my code", GET the home page;
* or, for --return-share of filings, a return visit 5-20 s later in a new browser
  session: GET the return page, POST the code, GET her report (opened with her key),
  POST a message, GET her report again.

No pause between requests: each browser sends its next request when the last answered,
so this measures the server's capacity, not people's reading speed.  A visit begun
before the end is finished.  Afterwards the drill waits for the worker to route every
case (its email to the organisation, and one per message she wrote) and checks:

* no error: every answer as a browser expects it (200 pages, 302 after each form);
* no lost report: reports in the database = receipts handed out, and every receipt
  code handed out opens one (its scrypt lookup is in the database), messages and files
  likewise;
* every case routed: one case per report, no outbox step left, one "new case" email per
  case and one "activity" email per message, none twice.

The receipt's KDF keeps its production work factor (EVIDENCE_RECEIPT_WORK_FACTOR 17,
about 0.3 s of one core and 128 MiB per filing and per return visit): that is the real
cost of a report.  The intake rate limits (RATE_LIMIT_INTAKE_PER_MINUTE,
RATE_LIMIT_INTAKE_PER_SESSION) and RECEIPT_FAILURES_PER_MINUTE are set far above what
the drill can reach: it measures capacity, not the limiter.  CASEWORK_NOTIFY_ON_THE_HOUR
is off, so emails leave at once instead of at the next full hour.

Prints p50/p95/p99 per kind of request, requests/s and the machine's load average, as
Markdown for docs/BENCHMARKS.md; exits non-zero on any error or lost report.
"""

from __future__ import annotations

import os
import sys

# bench/queue.py shares its name with the standard library's `queue`, which logging,
# concurrent.futures and kombu import: drop this folder from the path (as bench/routing.py
# does).  It is not there when bench/drills.py imports this file as bench.load.
if os.path.dirname(os.path.abspath(__file__)) in sys.path:
    sys.path.remove(os.path.dirname(os.path.abspath(__file__)))

import argparse
import http.client
import io
import platform
import random
import re
import resource
import shutil
import statistics
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.processes import Browser  # noqa: E402 - needs the repository on the path

DB_NAME = "safe_report_load_drill"
ADMIN_URL = os.environ.get(
    "BENCH_ADMIN_DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/postgres"
)
QUEUE = "load-drill"
# casework.models.CASE_REFERENCE: this script reads emails before Django is set up.
REFERENCE = re.compile(
    r"C-(?:\d{6,}|[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{3})"
)
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
RECEIPT = re.compile(r'class="receipt-code"[^>]*>([\d ]+)<')
HTML_TAG = re.compile(r"<html lang=\"([\w-]+)\" dir=\"(\w+)\"")
# Far above anything the drill reaches: the limiter is not what is measured.
NO_LIMITS = {
    "RATE_LIMIT_INTAKE_PER_MINUTE": "1000000",
    "RATE_LIMIT_INTAKE_PER_SESSION": "1000000",
    "RECEIPT_FAILURES_PER_MINUTE": "1000000",
}

# The order in which kinds of request are printed.
KINDS = [
    "GET form step",
    "POST form step",
    "POST report (text only)",
    "POST report + photo",
    "POST report + chat export",
    "GET receipt",
    "POST code kept",
    "GET home",
    "GET return page",
    "POST receipt code",
    "GET her report",
    "POST message",
]
STEPS = ["urgency", "about"]
CATEGORIES = ["cyberharassment", "doxxing", "intimate_images", "sextortion", "impersonation"]
CATEGORIES += ["threats", "account_takeover"]
REGIONS = ["casablanca_settat", "rabat_sale_kenitra", "fes_meknes", "marrakech_safi"]
REGIONS += ["tanger_tetouan_al_hoceima", "oriental", "souss_massa", "not_said"]
URGENCY = ["physical_danger", "threat_time_place", "images_spreading", "extortion_deadline"]
SERVICES = ["listening", "psychological", "legal", "takedown"]
NARRATIVES = {
    "fr": "Il m'écrit toutes les nuits depuis un nouveau compte et menace de publier mes photos. ",
    "ar": "يرسل لي رسائل كل ليلة من حساب جديد ويهدد بنشر صوري. ",
    "en": "He writes to me every night from a new account and threatens to post my photos. ",
}


# --- what a browser sees ----------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One request: what kind, when it was sent, how long it took, how it ended."""

    kind: str
    sent: float  # time.monotonic()
    elapsed: float
    status: int  # 0: no answer (refused, reset, timed out)
    expected: bool
    language: str  # of the address (/fr/...)
    error: str = ""  # the exception's class when there was no answer
    retry_after: str | None = None
    page_language: str = ""  # <html lang dir> of an error page
    page_direction: str = ""
    body: str = ""  # the start of an unexpected answer (never her words: a page of ours)


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)  # the 16 digits, as shown
    filings_sent: int = 0  # her words POSTed, whatever the answer
    receipts_unseen: int = 0  # filed (302), but the receipt page never showed
    files_sent: int = 0  # evidence files in filings that got their receipt
    messages_sent: int = 0  # messages answered with the redirect to her page
    returns_due: deque = field(default_factory=deque)  # (when, language, code)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


class VisitFailed(Exception):
    """A request did not get the answer a browser expects: the visit stops there."""


def small_photo(seed: int) -> bytes:
    """A 640x480 JPEG with a gradient and noise (about 140 KB), like a phone screenshot
    resized by a messenger: enough for the sanitiser and the PDQ hash to do real work."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    x = np.linspace(0, 255, 640, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 255, 480, dtype=np.float32)[:, None, None]
    base = np.concatenate([x + 0 * y, y + 0 * x, (x + y) / 2], axis=2)
    pixels = np.clip(base + rng.normal(0, 40, base.shape), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


def chat_export(size: int = 20_000) -> bytes:
    line = "12/03/2026, 21:40 - Omar: سأنشر صورك إن لم تدفعي\n".encode()
    return (line * (size // len(line) + 1))[:size].rsplit(b"\n", 1)[0] + b"\n"


class Reporter:
    """One person's browser: a filing or a return visit at a time, each in a fresh
    session (a new private window), answering forms the way the pages ask."""

    def __init__(
        self,
        base: str,
        recorder: Recorder,
        rng: random.Random,
        *,
        timeout: float = 120,
        photos: list[bytes] | None = None,
        return_share: float = 0.3,
    ) -> None:
        self.base = base
        self.recorder = recorder
        self.rng = rng
        self.timeout = timeout
        self.photos = photos or []
        self.return_share = return_share

    # --- requests -----------------------------------------------------------------------

    def request(self, browser: Browser, kind: str, method: str, path: str, *, expect: int, **kw):
        sent = time.monotonic()
        try:
            answer = browser.post_form(path, **kw) if method == "POST" else browser.get(path)
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out
            sample = Sample(
                kind, sent, time.monotonic() - sent, 0, False, browser.language, type(exc).__name__
            )
            self.recorder.add(sample)
            raise VisitFailed(kind) from exc
        ok = answer.status == expect
        sample = Sample(kind, sent, answer.elapsed, answer.status, ok, browser.language)
        if not ok:
            tag = HTML_TAG.search(answer.text)
            sample = Sample(
                kind,
                sent,
                answer.elapsed,
                answer.status,
                ok,
                browser.language,
                retry_after=answer.headers.get("Retry-After"),
                page_language=tag[1] if tag else "",
                page_direction=tag[2] if tag else "",
                body=answer.text[:2000],
            )
        self.recorder.add(sample)
        if not ok:
            raise VisitFailed(kind)
        return answer

    def get_page(self, browser: Browser, kind: str, path: str) -> str:
        return self.request(browser, kind, "GET", path, expect=200).text

    def post_form(self, browser: Browser, kind: str, path: str, page: str, **kw) -> str:
        """POST the form of ``page``, with its CSRF token; returns where it leads."""
        if CSRF_FIELD.search(page) is None:
            raise VisitFailed(f"{kind}: no CSRF token on the page")
        answer = self.request(browser, kind, "POST", path, expect=302, page=page, **kw)
        return answer.headers["Location"]

    # --- visits -------------------------------------------------------------------------

    def answers(self, language: str) -> list[dict]:
        rng = self.rng
        return [
            {
                "urgency": rng.sample(URGENCY, rng.choice([0, 0, 0, 1, 2])),
                "category": rng.choice(CATEGORIES),
            },
            {
                "region": rng.choice(REGIONS),
                "language": language,
                "age_band": rng.choice(["under_18", "18_24", "25_34", "35_49", "not_said"]),
                "services": rng.sample(SERVICES, rng.randint(1, 2)),
                "consent_share": rng.choice(["yes", "no"]),
                "consent_statistics": rng.choice(["yes", "no"]),
            },
        ]

    def file(self, language: str) -> str:
        """A whole filing through the pages; returns the receipt code she was shown."""
        browser = Browser(self.base, language, timeout=self.timeout)
        path = f"/{language}/report/"
        page = self.get_page(browser, "GET form step", path)
        for name, data in zip(STEPS, self.answers(language), strict=True):
            path = f"/{language}/report/step/{name}/"
            path = self.post_form(browser, "POST form step", path, page, fields=data)
            page = self.get_page(browser, "GET form step", path)
        if path != f"/{language}/report/your-words/":
            raise VisitFailed(f"the last step led to {path}")
        roll = self.rng.random()
        # The page's form is multipart; a file field left empty still sends its part.
        files = [("evidence", "", b"", "application/octet-stream")]
        kind = "POST report (text only)"
        if roll < 0.25 and self.photos:
            files = [("evidence", "capture.jpg", self.rng.choice(self.photos), "image/jpeg")]
            kind = "POST report + photo"
        elif roll < 0.35:
            files = [("evidence", "discussion.txt", chat_export(), "text/plain")]
            kind = "POST report + chat export"
        words = {
            "narrative": NARRATIVES[language] * self.rng.randint(1, 6),
            "identifiers": "@compte_anonyme_2026, +212 600 000 000",
            "contact": "",
        }
        with self.recorder.lock:
            self.recorder.filings_sent += 1
        path = self.post_form(browser, kind, path, page, fields=words, files=files)
        page = self.receipt_page(browser, path)
        shown = RECEIPT.search(page)
        if shown is None:
            raise VisitFailed("the receipt page shows no code")
        code = shown[1].replace(" ", "")
        with self.recorder.lock:
            self.recorder.receipts.append(code)
            self.recorder.files_sent += sum(1 for _, name, _, _ in files if name)
            if self.rng.random() < self.return_share:
                later = time.monotonic() + self.rng.uniform(5, 20)
                self.recorder.returns_due.append((later, language, code))
        path = self.post_form(browser, "POST code kept", path, page)
        self.get_page(browser, "GET home", path)
        return code

    def receipt_page(self, browser: Browser, path: str) -> str:
        """Her report is filed; if the receipt page fails to show, she reloads it (the
        code waits in her session) every second for up to a minute."""
        deadline = time.monotonic() + 60
        while True:
            try:
                return self.get_page(browser, "GET receipt", path)
            except VisitFailed:
                if time.monotonic() > deadline:
                    with self.recorder.lock:
                        self.recorder.receipts_unseen += 1
                    raise
                time.sleep(1)

    def come_back(self, language: str, code: str) -> None:
        """Her return visit in a new browser session: the code, her report, a message."""
        browser = Browser(self.base, language, timeout=self.timeout)
        path = f"/{language}/return/"
        page = self.get_page(browser, "GET return page", path)
        typed = " ".join(code[i : i + 4] for i in range(0, 16, 4))
        path = self.post_form(browser, "POST receipt code", path, page, fields={"code": typed})
        page = self.get_page(browser, "GET her report", path)
        message = {"text": "Il a recommencé hier soir, depuis un autre numéro."}
        path = f"/{language}/return/message/"
        path = self.post_form(browser, "POST message", path, page, fields=message)
        with self.recorder.lock:
            self.recorder.messages_sent += 1
        self.get_page(browser, "GET her report", path.split("#")[0])

    def next_return(self) -> tuple[str, str] | None:
        with self.recorder.lock:
            due = self.recorder.returns_due
            if due and due[0][0] <= time.monotonic():
                _, language, code = due.popleft()
                return language, code
        return None

    def visit(self) -> None:
        """One visit: a return that is due, or else a new filing."""
        returning = self.next_return()
        if returning is not None:
            self.come_back(*returning)
        else:
            self.file(self.rng.choice(["fr", "fr", "ar", "ar", "en"]))


def run_reporters(
    base: str,
    recorder: Recorder,
    *,
    reporters: int,
    stop: threading.Event,
    seed: int = 2026,
    pause_after_failure: float = 0.5,
    **options,
) -> list[threading.Thread]:
    """Start ``reporters`` browser threads visiting until ``stop`` is set; a visit that
    began finishes.  After a failed visit a browser waits a moment, then starts anew
    (someone who saw an error page and tries again)."""
    photos = [small_photo(seed + i) for i in range(4)]

    def browse(number: int) -> None:
        # Seeded so that each browser makes the same choices run after run; no secret.
        rng = random.Random(seed * 1000 + number)  # noqa: S311
        reporter = Reporter(base, recorder, rng, **options)
        reporter.photos = photos
        while not stop.is_set():
            try:
                reporter.visit()
            except VisitFailed:
                stop.wait(pause_after_failure)
            except Exception as exc:  # an answer the drill cannot read: counted, not hidden
                broken = Sample("visit broke", time.monotonic(), 0.0, 0, False, "", repr(exc))
                recorder.add(broken)
                stop.wait(pause_after_failure)

    threads = [
        threading.Thread(target=browse, args=(n,), name=f"reporter-{n}", daemon=True)
        for n in range(reporters)
    ]
    for thread in threads:
        thread.start()
    return threads


# --- figures ----------------------------------------------------------------------------


def percentiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p95, p99 (inclusive method: with few samples, p99 is near the maximum)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0], ordered[0], ordered[0]
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def latency_table(samples: list[Sample]) -> list[str]:
    lines = [
        "| request | count | errors | p50 | p95 | p99 | max |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    by_kind: dict[str, list[Sample]] = {}
    for sample in samples:
        by_kind.setdefault(sample.kind, []).append(sample)
    for kind in [k for k in KINDS if k in by_kind] + sorted(set(by_kind) - set(KINDS)):
        group = by_kind[kind]
        times = [s.elapsed for s in group]
        p50, p95, p99 = percentiles(times)
        bad = sum(not s.expected for s in group)
        lines.append(
            f"| {kind} | {len(group)} | {bad} | {p50 * 1000:,.0f} ms | {p95 * 1000:,.0f} ms "
            f"| {p99 * 1000:,.0f} ms | {max(times) * 1000:,.0f} ms |"
        )
    return lines


def describe_failures(samples: list[Sample]) -> list[str]:
    """What went wrong, grouped by kind and answer, then the start of three such pages."""
    counts = Counter((s.kind, s.status, s.error) for s in samples if not s.expected)
    lines = [
        f"{n} x {kind}: {status or error}" for (kind, status, error), n in counts.most_common()
    ]
    for sample in [s for s in samples if not s.expected and s.body][:3]:
        lines.append(f"  the start of a {sample.status} answer to {sample.kind}:")
        lines.append("    " + sample.body[:600].replace("\n", "\n    "))
    return lines


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        int(line.split()[1]) // 1024 // 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return f"{os.cpu_count()} cores ({cpu}), {memory} GiB, Python {platform.python_version()}"


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (/proc/<pid>/stat)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def process_cpu() -> float:
    """This process's CPU time, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


# --- the mail server --------------------------------------------------------------------


@dataclass
class Mailbox:
    """The subjects the SMTP server accepted (only once DATA is complete)."""

    subjects: list[str] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # time.monotonic(), per subject

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.arrivals.append(time.monotonic())
        self.subjects.append(str(message["Subject"]))
        return "250 Message accepted for delivery"

    def arrived(self, reference: str) -> list[float]:
        return [t for t, s in zip(self.arrivals, self.subjects, strict=False) if reference in s]

    def by_reference(self) -> Counter[str]:
        return Counter(m[0] for s in list(self.subjects) if (m := REFERENCE.search(s)))


@contextmanager
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    import logging

    from tests.support.mailserver import serving

    # aiosmtpd logs every SMTP command at INFO; the arrivals are what is measured.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    mailbox = Mailbox()
    with serving(mailbox) as port:
        yield port, mailbox


# --- the database and the servers -------------------------------------------------------


def recreate_database(admin_url: str, name: str) -> str:
    """Drop and create ``name`` on the server of ``admin_url``; returns its URL."""
    import psycopg2

    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def migrate_and_seed(env: dict[str, str]) -> None:
    """Migrate, then what routing needs (as bench/routing.py): a partner association
    that takes every report and a national coordination, each with a member holding
    its key and a notification address.  In a child process: this one's Django may not
    be set up yet, and must not hold a connection to a database a drill restarts."""
    import subprocess

    seed = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from casework import services
from casework.models import Membership, Organization, User

def member(org, username, role):
    user = User(username=username, email=f"{username}@example.org")
    user.set_password("load drill password, long enough")
    user.save()
    services.add_member(org, user, role=role, unlocked_by=None)

partner = Organization.objects.create(
    name="Association (drill)", slug="drill-association",
    kind=Organization.Kind.PARTNER_ASSOCIATION, regions=[], capacity=100_000,
    notification_email="alerts@drill.example.org",
)
member(partner, "drill-caseworker", Membership.Role.CASEWORKER)
coordination = Organization.objects.create(
    name="Coordination (drill)", slug="drill-coordination",
    kind=Organization.Kind.NATIONAL_COORDINATOR,
    notification_email="coordination@drill.example.org",
)
member(coordination, "drill-coordinator", Membership.Role.TRIAGE_LEAD)
"""
    subprocess.run([sys.executable, "-c", seed], cwd=REPO, env=env, check=True)


def site_env(
    tmp: Path,
    *,
    database_url: str,
    broker_url: str,
    smtp_port: int,
    cache_url: str | None = None,
    **overrides: str,
) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "false",  # as in production: real error pages, no query log
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": broker_url,
        "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        # In production her new case's email waits for the next full hour (so that no
        # mail provider learns the minute she filed); here routing is checked.
        "CASEWORK_NOTIFY_ON_THE_HOUR": "false",
        "EVIDENCE_BLOB_ROOT": str(tmp / "blobs"),
        "VAR_DIR": str(tmp / "var"),
        "GUNICORN_ACCESS_LOG": "/dev/null",
        **NO_LIMITS,
        **overrides,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.pop("CACHE_URL", None)
    if cache_url:
        env["CACHE_URL"] = cache_url
    return env


@contextmanager
def redis_queue(url: str) -> Iterator[None]:
    """The drill's queue on a shared Redis: emptied before and after (it is ours alone)."""
    import redis

    client = redis.Redis.from_url(url)
    client.delete(QUEUE)
    try:
        yield
    finally:
        client.delete(QUEUE)
        client.close()


def queue_length(url: str) -> int:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return int(client.llen(QUEUE))
    finally:
        client.close()


# --- after the run: was anything lost? --------------------------------------------------


def _lookup(code: str) -> str:
    from evidence import keys

    return keys.stretch_code(code, work_factor=int(os.environ["RECEIPT_WORK_FACTOR"])).lookup


def receipt_lookups(codes: list[str], work_factor: int) -> set[str]:
    """The lookup value of each code (one scrypt each, over every core)."""
    os.environ["RECEIPT_WORK_FACTOR"] = str(work_factor)
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return set(pool.map(_lookup, codes, chunksize=8))


def wait_for(check: Callable[[], bool], *, timeout: float, every: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return check()


@dataclass
class Outcome:
    """What the database and the mail server hold once the worker is done."""

    reports: int
    cases: int
    reporter_keys: int
    messages: int
    evidence: int
    steps_left: int
    emails: int
    new_case_emails: Counter[str]
    activity_emails: Counter[str]
    messages_per_case: Counter[str]
    lookups: set[str]


def outcome(mailbox: Mailbox) -> Outcome:
    """Django must be set up in this process, on the drill's database."""
    from django.utils import translation
    from django.utils.translation import gettext

    from casework.models import Case, WorkflowStep
    from evidence.models import EvidenceItem
    from reporting.models import Message, Report, ReporterKey

    with translation.override("fr"):  # settings.LANGUAGE_CODE: the emails' language
        new_case = gettext("New case %(reference)s is waiting") % {"reference": "@"}
    new_prefix = new_case.split("@")[0]
    new_case_emails: Counter[str] = Counter()
    activity_emails: Counter[str] = Counter()
    for subject in list(mailbox.subjects):
        found = REFERENCE.search(subject)
        if found is None:
            continue
        if new_prefix in subject:
            new_case_emails[found[0]] += 1
        else:
            activity_emails[found[0]] += 1
    messages_per_case: Counter[str] = Counter()
    for case in Case.objects.all():
        messages_per_case[case.reference] = Message.objects.filter(
            report_id=case.report_id, author=Message.Author.REPORTER
        ).count()
    return Outcome(
        reports=Report.objects.count(),
        cases=Case.objects.count(),
        reporter_keys=ReporterKey.objects.count(),
        messages=Message.objects.count(),
        evidence=EvidenceItem.objects.count(),
        steps_left=WorkflowStep.objects.count(),
        emails=len(mailbox.subjects),
        new_case_emails=new_case_emails,
        activity_emails=activity_emails,
        messages_per_case=messages_per_case,
        lookups=set(ReporterKey.objects.values_list("lookup", flat=True)),
    )


def routing_problems(result: Outcome) -> list[str]:
    """Every case told once, and once more per message she wrote; nothing left to do."""
    problems = []
    if result.cases != result.reports:
        problems.append(f"{result.reports} reports but {result.cases} cases")
    if result.steps_left:
        problems.append(f"{result.steps_left} workflow steps still in the outbox")
    cases = set(result.messages_per_case)
    missing = cases - set(result.new_case_emails)
    doubled = {r: n for r, n in result.new_case_emails.items() if n > 1}
    strangers = set(result.new_case_emails) - cases
    if missing:
        problems.append(f"{len(missing)} cases got no 'new case' email")
    if doubled:
        problems.append(
            f"{len(doubled)} cases got their 'new case' email more than once: "
            + ", ".join(sorted(doubled)[:10])
        )
    if strangers:
        problems.append(f"{len(strangers)} 'new case' emails name no case")
    wrong_activity = {
        reference: (result.activity_emails.get(reference, 0), wanted)
        for reference, wanted in result.messages_per_case.items()
        if result.activity_emails.get(reference, 0) != wanted
    }
    if wrong_activity:
        sample = dict(list(wrong_activity.items())[:5])
        problems.append(
            f"{len(wrong_activity)} cases got activity emails != her messages "
            f"(sent, wanted): {sample}"
        )
    return problems


def drain(mailbox: Mailbox, broker_url: str | None, *, timeout: float) -> float:
    """Wait until every report has its case, the outbox is empty, the worker's queue is
    empty and the emails stop coming; returns how long that took."""
    from casework.models import Case, WorkflowStep
    from reporting.models import Report

    begun = time.monotonic()
    last = [-1, time.monotonic()]

    def settled() -> bool:
        if Case.objects.count() < Report.objects.count() or WorkflowStep.objects.exists():
            return False
        if broker_url is not None and queue_length(broker_url):
            return False
        count = len(mailbox.subjects)
        if count != last[0]:
            last[:] = [count, time.monotonic()]
        return time.monotonic() - last[1] >= 2.0  # nothing new for 2 s

    wait_for(settled, timeout=timeout)
    return time.monotonic() - begun


def worker_steps(log: Path) -> Counter[str]:
    """'done', 'skipped', 'retry', 'failed' as the worker logged its run_step tasks."""
    pattern = re.compile(r"Task casework\.tasks\.run_step\[[^\]]+\] succeeded in [\d.]+s: '(\w+)'")
    return Counter(pattern.findall(log.read_text(errors="replace")))


# --- the drill --------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reporters", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--workers",
        type=int,
        default=4,
        help="gunicorn workers, threaded (4 on 2 cores: the KDF keeps two busy, two more keep "
        "answering pages meanwhile)",
    )
    parser.add_argument("--return-share", type=float, default=0.3)
    parser.add_argument(
        "--redis-url",
        help="a Redis database of this drill's own for broker and cache, e.g. "
        "redis://127.0.0.1:6379/12 (default: a private redis-server on a free port)",
    )
    parser.add_argument(
        "--drain-timeout", type=float, default=300, help="seconds to wait for routing"
    )
    options = parser.parse_args()

    from tests.support.processes import (
        celery_beat,
        celery_worker,
        child_pids,
        gunicorn_server,
        private_redis,
    )

    tmp = Path(tempfile.mkdtemp(prefix="load-drill-"))
    failures: list[str] = []
    recorder = Recorder()
    try:
        with ExitStack() as stack:
            smtp_port, mailbox = stack.enter_context(smtp_server())
            database_url = recreate_database(ADMIN_URL, DB_NAME)
            if options.redis_url:
                broker_url = cache_url = options.redis_url
                stack.enter_context(redis_queue(broker_url))
            else:
                redis_port, _ = stack.enter_context(private_redis(tmp))
                broker_url = f"redis://127.0.0.1:{redis_port}/0"
                cache_url = f"redis://127.0.0.1:{redis_port}/1"
            env = site_env(
                tmp,
                database_url=database_url,
                broker_url=broker_url,
                smtp_port=smtp_port,
                # Production keeps the limits' counters in Redis (CACHE_URL is required).
                cache_url=cache_url,
            )
            migrate_and_seed(env)
            os.environ.update(env)  # this process reads the outcome through Django
            import django

            django.setup()
            url, master = stack.enter_context(
                gunicorn_server(env, tmp, workers=options.workers, timeout=120)
            )
            _, worker_log = stack.enter_context(
                celery_worker(env, tmp, queue=QUEUE, concurrency=2, name="worker")
            )
            stack.enter_context(celery_beat(env, tmp))
            # Warm every gunicorn worker (imports, database connections) untimed.
            for _ in range(4 * options.workers):
                Browser(url, "fr").get("/healthz")
            load_before = load_average()
            print(
                f"{options.reporters} reporters for {options.seconds:g} s against "
                f"gunicorn with {options.workers} workers (pids {child_pids(master.pid)}); "
                f"load average before: {load_before}",
                flush=True,
            )
            web_pids = child_pids(master.pid)
            web_cpu = cpu_seconds(web_pids)
            own_cpu = process_cpu()
            stop = threading.Event()
            begun = time.monotonic()
            threads = run_reporters(
                url,
                recorder,
                reporters=options.reporters,
                stop=stop,
                return_share=options.return_share,
            )
            load_during = []
            while time.monotonic() - begun < options.seconds:
                time.sleep(min(10, options.seconds - (time.monotonic() - begun)))
                load_during.append(os.getloadavg()[0])
                print(
                    f"  {time.monotonic() - begun:4.0f} s: {len(recorder.samples)} requests, "
                    f"{len(recorder.receipts)} receipts, load {load_during[-1]:.2f}",
                    flush=True,
                )
            stop.set()
            for thread in threads:
                thread.join(timeout=300)
            ended = time.monotonic()
            web_cpu = cpu_seconds(web_pids) - web_cpu
            own_cpu = process_cpu() - own_cpu
            load_after = load_average()
            print(f"visits finished after {ended - begun:.1f} s; waiting for routing", flush=True)
            drained = drain(mailbox, broker_url, timeout=options.drain_timeout)
            steps = worker_steps(worker_log)
            result = outcome(mailbox)
            from django.db import connections

            connections.close_all()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"checking the {len(recorder.receipts)} receipt codes (one scrypt each)", flush=True)
    lookups = receipt_lookups(recorder.receipts, work_factor=17)
    samples = recorder.samples
    errors = [s for s in samples if not s.expected]
    if errors:
        failures.append(
            f"{len(errors)} requests failed:\n    " + "\n    ".join(describe_failures(samples))
        )
    unopened = lookups - result.lookups
    if result.reports != len(recorder.receipts):
        failures.append(
            f"{result.reports} reports in the database for {len(recorder.receipts)} receipts "
            f"handed out ({recorder.filings_sent} filings sent)"
        )
    if unopened:
        failures.append(f"{len(unopened)} receipt codes handed out open no report")
    if result.messages != recorder.messages_sent:
        failures.append(f"{result.messages} messages stored for {recorder.messages_sent} sent")
    if result.evidence != recorder.files_sent:
        failures.append(f"{result.evidence} evidence items for {recorder.files_sent} files sent")
    failures += routing_problems(result)

    window = ended - begun
    visits = len(recorder.receipts) + recorder.messages_sent
    print(
        f"\n{machine()}; PostgreSQL and Redis on loopback; gunicorn {options.workers} sync "
        f"workers; one Celery worker (prefork, concurrency 2) and beat; "
        f"{options.reporters} reporters for {options.seconds:g} s (visits finished at "
        f"{window:.1f} s); receipt work factor 17; intake limits set to "
        f"{NO_LIMITS['RATE_LIMIT_INTAKE_PER_MINUTE']} (not measured); load average "
        f"(1/5/15 min) before {load_before}, after {load_after}, 1-min during "
        f"{min(load_during):.1f}-{max(load_during):.1f}\n"
    )
    print("| measure | value |")
    print("| --- | ---: |")
    print(
        f"| requests | {len(samples)} in {window:.1f} s: {len(samples) / window:.1f}/s, "
        f"{len(errors)} errors |"
    )
    print(
        f"| reports filed (receipts handed out) | {len(recorder.receipts)}: "
        f"{len(recorder.receipts) / window:.2f}/s |"
    )
    print(f"| return visits with a message | {recorder.messages_sent} |")
    print(f"| evidence files | {recorder.files_sent} sent, {result.evidence} stored |")
    print(
        f"| reports in the database / receipts handed out | {result.reports} / "
        f"{len(recorder.receipts)} ({len(unopened)} codes open nothing) |"
    )
    print(
        f"| cases / outbox steps left after {drained:.0f} s of drain | {result.cases} / "
        f"{result.steps_left} |"
    )
    print(
        f"| emails | {result.emails}: {sum(result.new_case_emails.values())} new case, "
        f"{sum(result.activity_emails.values())} activity |"
    )
    print(
        f"| worker steps done / skipped / retried | {steps['done']} / {steps['skipped']} / "
        f"{steps['retry']} |"
    )
    print(f"| visits per second (filings + return visits) | {visits / window:.2f} |")
    print(
        f"| CPU used in the window: gunicorn workers / this process (the {options.reporters} "
        f"browsers, SMTP) | {web_cpu:.0f} s / {own_cpu:.0f} s of "
        f"{(os.cpu_count() or 1) * window:.0f} "
        "core-seconds |\n"
    )
    print("\n".join(latency_table(samples)))
    if failures:
        raise SystemExit("\nFAILED:\n  " + "\n  ".join(failures))
    print("\nno error, no lost report, every case routed")


if __name__ == "__main__":
    main()
