"""Routing latency: from her submission to the case in its organisation's queue, and to
the organisation's notification email, on gunicorn + PostgreSQL + Redis + one worker.

    .venv/bin/python bench/routing.py [--reports 1000] [--clients 4] [--rate 0]
                                      [--poll-ms 5] [--timeout 300]

Needs PostgreSQL on 127.0.0.1:5432 (as `make test` does) and redis-server installed.
Creates a throw-away database `safe_report_bench_routing` with a partner association
(any region, capacity 100 000, a notification address and one caseworker holding its
key) and a national coordination (one member), then starts, all on loopback and all
stopped by itself:

* a private redis-server on a free port (never the machine's Redis on 6379);
* an SMTP server (aiosmtpd) in this process, which notes when each message arrives;
* gunicorn with 2 workers (config/gunicorn.conf.py);
* ONE Celery worker (prefork, concurrency 1) on a queue of this bench's own, and beat.

--clients threads then file --reports text-only reports through `POST /api/reports/`,
as fast as the server answers (or, with --rate, at that many per second in all, to see
the email's latency when the worker keeps up).  Per report it measures:

1. submit -> the case visible in the organisation's queue.  Filing opens the case and
   writes its outbox step in the filing's transaction (casework/receivers.py), so this
   is the commit; a thread of this process with its own connection polls
   `casework_case` every --poll-ms and notes when each case id first appears, once the
   poll that returned it is back (so at most one poll interval late);
2. submit -> the organisation is told: the SMTP server accepted the worker's email for
   that case (matched by the case reference, C-3F9K-Q2MX-7TD, in the subject).  This adds the
   after-commit dispatch to Redis, the worker's queue, the step itself and SMTP.

Each submission is matched to its case exactly: after the run, the receipt code the API
answered is opened (reporting.services.open_receipt) to find her report and its case.
The servers run with EVIDENCE_RECEIPT_WORK_FACTOR=10 so that filing and that look-up
are cheap: the receipt's scrypt (2^17 in production, about 0.3 s of one core per
filing) is bench/intake.py's subject, not this one's, and would otherwise set the
filing rate.  DJANGO_DEBUG is off in every process, as in production.
CASEWORK_NOTIFY_ON_THE_HOUR is off: in production the email that follows her filing
waits for the next full hour on purpose (docs/CASEWORK.md), which would measure the
clock, not the pipeline.

Also prints the worker's own figures from its log (steps done and skipped, the median
time of one step, re-sends by the outbox sweep) and checks that every case got exactly
one email.  Prints a Markdown block for docs/BENCHMARKS.md; exits non-zero if a filing
failed, a case is missing or went elsewhere, or an email is missing or doubled.
"""

from __future__ import annotations

import os
import sys

# bench/queue.py shares its name with the standard library's `queue`, which logging,
# kombu and asyncio's executors import.  Python puts the script's own folder first on
# sys.path; drop it, or `import queue` anywhere would load that file instead.
sys.path.remove(os.path.dirname(os.path.abspath(__file__)))

import argparse
import http.client
import itertools
import json
import platform
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# The test suite's process helpers (Django is not set up yet: they do not need it).
from tests.support.processes import (  # noqa: E402
    free_port,
    port_open,
    private_redis,
    running,
    wait_until,
)

DB_NAME = "safe_report_bench_routing"
ADMIN_URL = os.environ.get(
    "BENCH_ADMIN_DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/postgres"
)
DATABASE_URL = ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME
QUEUE = "bench-routing"
TARGET_P95_S = 1.0
# casework.models.case_reference: a random key in base32 groups, or an old C-000123.
REFERENCE = re.compile(r"C-(?:\d{6,}|[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{3})")
REPORT = {
    "urgency": [],
    "category": "cyberharassment",
    "region": "rabat_sale_kenitra",
    "language": "fr",
    "age_band": "25_34",
    "services": ["listening"],
    "consent_share": True,
    "consent_statistics": True,
    "narrative": "Il m'envoie des messages toutes les nuits depuis trois semaines. " * 8,
}


def started(proc: subprocess.Popen, log: Path, ready: Callable[[], bool], what: str) -> None:
    wait_until(lambda: proc.poll() is not None or ready(), timeout=60, what=what)
    if proc.poll() is not None:
        raise SystemExit(f"{what} stopped at start:\n{log.read_text(errors='replace')[-3000:]}")


def in_log(log: Path, text: str) -> Callable[[], bool]:
    return lambda: text in log.read_text(errors="replace")


# --- the mail server --------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the SMTP server accepted: (arrival, subject), noted once DATA is complete,
    and how long each conversation took from EHLO to that moment."""

    accepted: list[tuple[float, str]] = field(default_factory=list)
    conversations: list[float] = field(default_factory=list)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        session.bench_started = time.monotonic()
        return responses

    async def handle_DATA(self, server, session, envelope):
        arrived = time.monotonic()
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.accepted.append((arrived, str(message["Subject"])))
        self.conversations.append(arrived - getattr(session, "bench_started", arrived))
        return "250 Message accepted for delivery"

    def references(self) -> set[str]:
        return {m[0] for _, subject in list(self.accepted) if (m := REFERENCE.search(subject))}


@contextmanager
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    from tests.support.mailserver import serving

    mailbox = Mailbox()
    with serving(mailbox) as port:
        yield port, mailbox


# --- the processes ----------------------------------------------------------------------


@contextmanager
def web(env: dict[str, str], tmp: Path) -> Iterator[int]:
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py"]
    argv += ["config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    log = tmp / "gunicorn.log"
    with running(argv, env=env, log=log) as proc:
        started(proc, log, lambda: port_open(port), "gunicorn")
        yield port


@contextmanager
def worker(env: dict[str, str], tmp: Path) -> Iterator[Path]:
    log = tmp / "worker.log"
    argv = [sys.executable, "-m", "celery", "-A", "config", "worker"]
    argv += ["--pool=prefork", "--concurrency=1", "--queues", QUEUE, "--loglevel=INFO"]
    argv += ["--hostname", f"routing-bench-{os.getpid()}@localhost"]
    argv += ["--without-mingle", "--without-gossip", "--pidfile", str(tmp / "worker.pid")]
    with running(argv, env=env, log=log) as proc:
        started(proc, log, in_log(log, "ready."), "the Celery worker")
        yield log


@contextmanager
def beat(env: dict[str, str], tmp: Path) -> Iterator[Path]:
    log = tmp / "beat.log"
    argv = [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO"]
    argv += ["--schedule", str(tmp / "beat-schedule")]
    with running(argv, env=env, log=log) as proc:
        started(proc, log, in_log(log, "beat: Starting"), "Celery beat")
        yield log


def bench_env(tmp: Path, *, redis_port: int, smtp_port: int) -> dict[str, str]:
    broker = f"redis://127.0.0.1:{redis_port}/0"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "false",  # as in production: no query log kept per request or task
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
        "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "EVIDENCE_RECEIPT_WORK_FACTOR": "10",
        # In production her new case's email waits for the next full hour (so that no
        # mail provider learns the minute she filed); here we measure the pipeline.
        "CASEWORK_NOTIFY_ON_THE_HOUR": "false",
        "EVIDENCE_BLOB_ROOT": str(tmp / "blobs"),
        "VAR_DIR": str(tmp / "var"),
        "GUNICORN_ACCESS_LOG": "/dev/null",
    }


# --- the database -----------------------------------------------------------------------


def prepare_database() -> int:
    """A fresh database with a partner that takes every report and a coordination;
    returns the partner's id.  Runs Django in this process (os.environ is set)."""
    import psycopg2

    admin = psycopg2.connect(ADMIN_URL)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        cursor.execute(f"CREATE DATABASE {DB_NAME}")
    admin.close()

    import django

    django.setup()
    import logging

    from django.core.management import call_command

    # The SMTP server in this process logs every command at INFO through Django's root
    # handler; its arrivals are what is measured, not what is printed.
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    call_command("migrate", verbosity=0)
    from casework import services
    from casework.models import Membership, Organization, User

    def member(org: Organization, username: str, role: str) -> None:
        user = User(username=username, email=f"{username}@example.org")
        user.set_password("routing bench password, long enough")
        user.save()
        services.add_member(org, user, role=role, unlocked_by=None)

    partner = Organization.objects.create(
        name="Association (routing bench)",
        slug="routing-bench",
        kind=Organization.Kind.PARTNER_ASSOCIATION,
        regions=[],
        capacity=100_000,
        notification_email="alerts@routing-bench.example.org",
    )
    member(partner, "routing-caseworker", Membership.Role.CASEWORKER)
    coordination = Organization.objects.create(
        name="Coordination (routing bench)",
        slug="routing-bench-coordination",
        kind=Organization.Kind.NATIONAL_COORDINATOR,
        notification_email="coordination@routing-bench.example.org",
    )
    member(coordination, "routing-coordinator", Membership.Role.TRIAGE_LEAD)
    return partner.pk


class QueueWatcher(threading.Thread):
    """Polls the organisation's cases on a connection of its own; notes when each case
    id first appears (time.monotonic(), after the poll that returned it)."""

    def __init__(self, organization_id: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.organization_id = organization_id
        self.interval = interval
        self.seen: dict[int, tuple[int, float]] = {}  # case id -> (report id, first seen)
        self.poll_seconds: list[float] = []
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        import psycopg2

        try:
            connection = psycopg2.connect(DATABASE_URL)
            connection.autocommit = True  # each poll sees every commit before it
            with connection.cursor() as cursor:
                while not self.stopping.is_set():
                    begun = time.monotonic()
                    # Every case of the organisation, each poll: keys are random, so
                    # "above the highest seen" no longer means "new" (a run files a few
                    # hundred, which one index scan reads in well under a millisecond).
                    cursor.execute(
                        "SELECT id, report_id FROM casework_case WHERE organization_id = %s",
                        [self.organization_id],
                    )
                    rows = cursor.fetchall()
                    now = time.monotonic()
                    for case_id, report_id in rows:
                        if case_id not in self.seen:
                            self.seen[case_id] = (report_id, now)
                    self.poll_seconds.append(now - begun)
                    self.stopping.wait(max(0.0, self.interval - (time.monotonic() - begun)))
            connection.close()
        except BaseException as exc:  # reported by the main thread
            self.error = exc


# --- filing -----------------------------------------------------------------------------


@dataclass
class Filing:
    submitted: float
    answered: float
    status: int
    receipt_code: str | None


def post_report(port: int) -> Filing:
    body = json.dumps(REPORT).encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    submitted = time.monotonic()
    connection.request(
        "POST", "/api/reports/", body, {"Content-Type": "application/json", "Host": "localhost"}
    )
    response = connection.getresponse()
    payload = response.read()
    answered = time.monotonic()
    connection.close()
    code = json.loads(payload).get("receipt_code") if response.status == 201 else None
    return Filing(submitted, answered, response.status, code)


def file_reports(port: int, reports: int, clients: int, rate: float) -> list[Filing]:
    """``rate`` > 0: report n is sent no earlier than n / rate seconds after the start."""
    filings: list[Filing] = []
    tickets = itertools.count()  # next() on it is atomic under the GIL
    start = time.monotonic()

    def client() -> None:
        while (ticket := next(tickets)) < reports:
            if rate > 0:
                time.sleep(max(0.0, start + ticket / rate - time.monotonic()))
            filings.append(post_report(port))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return filings


def warm_up(port: int) -> None:
    """Load the URLconf and open the database and broker connections of both workers,
    without filing anything (every filing is measured)."""
    for _ in range(8):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/healthz", headers={"Host": "localhost"})
        connection.getresponse().read()
        connection.close()


def case_of(code: str) -> tuple[int, int]:
    """(case id, organisation id) of the report filed with this receipt code."""
    from reporting.services import open_receipt

    reporter, _ = open_receipt(code)
    case = reporter.report.case
    return case.pk, case.organization_id


def queue_length(redis_port: int) -> int:
    import redis

    client = redis.Redis(host="127.0.0.1", port=redis_port)
    try:
        return int(client.llen(QUEUE))
    finally:
        client.close()


def drain(redis_port: int, timeout: float) -> None:
    """Wait until no outbox step is left and the worker's queue is empty (late
    duplicates included), so that a doubled email would have arrived by now."""
    from casework.models import WorkflowStep

    wait_until(
        lambda: not WorkflowStep.objects.exists() and queue_length(redis_port) == 0,
        timeout=timeout,
        what="the outbox and the worker's queue to empty",
    )
    time.sleep(1.0)


# --- figures ----------------------------------------------------------------------------

TASK_LINE = re.compile(
    r"Task casework\.tasks\.(run_step|sweep_outbox)\[[^\]]+\] succeeded in ([\d.]+)s: '?([\w]+)'?"
)


def worker_figures(log: Path) -> dict:
    steps: Counter[str] = Counter()
    step_seconds: list[float] = []
    sweeps = resent = 0
    for kind, seconds, result in TASK_LINE.findall(log.read_text(errors="replace")):
        if kind == "run_step":
            steps[result] += 1
            if result == "done":
                step_seconds.append(float(seconds))
        else:
            sweeps += 1
            resent += int(result)
    return {
        "steps": steps,
        "step_p50": statistics.median(step_seconds) if step_seconds else 0.0,
        "step_sum": sum(step_seconds),
        "sweeps": sweeps,
        "resent": resent,
    }


def spread(seconds: list[float]) -> tuple[float, float, float]:
    ordered = sorted(seconds)
    p95 = statistics.quantiles(ordered, n=20, method="inclusive")[18] if len(ordered) > 1 else 0
    return statistics.median(ordered), p95, ordered[-1]


def ms(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{v * 1000:,.0f} ms" for v in values)


def machine(redis_port: int) -> str:
    import psycopg2
    import redis

    connection = psycopg2.connect(DATABASE_URL)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone()
        cursor.execute("SHOW shared_buffers")
        (buffers,) = cursor.fetchone()
    connection.close()
    client = redis.Redis(host="127.0.0.1", port=redis_port)
    redis_version = client.info("server")["redis_version"]
    client.close()
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
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory} GiB, Python {platform.python_version()}, "
        f"PostgreSQL {version} (shared_buffers {buffers}), Redis {redis_version}, all on "
        "loopback"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument(
        "--rate", type=float, default=0, help="reports/s in all; 0: as fast as answered"
    )
    parser.add_argument("--poll-ms", type=float, default=5, help="queue poll interval")
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds to wait for the emails after filing"
    )
    options = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="routing-bench-"))
    failures: list[str] = []
    try:
        with ExitStack() as stack:
            smtp_port, mailbox = stack.enter_context(smtp_server())
            redis_port, _ = stack.enter_context(private_redis(tmp))
            env = bench_env(tmp, redis_port=redis_port, smtp_port=smtp_port)
            os.environ.update(env)  # this process reads the database through Django too
            partner_id = prepare_database()
            port = stack.enter_context(web(env, tmp))
            worker_log = stack.enter_context(worker(env, tmp))
            stack.enter_context(beat(env, tmp))
            warm_up(port)
            description = machine(redis_port)
            load = os.getloadavg()[0]

            watcher = QueueWatcher(partner_id, options.poll_ms / 1000)
            watcher.start()
            begun = time.monotonic()
            filings = file_reports(port, options.reports, options.clients, options.rate)
            filing_seconds = max(f.answered for f in filings) - begun
            filed = [f for f in filings if f.status == 201]
            if len(filed) < len(filings):
                statuses = Counter(f.status for f in filings if f.status != 201)
                failures.append(f"{len(filings) - len(filed)} filings refused: {dict(statuses)}")
            print(f"filed {len(filed)} reports in {filing_seconds:.1f} s; waiting for the emails")

            progress = [time.monotonic()]

            def all_told() -> bool:
                if watcher.error is not None:
                    raise SystemExit(f"the queue poller failed: {watcher.error!r}")
                told = len(mailbox.references())
                if time.monotonic() - progress[0] >= 10:
                    print(f"  {len(watcher.seen)} cases in the queue, {told} emails")
                    progress[0] = time.monotonic()
                return told >= len(filed) and len(watcher.seen) >= len(filed)

            try:
                wait_until(all_told, timeout=options.timeout, what="every case's email")
            except SystemExit as exc:
                failures.append(str(exc))
            watcher.stopping.set()
            watcher.join()
            try:
                drain(redis_port, timeout=60)
            except SystemExit as exc:
                failures.append(str(exc))
            worker_stats = worker_figures(worker_log)
        # The processes are stopped: nothing competes with the receipts' look-up.
        cases = {f.receipt_code: case_of(f.receipt_code) for f in filed}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    elsewhere = [code for code, (_, org) in cases.items() if org != partner_id]
    if elsewhere:
        failures.append(f"{len(elsewhere)} cases went to another organisation")
    references = Counter(
        m[0] for _, subject in mailbox.accepted if (m := REFERENCE.search(subject))
    )
    first_email: dict[str, float] = {}
    for arrived, subject in mailbox.accepted:
        if (m := REFERENCE.search(subject)) is not None:
            first_email.setdefault(m[0], arrived)
    from casework.models import case_reference

    expected = {case_reference(case_id) for case_id, _ in cases.values()}
    missing = expected - set(references)
    doubled = {r: n for r, n in references.items() if n > 1}
    strangers = set(references) - expected
    other_mail = len(mailbox.accepted) - sum(references.values())
    for count, what in [
        (len(missing), "cases got no email"),
        (len(doubled), "cases got more than one email"),
        (len(strangers), "emails name a case nobody filed"),
        (other_mail, "emails name no case"),
    ]:
        if count:
            failures.append(f"{count} {what}")

    queued, answered, emailed, after_queue = [], [], [], []
    for filing in filed:
        case_id, _ = cases[filing.receipt_code]
        answered.append(filing.answered - filing.submitted)
        if case_id in watcher.seen:
            queued.append(watcher.seen[case_id][1] - filing.submitted)
        reference = case_reference(case_id)
        if reference in first_email:
            emailed.append(first_email[reference] - filing.submitted)
            if case_id in watcher.seen:
                after_queue.append(first_email[reference] - watcher.seen[case_id][1])
    not_seen = len(filed) - len(queued)
    if not_seen:
        failures.append(f"{not_seen} cases never appeared in the organisation's queue")
    if not queued or not emailed:
        raise SystemExit("nothing to measure:\n  " + "\n  ".join(failures))

    queue_spread = spread(queued)
    arrivals = sorted(first_email.values())
    mail_rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0
    steps = worker_stats["steps"]
    filing_ended = begun + filing_seconds
    while_filing = [t for t in arrivals if t <= filing_ended]
    after_filing = [t for t in arrivals if t > filing_ended]
    # Only meaningful when a backlog was left to drain.
    rate_after = (
        f"{len(after_filing) / (after_filing[-1] - filing_ended):.1f}"
        if len(after_filing) >= 10
        else "n/a (no backlog)"
    )
    pace = f"at {options.rate:g}/s in all" if options.rate > 0 else "as fast as answered"
    print(
        f"\n{description}; gunicorn 2 threaded workers, one Celery worker (prefork, concurrency 1) "
        f"and beat; {options.clients} clients filing {options.reports} reports {pace}; "
        f"receipt work factor 10; queue polled every {options.poll_ms:g} ms "
        f"(p50 poll {statistics.median(watcher.poll_seconds) * 1000:.1f} ms); load average "
        f"before (1 min): {load:.2f}\n"
    )
    print("| measure | value | target |")
    print("| --- | ---: | ---: |")
    print(
        f"| reports filed | {len(filed)} of {len(filings)} in {filing_seconds:.1f} s, "
        f"{len(filed) / filing_seconds:.1f} reports/s | |"
    )
    print(f"| submit → 201 answer, p50 / p95 / max | {ms(spread(answered))} | |")
    print(
        f"| **submit → case in the organisation's queue**, p50 / p95 / max | "
        f"{ms(queue_spread)} | p95 < {TARGET_P95_S:g} s: "
        f"{'**yes**' if queue_spread[1] < TARGET_P95_S else '**no**'} |"
    )
    print(f"| submit → notification email accepted, p50 / p95 / max | {ms(spread(emailed))} | |")
    print(
        f"| case in queue → email (broker, worker, SMTP), p50 / p95 / max | "
        f"{ms(spread(after_queue))} | |"
    )
    print(
        f"| emails | {sum(references.values())} for {len(expected)} cases: "
        f"{len(missing)} missing, {len(doubled)} doubled | one each |"
    )
    print(
        f"| worker: emails per second (first to last) | {mail_rate:.1f} "
        f"(the last {arrivals[-1] - begun - filing_seconds:.1f} s after the last filing) | |"
    )
    print(
        f"| worker: emails per second while filing / after | "
        f"{len(while_filing) / filing_seconds:.1f} / {rate_after} | |"
    )
    print(
        f"| SMTP conversation (EHLO → message accepted), p50 / p95 / max | "
        f"{ms(spread(mailbox.conversations))} | |"
    )
    print(
        f"| worker: steps done / skipped, median step | {steps['done']} / {steps['skipped']}, "
        f"{worker_stats['step_p50'] * 1000:.1f} ms | |"
    )
    print(
        f"| beat: outbox sweeps / steps re-sent | {worker_stats['sweeps']} / "
        f"{worker_stats['resent']} | |"
    )
    if failures:
        raise SystemExit("FAILED:\n  " + "\n  ".join(failures))


if __name__ == "__main__":
    main()
