"""PostgreSQL stopped under the reporters' feet, then started again (issue 9).

The small form of bench/drills.py's `pg-restart`: a PostgreSQL cluster of this test's
own (never the machine's, which everyone's tests share), gunicorn as in production
(DEBUG off, config/gunicorn.conf.py) pointed at it, a handful of reporters filing through
the pages in French and Arabic, and one fast stop of about five seconds.  What she must
see meanwhile is a 503 page in her language that tells her to come back, with a
Retry-After header: never a 500, never a page that hangs.  Once the database is back the
same gunicorn serves again, and the database holds nothing half-written.

The second test loses the database at the one moment the first meets only now and then:
while her session is being saved at the end of a request (a trigger makes the session
row's UPDATE terminate its own connection).

Redis down and a worker killed mid-step are tested in tests/casework/test_workflow_worker.py.
"""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest
from django.utils import translation
from django.utils.translation import gettext

from evidence import keys
from tests.reporting.test_intake_pages import STEPS
from tests.support.processes import (
    REPO,
    Answer,
    Browser,
    PrivatePostgres,
    child_env,
    child_pids,
    gunicorn_server,
    half_written,
    private_postgres,
    private_redis,
    wait_until,
)

WORDS = {"narrative": "Il publie mes photos depuis un faux compte.", "identifiers": "@x"}
REPORT = {
    "urgency": [],
    "category": "threats",
    "region": "casablanca_settat",
    "language": "ar",
    "age_band": "18_24",
    "services": ["listening"],
    "consent_share": True,
    "consent_statistics": False,
    "narrative": "يهددني منذ أسبوع.",
}
NO_FILE = [("evidence", "", b"", "application/octet-stream")]
OK = {200, 302, 503}  # pages, redirects after forms, and the outage's answer
RECEIPT = re.compile(r'class="receipt-code"[^>]*>([\d ]+)<')
SEED = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from casework import services
from casework.models import Membership, Organization, User
org = Organization.objects.create(
    name="Association", slug="association", kind=Organization.Kind.PARTNER_ASSOCIATION,
    capacity=1000,
)
user = User(username="caseworker", email="caseworker@example.org")
user.set_password("a caseworker's long password")
user.save()
services.add_member(org, user, role=Membership.Role.CASEWORKER, unlocked_by=None)
"""


@dataclass
class Seen:
    """One answer a reporter got: when it was sent, to what, in which language."""

    sent: float
    path: str
    language: str
    answer: Answer


class Reporters:
    """Browsers filing reports through the pages, over and over, until stopped.  After
    an answer other than the one the page leads to, she starts again from the start."""

    def __init__(self, site: str, languages: list[str]) -> None:
        self.site = site
        self.languages = languages
        self.seen: list[Seen] = []
        self.receipts: list[str] = []
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(lang,)) for lang in languages]

    def request(self, browser: Browser, path: str, page: str | None = None, **kw) -> Answer:
        sent = time.monotonic()
        try:
            answer = browser.get(path) if page is None else browser.post_form(path, page, **kw)
        except (OSError, http.client.HTTPException) as exc:  # no answer at all
            self.failures.append(f"{path}: {type(exc).__name__} after {time.monotonic() - sent}")
            raise
        self.seen.append(Seen(sent, path, browser.language, answer))
        return answer

    def file(self, lang: str) -> bool:
        browser = Browser(self.site, lang, timeout=30)
        page = self.request(browser, f"/{lang}/report/")
        if page.status != 200:
            return False
        for name, fields in STEPS:
            answer = self.request(browser, f"/{lang}/report/step/{name}/", page.text, fields=fields)
            if answer.status != 302:
                return False
            page = self.request(browser, answer.headers["Location"])
            if page.status != 200:
                return False
        path = f"/{lang}/report/your-words/"
        answer = self.request(browser, path, page.text, fields=WORDS, files=NO_FILE)
        if answer.status != 302:
            return False
        receipt = self.request(browser, answer.headers["Location"])
        shown = RECEIPT.search(receipt.text)
        if receipt.status != 200 or shown is None:
            return False
        self.receipts.append(shown[1].replace(" ", ""))
        return True

    def run(self, lang: str) -> None:
        while not self.stop.is_set():
            try:
                filed = self.file(lang)
            except (OSError, http.client.HTTPException):
                filed = False  # noted in self.failures
            if not filed:
                self.stop.wait(0.2)

    def __enter__(self) -> Reporters:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


def unavailable_title(lang: str) -> str:
    with translation.override(lang):
        return gettext("The site is briefly unavailable")


@dataclass
class PrivateSite:
    cluster: PrivatePostgres
    database: str
    url: str
    gunicorn: subprocess.Popen
    blobs: Path


@pytest.fixture
def private_site(tmp_path) -> Iterator[PrivateSite]:
    """gunicorn as in production (DEBUG off, 2 workers) on a PostgreSQL cluster of this
    test's own, migrated, with an association that holds a key; a private Redis as
    broker, and no worker (the workflow's steps wait in the outbox)."""
    with ExitStack() as stack:
        cluster = stack.enter_context(private_postgres())
        database = cluster.create_database("safe_report")
        redis_port, _ = stack.enter_context(private_redis(tmp_path))
        broker = f"redis://127.0.0.1:{redis_port}/0"
        blobs = tmp_path / "blobs"
        env = child_env(
            DATABASE_URL=database,
            DJANGO_DEBUG="false",  # production's error pages, not the debug page
            CELERY_BROKER_URL=broker,
            CELERY_RESULT_BACKEND=broker,
            CACHE_URL=None,
            EVIDENCE_RECEIPT_WORK_FACTOR="10",
            EVIDENCE_MEMBER_WORK_FACTOR="10",
            EVIDENCE_BLOB_ROOT=str(blobs),
            VAR_DIR=str(tmp_path / "var"),
            GUNICORN_ACCESS_LOG="/dev/null",
            # The limits are not under test; filing as fast as the server answers would
            # otherwise meet them (issue 9's intake limits).
            RATE_LIMIT_INTAKE_PER_MINUTE="100000",
            RATE_LIMIT_INTAKE_PER_SESSION="100000",
        )
        subprocess.run([sys.executable, "-c", SEED], cwd=REPO, env=env, check=True, timeout=120)
        url, master = stack.enter_context(gunicorn_server(env, tmp_path, workers=2))
        wait_until(lambda: len(child_pids(master.pid)) == 2, timeout=30, what="2 workers")
        yield PrivateSite(cluster, database, url, master, blobs)


def assert_unavailable_page(answer: Answer, lang: str) -> None:
    """The 503 page in her language, asking her to come back."""
    assert answer.status == 503, answer.text[:2000]
    assert int(answer.headers["Retry-After"]) > 0
    direction = "rtl" if lang == "ar" else "ltr"
    assert f'<html lang="{lang}" dir="{direction}">' in answer.text
    assert unavailable_title(lang) in answer.text


def test_a_database_restart_answers_503_in_her_language_then_the_same_gunicorn_serves_again(
    private_site,
):
    site, cluster, master = private_site.url, private_site.cluster, private_site.gunicorn
    database, blobs = private_site.database, private_site.blobs
    workers = child_pids(master.pid)

    # Two browsers stopped mid-way through the steps when the database goes.
    waiting = {}
    for lang in ("fr", "ar"):
        browser = Browser(site, lang, timeout=30)
        page = browser.get(f"/{lang}/report/")
        first = browser.post_form(f"/{lang}/report/step/urgency/", page.text, STEPS[0][1])
        assert first.status == 302
        waiting[lang] = (browser, browser.get(f"/{lang}/report/step/about/").text)

    with Reporters(site, ["fr", "ar", "fr", "ar"]) as reporters:
        wait_until(lambda: len(reporters.receipts) >= 4, timeout=30, what="4 reports")
        cluster.stop("fast")
        stopped = time.monotonic()
        probes = {
            lang: browser.post_form(f"/{lang}/report/step/about/", page, STEPS[1][1])
            for lang, (browser, page) in waiting.items()
        }
        api = Browser(site, "ar", timeout=30).request("POST", "/api/reports/", json_body=REPORT)
        time.sleep(max(0.0, stopped + 5 - time.monotonic()))
        cluster.start()
        restarted = time.monotonic()
        filed_before_restart = len(reporters.receipts)
        wait_until(
            lambda: (
                len(reporters.receipts) >= filed_before_restart + 4
                and time.monotonic() > restarted + 4
            ),
            timeout=30,
            what="4 more reports once the database is back",
        )

    # During the outage: a 503 page in her language, asking her to come back later.
    assert unavailable_title("ar") != unavailable_title("fr") != unavailable_title("en")
    for lang, answer in probes.items():
        assert_unavailable_page(answer, lang)
    assert api.status == 503
    assert int(api.headers["Retry-After"]) > 0

    # What the reporters met all along: pages, redirects and 503s; no 500, no hang.
    assert reporters.failures == []
    others = [(s.path, s.answer.status) for s in reporters.seen if s.answer.status not in OK]
    assert others == [], [s.answer.text[:1000] for s in reporters.seen if s.answer.status == 400]
    slowest = max(s.answer.elapsed for s in reporters.seen)
    assert slowest < 10, f"a request took {slowest:.1f} s"
    unavailable = [s for s in reporters.seen if s.answer.status == 503]
    assert unavailable, "no reporter met the outage"
    for seen in unavailable:
        assert seen.answer.headers["Retry-After"]
        assert f'<html lang="{seen.language}"' in seen.answer.text
        assert unavailable_title(seen.language) in seen.answer.text
    # Once it is back, every request succeeds (two seconds for the restart to settle).
    settled = [s for s in reporters.seen if s.sent > restarted + 2]
    assert settled
    assert all(s.answer.status in (200, 302) for s in settled)

    # The same gunicorn and the same workers: nothing was restarted to recover.
    assert master.poll() is None
    assert child_pids(master.pid) == workers

    # Nothing half-written: each report whole, each payload with its row.
    # A filing the outage cut keeps its payloads: its COMMIT may have gone through with
    # the answer lost (tests/reporting/test_commit_lost.py), so only the hourly sweep,
    # finding no row that names them, removes them.  Nothing else may be half-written.
    problems = {what: n for what, n in half_written(database, blobs).items() if n}
    problems.pop("payloads no row refers to", None)
    assert problems == {}
    connection = psycopg2.connect(database)
    with connection.cursor() as cursor:
        cursor.execute("SELECT lookup FROM reporting_reporterkey")
        lookups = {lookup for (lookup,) in cursor.fetchall()}
        cursor.execute(
            "SELECT count(*) FROM casework_case c WHERE NOT EXISTS (SELECT 1 FROM"
            " casework_workflowstep w WHERE w.case_id = c.id AND w.kind = 'new_case')"
        )
        cases_without_step = cursor.fetchone()[0]
    connection.close()
    assert cases_without_step == 0
    # Every receipt handed out opens a report.  A report whose receipt this drill never
    # read is one whose receipt page met the outage (the code waits, sealed, in her
    # session: a reload shows it) or, in the rare case that a COMMIT's answer is lost,
    # one whose filing was answered 503.  Her report and that session commit together.
    shown = {keys.stretch_code(code, work_factor=10).lookup for code in reporters.receipts}
    assert shown <= lookups
    unread = sum(
        1
        for s in reporters.seen
        if s.path.endswith(("/your-words/", "/report/receipt/")) and s.answer.status == 503
    )
    assert len(lookups) - len(shown) <= unread


# Every UPDATE of a session row loses its connection, as if the server went away at that
# very moment: a database superuser's backend may terminate itself.
DROP_CONNECTION_ON_SESSION_SAVE = """
CREATE FUNCTION drill_drop_connection() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_terminate_backend(pg_backend_pid());
    RETURN NEW;
END $$;
CREATE TRIGGER drill_drop_connection BEFORE UPDATE ON django_session
FOR EACH ROW EXECUTE FUNCTION drill_drop_connection();
"""


def test_a_database_lost_while_her_session_is_saved_answers_503_not_400(private_site):
    browser = Browser(private_site.url, "ar", timeout=30)
    page = browser.get("/ar/report/")
    first = browser.post_form("/ar/report/step/urgency/", page.text, STEPS[0][1])
    assert first.status == 302  # created
    page = browser.get("/ar/report/step/about/")
    connection = psycopg2.connect(private_site.database)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(DROP_CONNECTION_ON_SESSION_SAVE)
    connection.close()

    answer = browser.post_form("/ar/report/step/about/", page.text, STEPS[1][1])

    assert_unavailable_page(answer, "ar")
