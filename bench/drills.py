"""Fault drills: PostgreSQL restarted, Redis down, a worker killed, each under load.

    .venv/bin/python bench/drills.py [pg-restart] [redis-down] [worker-kill]
                                     [slow-loris] [slow-upload]
                                     [--reporters 10] [--workers 2] [--work-factor 10]
                                     [--kills 4] [--keep] [--no-supervisor]
                                     [--lorises 3,6,10] [--drip-seconds 5]
                                     [--loris-seconds 150] [--upload-mb 200] [--rate-kib 100]

With no name, runs them all, each in a process of its own.  Each drill starts its own
site on loopback, as bench/load.py does (gunicorn with config/gunicorn.conf.py and DEBUG
off, beat, an SMTP server in this process, the routing data of bench/load.py) with one
Celery worker that is started again 5 s after it exits with a failure, as systemd does
for deploy/systemd/safe-report-worker.service (Restart=on-failure, RestartSec=5;
--no-supervisor leaves it dead, and each exit is reported either way).  It sends
--reporters browsers filing and coming back through the pages (bench/load.py's
reporters), breaks one thing, and prints what every request got, what the database
holds, and a verdict: PASS or FAIL with the reasons.  Exits non-zero if a drill fails.
PostgreSQL on 127.0.0.1:5432 is used for redis-down and worker-kill (a database
`safe_report_fault_drills` of their own); pg-restart needs the server programs only.

pg-restart   A PostgreSQL cluster of the drill's own (initdb in a temporary folder, on a
             free port; never the machine's server, which other people's tests use).
             `pg_ctl restart -m fast`, then later `pg_ctl stop -m fast`, 5 s down,
             `pg_ctl start`, the load going on throughout.  Passes if every request that
             met the outage got a 503 page in the language of its address (dir="rtl" in
             Arabic) with Retry-After, none got a 500 or no answer or took over 10 s, all
             requests succeed again once it is back, with the same gunicorn workers; and
             nothing is half-written: each report has its case, its reporter key, its
             sealed words with their header, each evidence item its custody and its
             payload, every receipt shown opens a report, and every case is routed.
             Payloads without a row are counted (the hourly orphan sweep removes them
             two hours after the hour their times are stamped with).
redis-down   A private redis-server, which is the broker and, as production requires
             (CACHE_URL), the rate limits' counters.  SIGKILLed under load, started
             again (empty, as after a crash) 15 s later.  Passes if every request
             succeeded all along (reports accepted without Redis) and every case is
             routed, its email sent once, after Redis is back.
worker-kill  One Celery worker (prefork, concurrency 2, as the Procfile).  --kills times,
             at a moment a workflow step is running, alternately: SIGKILL to one pool
             process (as the OOM killer does), then to the whole worker (master and
             pool), which its supervisor starts again.  Passes if every step ends done
             exactly once: one "new case" email per case and one "activity" email per
             message she wrote, none missing, none twice, the outbox empty.
slow-loris   gunicorn as deploy/ starts it (config/gunicorn.conf.py), and before it the
             configuration it had until issue 16 (sync workers, 120 s per request),
             in the same run.  --lorises N connections each post a form announcing
             1 MB, send its CSRF token (so the site reads the body) and then one byte
             every --drip-seconds; cut off, each connects again at once.  Meanwhile
             /healthz every 2 s and filings through the pages, one after the other.
             Passes if, after, with the first N: every /healthz and every request of
             the filings answered within 2 s, and no worker was replaced.  The other
             values of N (after only) show where the threads run out.
slow-upload  The same two configurations: a filing through the pages whose words carry
             one file of --upload-mb MiB (200: EVIDENCE_MAX_FILE_MB's default) sent at
             --rate-kib KiB/s (100: a phone on a poor network), 35 minutes in all.
             Passes if, after, it is answered with the redirect to her receipt, the
             file is stored at its full size, and no worker was replaced.
             --upload-configurations chooses one of the two.

The drills run with CASEWORK_STEP_LEASE_SECONDS=20 and CASEWORK_OUTBOX_SWEEP_SECONDS=5
(production: 420 and 15): a step whose worker died waits out its lease before the sweep
takes it back, and 7 minutes per drill would only measure waiting.  The receipt's work
factor is 10 unless --work-factor says otherwise (production: 17; bench/load.py measures
that cost): the drills are about what breaks, not about speed.  The intake limits are
set out of reach, as in bench/load.py.
"""

from __future__ import annotations

import os
import sys

# bench/queue.py would shadow the standard library's queue (see bench/load.py).
if os.path.dirname(os.path.abspath(__file__)) in sys.path:
    sys.path.remove(os.path.dirname(os.path.abspath(__file__)))

import argparse
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.load import (  # noqa: E402 - needs the repository on the path
    ADMIN_URL,
    CSRF_FIELD,
    QUEUE,
    REFERENCE,
    Browser,
    Mailbox,
    Recorder,
    Reporter,
    Sample,
    VisitFailed,
    drain,
    latency_table,
    load_average,
    migrate_and_seed,
    outcome,
    receipt_lookups,
    recreate_database,
    routing_problems,
    run_reporters,
    site_env,
    smtp_server,
    worker_steps,
)
from tests.support.processes import (  # noqa: E402
    celery_beat,
    child_pids,
    free_port,
    gunicorn_server,
    half_written,
    port_open,
    private_postgres,
    private_redis,
    running,
    wait_until,
)

DB_NAME = "safe_report_fault_drills"
HANG_SECONDS = 10.0
# A request sent this long after the database is back must succeed: the time for each
# gunicorn worker's next request to find its old connection dead and open a new one.
SETTLE_SECONDS = 2.0
API_REPORT = {
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
# The two pages of questions, as a browser half-way through them sends them.
FIRST_STEP = {"urgency": [], "category": "doxxing"}
SECOND_STEP = {
    "region": "casablanca_settat",
    "language": "fr",
    "age_band": "18_24",
    "services": ["listening"],
    "consent_share": "no",
    "consent_statistics": "no",
}
DRILL_ENV = {"CASEWORK_STEP_LEASE_SECONDS": "20", "CASEWORK_OUTBOX_SWEEP_SECONDS": "5"}


@dataclass
class Site:
    tmp: Path
    env: dict[str, str]
    url: str
    master: subprocess.Popen
    mailbox: Mailbox
    redis_port: int
    redis: subprocess.Popen
    blobs: Path
    worker: Supervisor
    started: float = field(default_factory=time.monotonic)


@dataclass
class Verdict:
    """What a drill saw and decided."""

    name: str
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def say(self, line: str = "") -> None:
        self.lines.append(line)
        print(line, flush=True)

    def check(self, ok: bool, failure: str) -> None:
        if not ok:
            self.failures.append(failure)


class Supervisor:
    """One Celery worker (prefork, concurrency 2, as the Procfile), started again 5 s
    after it exits with a failure, as systemd does for deploy/systemd's worker unit
    (Restart=on-failure, RestartSec=5).  Notes every exit, with the worker's last
    critical log line."""

    def __init__(self, env: dict[str, str], tmp: Path, *, restart: bool) -> None:
        self.env = env
        self.tmp = tmp
        self.restart = restart
        self.exits: list[tuple[float, int, str]] = []  # when, exit status, why
        self.logs: list[Path] = []
        self.current: subprocess.Popen | None = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def argv(self, generation: int) -> list[str]:
        argv = [sys.executable, "-m", "celery", "-A", "config", "worker"]
        argv += ["--pool=prefork", "--concurrency=2", "--queues", QUEUE, "--loglevel=INFO"]
        argv += ["--hostname", f"drill-{os.getpid()}-{generation}@localhost"]
        return [*argv, "--without-mingle", "--without-gossip"]

    def _run(self) -> None:
        generation = 0
        while not self.stopping.is_set():
            generation += 1
            log = self.tmp / f"worker-{generation}.log"
            self.logs.append(log)
            with log.open("wb") as out:
                self.current = subprocess.Popen(
                    self.argv(generation),
                    cwd=REPO,
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
                status = self.current.wait()
            if self.stopping.is_set():
                return
            critical = [
                line.split(" CRITICAL ", 1)[1]
                for line in log.read_text(errors="replace").splitlines()
                if " CRITICAL " in line
            ]
            why = critical[-1][:200] if critical else f"status {status}"
            self.exits.append((time.monotonic(), status, why))
            if status == 0 or not self.restart:
                return
            self.stopping.wait(5)

    def ready(self) -> bool:
        alive = self.current is not None and self.current.poll() is None
        return alive and "ready." in self.logs[-1].read_text(errors="replace")

    def pid(self) -> int:
        if self.current is None:
            raise RuntimeError("the worker has not started")
        return self.current.pid

    def __enter__(self) -> Supervisor:
        self.thread.start()
        wait_until(self.ready, timeout=60, what="the Celery worker")
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        if self.current is not None and self.current.poll() is None:
            self.current.terminate()
            try:
                self.current.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.current.kill()
        self.thread.join(timeout=30)

    def steps(self) -> Counter[str]:
        done: Counter[str] = Counter()
        for log in self.logs:
            done += worker_steps(log)
        return done


@contextmanager
def site(
    tmp: Path, database_url: str, *, workers: int, work_factor: int, supervise: bool
) -> Iterator[Site]:
    """SMTP, a private Redis (broker and cache), the database migrated and seeded,
    gunicorn, beat and one supervised worker.  Django is set up in this process on the
    drill's database, to read the outcome."""
    with ExitStack() as stack:
        smtp_port, mailbox = stack.enter_context(smtp_server())
        redis_port, redis = stack.enter_context(private_redis(tmp))
        env = site_env(
            tmp,
            database_url=database_url,
            broker_url=f"redis://127.0.0.1:{redis_port}/0",
            smtp_port=smtp_port,
            # Production requires CACHE_URL: the limits' counters live in Redis too.
            cache_url=f"redis://127.0.0.1:{redis_port}/1",
            EVIDENCE_RECEIPT_WORK_FACTOR=str(work_factor),
            EVIDENCE_MEMBER_WORK_FACTOR="10",
            **DRILL_ENV,
        )
        migrate_and_seed(env)
        os.environ.update(env)
        import django

        django.setup()
        url, master = stack.enter_context(gunicorn_server(env, tmp, workers=workers, timeout=120))
        wait_until(lambda: len(child_pids(master.pid)) == workers, timeout=30, what="workers")
        stack.enter_context(celery_beat(env, tmp))
        worker = stack.enter_context(Supervisor(env, tmp, restart=supervise))
        for _ in range(4 * workers):  # warm every gunicorn worker, untimed
            Browser(url, "fr").get("/healthz")
        yield Site(tmp, env, url, master, mailbox, redis_port, redis, tmp / "blobs", worker)


@contextmanager
def load(url: str, reporters: int) -> Iterator[Recorder]:
    recorder = Recorder()
    stop = threading.Event()
    # Short pauses after a failure: a reporter who met an error page tries again soon,
    # so the outage is met by many requests.
    threads = run_reporters(url, recorder, reporters=reporters, stop=stop, timeout=60)
    try:
        yield recorder
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=180)


def statuses(samples: list[Sample]) -> str:
    counts = Counter(s.status if s.status else s.error for s in samples)
    return ", ".join(f"{status}: {n}" for status, n in sorted(counts.items(), key=str)) or "none"


def overlaps(sample: Sample, start: float, end: float) -> bool:
    return sample.sent <= end and sample.sent + sample.elapsed >= start


def error_page_problems(samples: list[Sample]) -> list[str]:
    """A 503 must say Retry-After and speak the language of its address."""
    problems = []
    for sample in samples:
        if sample.status != 503:
            continue
        direction = "rtl" if sample.language == "ar" else "ltr"
        if not sample.retry_after:
            problems.append(f"a 503 to {sample.kind} has no Retry-After")
        elif sample.page_language != sample.language or sample.page_direction != direction:
            problems.append(
                f"a 503 to {sample.kind} in /{sample.language}/ came as lang="
                f"{sample.page_language!r} dir={sample.page_direction!r}"
            )
    return sorted(set(problems))


def check_outcome(
    verdict: Verdict,
    place: Site,
    recorder: Recorder,
    work_factor: int,
    database_url: str,
    drain_timeout: float,
) -> None:
    """Routing done, nothing lost, nothing half-written."""
    drained = drain(place.mailbox, place.env["CELERY_BROKER_URL"], timeout=drain_timeout)
    result = outcome(place.mailbox)
    from django.db import connections

    connections.close_all()
    lookups = receipt_lookups(recorder.receipts, work_factor)
    unopened = lookups - result.lookups
    verdict.say(
        f"database: {result.reports} reports for {len(recorder.receipts)} receipts shown "
        f"({recorder.filings_sent} filings sent), {result.cases} cases, {result.messages} "
        f"messages for {recorder.messages_sent} sent, {result.evidence} evidence items for "
        f"{recorder.files_sent} files sent"
    )
    verdict.say(
        f"routing, after {drained:.0f} s of drain: {result.emails} emails "
        f"({sum(result.new_case_emails.values())} new case, "
        f"{sum(result.activity_emails.values())} activity), {result.steps_left} steps left"
    )
    verdict.check(not unopened, f"{len(unopened)} receipt codes shown open no report")
    extra = result.reports - len(lookups)
    verdict.check(extra >= 0, "fewer reports than receipts shown")
    if recorder.receipts_unseen:
        verdict.say(
            f"{recorder.receipts_unseen} filings were answered with the redirect to the "
            "receipt, but its page failed for a minute of reloads"
        )
    if extra > recorder.receipts_unseen:
        verdict.say(
            f"{extra - recorder.receipts_unseen} reports are stored whose filing was "
            "answered with an error page (committed, then the answer failed)"
        )
    verdict.check(
        result.messages >= recorder.messages_sent,
        f"{result.messages} messages stored for {recorder.messages_sent} acknowledged",
    )
    verdict.check(
        result.evidence >= recorder.files_sent,
        f"{result.evidence} evidence items stored for {recorder.files_sent} acknowledged",
    )
    for problem in routing_problems(result):
        verdict.check(False, problem)
    for when, status, why in place.worker.exits:
        verdict.say(
            f"FINDING: the Celery worker exited (status {status}) {when - place.started:.1f} s "
            f"into the drill: {why}"
            + (
                "; restarted 5 s later, as systemd's Restart=on-failure would"
                if place.worker.restart
                else ""
            )
        )
    counts = half_written(database_url, place.blobs)
    orphans = counts.pop("payloads no row refers to")
    partials = counts.pop("partial payload files")
    verdict.say(
        "half-written: "
        + ", ".join(f"{what} {n}" for what, n in counts.items())
        + f"; payloads no row refers to {orphans}, partial files {partials}"
    )
    for what, n in counts.items():
        verdict.check(n == 0, f"{n} {what}")
    if orphans or partials:
        verdict.say(
            f"  {orphans + partials} blob files without a row: the hourly sweep "
            "(evidence.tasks.sweep_orphan_blobs) removes them two hours after their hour stamp"
        )


# --- the drills -------------------------------------------------------------------------


def pg_restart(options: argparse.Namespace, tmp: Path) -> Verdict:
    verdict = Verdict("pg-restart")
    with private_postgres() as cluster:
        database_url = cluster.create_database("safe_report")
        with site(
            tmp,
            database_url,
            workers=options.workers,
            work_factor=options.work_factor,
            supervise=options.supervise,
        ) as place:
            workers_before = child_pids(place.master.pid)
            marks: dict[str, float] = {}
            with load(place.url, options.reporters) as recorder:
                time.sleep(8)
                marks["restart"] = time.monotonic()
                cluster.restart("fast")
                marks["restarted"] = time.monotonic()
                time.sleep(10)
                # Two reporters half-way through the steps, and the API, while it is down.
                waiting = {}
                for lang in ("fr", "ar"):
                    browser = Browser(place.url, lang)
                    page = browser.get(f"/{lang}/report/").text
                    browser.post_form(f"/{lang}/report/step/urgency/", page, FIRST_STEP)
                    waiting[lang] = (browser, browser.get(f"/{lang}/report/step/about/").text)
                marks["stop"] = time.monotonic()
                cluster.stop("fast")
                probes = {
                    f"/{lang}/ form step": browser.post_form(
                        f"/{lang}/report/step/about/", page, SECOND_STEP
                    )
                    for lang, (browser, page) in waiting.items()
                }
                probes["/api/reports/ (Accept-Language: ar)"] = Browser(place.url, "ar").request(
                    "POST", "/api/reports/", json_body=API_REPORT
                )
                probes["/healthz"] = Browser(place.url, "fr").get("/healthz")
                time.sleep(max(0.0, marks["stop"] + 5 - time.monotonic()))
                marks["start"] = time.monotonic()
                cluster.start()
                marks["started"] = time.monotonic()
                time.sleep(15)
            workers_after = child_pids(place.master.pid)
            samples = recorder.samples
            begun = min(s.sent for s in samples)
            verdict.say(
                f"restart -m fast took {marks['restarted'] - marks['restart']:.2f} s; "
                f"stop -m fast at {marks['stop'] - begun:.1f} s, start at "
                f"{marks['start'] - begun:.1f} s, ready at {marks['started'] - begun:.1f} s"
            )
            restart = [s for s in samples if overlaps(s, marks["restart"], marks["restarted"])]
            down = [s for s in samples if overlaps(s, marks["stop"], marks["started"])]
            after = [s for s in samples if s.sent > marks["started"] + SETTLE_SECONDS]
            met = {id(s) for s in restart + down + after}
            outside = [s for s in samples if id(s) not in met and s.status != 503]
            verdict.say(f"requests during the restart ({len(restart)}): {statuses(restart)}")
            verdict.say(f"requests during the 5 s stop ({len(down)}): {statuses(down)}")
            verdict.say(f"requests once it was back ({len(after)}): {statuses(after)}")
            verdict.say(f"all requests ({len(samples)}): {statuses(samples)}")
            for what, answer in probes.items():
                verdict.say(
                    f"probe while stopped, {what}: {answer.status}, Retry-After "
                    f"{answer.headers.get('Retry-After')}, {answer.elapsed * 1000:.0f} ms"
                    + (f", {answer.text.strip()}" if what == "/healthz" else "")
                )
            verdict.check(
                all(s.status != 500 for s in samples), "a request was answered 500 (see above)"
            )
            wrong = [s for s in restart + down if not s.expected and s.status not in (0, 503)]
            verdict.check(
                not wrong, f"during the outage, answers other than 503: {statuses(wrong)}"
            )
            verdict.check(all(s.status for s in samples), "a request got no answer")
            slow = max(s.elapsed for s in samples)
            verdict.check(slow < HANG_SECONDS, f"a request took {slow:.1f} s")
            verdict.check(any(s.status == 503 for s in down), "no request met the stopped database")
            for problem in error_page_problems(samples):
                verdict.check(False, problem)
            for what, answer in probes.items():
                if what != "/healthz":
                    verdict.check(answer.status == 503, f"{what} answered {answer.status}")
                    verdict.check(
                        bool(answer.headers.get("Retry-After")), f"{what}: no Retry-After"
                    )
            verdict.check(all(s.expected for s in after), f"once it was back: {statuses(after)}")
            verdict.check(
                all(s.expected for s in outside),
                f"away from the outage: {statuses([s for s in outside if not s.expected])}",
            )
            verdict.check(
                workers_after == workers_before and place.master.poll() is None,
                f"gunicorn's workers changed: {workers_before} -> {workers_after}",
            )
            refused_filings = [
                s for s in samples if s.kind.startswith("POST report") and s.status == 503
            ]
            verdict.say(f"filings answered 503: {len(refused_filings)}")
            failures = [s for s in samples if s.status in (400, 500) and s.body]
            for sample in failures[:2]:
                verdict.say(f"a {sample.status} to {sample.kind}:\n{sample.body[:1500]}")
            check_outcome(
                verdict, place, recorder, options.work_factor, database_url, options.drain_timeout
            )
            verdict.say("\n".join(latency_table(samples)))
    return verdict


def redis_down(options: argparse.Namespace, tmp: Path) -> Verdict:
    verdict = Verdict("redis-down")
    database_url = recreate_database(ADMIN_URL, DB_NAME)
    with (
        site(
            tmp,
            database_url,
            workers=options.workers,
            work_factor=options.work_factor,
            supervise=options.supervise,
        ) as place,
        ExitStack() as again,  # Redis started again: until routing is checked
    ):
        with load(place.url, options.reporters) as recorder:
            time.sleep(8)
            killed = time.monotonic()
            place.redis.kill()  # as a crash would
            place.redis.wait()
            healthz_down = Browser(place.url, "fr").get("/healthz")
            time.sleep(15)
            again.enter_context(private_redis(tmp, port=place.redis_port))
            back = time.monotonic()
            time.sleep(15)
        samples = recorder.samples
        down = [s for s in samples if overlaps(s, killed, back)]
        verdict.say(
            f"/healthz while Redis was down: {healthz_down.status} {healthz_down.text.strip()}"
        )
        verdict.say(f"requests while Redis was down ({len(down)}): {statuses(down)}")
        verdict.say(f"all requests ({len(samples)}): {statuses(samples)}")
        filed_down = sum(1 for s in down if s.kind.startswith("POST report") and s.status == 302)
        verdict.say(f"reports filed while Redis was down: {filed_down}")
        verdict.check(all(s.expected for s in samples), f"requests failed: {statuses(samples)}")
        verdict.check(filed_down > 0, "no report was filed while Redis was down")
        slow = max(s.elapsed for s in samples)
        verdict.say(f"slowest request: {slow:.2f} s")
        verdict.check(slow < HANG_SECONDS, f"a request took {slow:.1f} s")
        for sample in [s for s in samples if not s.expected and s.body][:2]:
            verdict.say(f"a {sample.status} to {sample.kind}:\n{sample.body[:1500]}")
        back_at = time.monotonic()
        check_outcome(
            verdict, place, recorder, options.work_factor, database_url, options.drain_timeout
        )
        verdict.say(f"(routing checked {time.monotonic() - back_at:.0f} s after the load ended)")
        verdict.say("\n".join(latency_table(samples)))
    return verdict


def _running_step() -> Callable[[], bool]:
    """A step claimed within the last second: a live worker is doing it now (a step
    left "running" by a worker killed earlier is older)."""
    from datetime import timedelta

    from django.utils import timezone

    from casework.models import WorkflowStep

    lease = int(DRILL_ENV["CASEWORK_STEP_LEASE_SECONDS"])
    return lambda: WorkflowStep.objects.filter(
        state="running", lease_until__gt=timezone.now() + timedelta(seconds=lease - 1)
    ).exists()


def worker_kill(options: argparse.Namespace, tmp: Path) -> Verdict:
    verdict = Verdict("worker-kill")
    database_url = recreate_database(ADMIN_URL, DB_NAME)
    with site(
        tmp,
        database_url,
        workers=options.workers,
        work_factor=options.work_factor,
        supervise=True,  # a killed worker comes back, as under systemd
    ) as place:
        running = _running_step()
        kills: list[float] = []
        with load(place.url, options.reporters) as recorder:
            time.sleep(8)
            for kill in range(options.kills):
                wait_until(place.worker.ready, timeout=60, what="the worker back")
                wait_until(running, timeout=60, what="a workflow step running")
                master = place.worker.pid()
                pool = child_pids(master)
                if kill % 2 == 0:
                    # The OOM killer's way: one pool process; the master lives on.
                    with suppress(ProcessLookupError):
                        os.kill(pool[0], signal.SIGKILL)
                    verdict.say(f"kill {kill + 1}: SIGKILL to pool process {pool[0]}")
                else:
                    # The whole worker at once (kill -9 of the service, a lost container).
                    for pid in [master, *pool]:
                        with suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
                    verdict.say(f"kill {kill + 1}: SIGKILL to the whole worker {master} {pool}")
                kills.append(time.monotonic())
                time.sleep(8)
        samples = recorder.samples
        verdict.say(f"all requests ({len(samples)}): {statuses(samples)}")
        verdict.check(all(s.expected for s in samples), f"requests failed: {statuses(samples)}")
        check_outcome(
            verdict, place, recorder, options.work_factor, database_url, options.drain_timeout
        )
        verdict.say(
            f"workers' run_step results: {dict(place.worker.steps())} (a 'skipped' is a "
            "redelivered message that found its step taken or done)"
        )
        # Which kills fell just after the mail server took a step's message; the same
        # subject twice is the same step's email sent again.
        subjects = Counter(place.mailbox.subjects)
        for number, moment in enumerate(kills, 1):
            just_before = [
                subject
                for arrived, subject in zip(
                    place.mailbox.arrivals, place.mailbox.subjects, strict=False
                )
                if moment - 0.5 <= arrived <= moment
            ]
            again = [REFERENCE.search(s)[0] for s in just_before if subjects[s] > 1]
            verdict.say(
                f"kill {number}: {len(just_before)} emails taken in the 0.5 s before it"
                + (f"; sent again after the kill: {again}" if again else "")
            )
    return verdict


# --- slow clients (issue 16) ------------------------------------------------------------
#
# gunicorn as deploy/ starts it (config/gunicorn.conf.py, nothing overridden but the
# address and --workers) against the configuration it had before: sync workers, each
# request timed as a whole against 120 s.  Both in the same run, one after the other, on
# the same database.  gunicorn is reached directly: nginx passes a body through as it
# arrives (proxy_request_buffering off), so what reaches gunicorn is the same.

BEFORE = ["--worker-class", "sync", "--threads", "1", "--timeout", "120"]
CONFIGURATIONS = {"before (sync, 120 s)": BEFORE, "after (deploy config)": []}
ANSWER_WITHIN = 2.0  # the bar for /healthz and a real filing
KIB = 1024


@contextmanager
def slow_site(tmp: Path, options: argparse.Namespace, drill: str) -> Iterator[dict[str, str]]:
    """A migrated, seeded database and a private Redis; no Celery worker (her case waits
    in the outbox: routing is not what is measured)."""
    database_url = recreate_database(ADMIN_URL, f"safe_report_{drill.replace('-', '_')}_drill")
    with ExitStack() as stack:
        redis_port, _ = stack.enter_context(private_redis(tmp))
        env = site_env(
            tmp,
            database_url=database_url,
            broker_url=f"redis://127.0.0.1:{redis_port}/0",
            smtp_port=free_port(),
            cache_url=f"redis://127.0.0.1:{redis_port}/1",
            EVIDENCE_RECEIPT_WORK_FACTOR=str(options.work_factor),
            EVIDENCE_MEMBER_WORK_FACTOR="10",
        )
        migrate_and_seed(env)
        yield env


@contextmanager
def deployed_gunicorn(
    env: dict[str, str], tmp: Path, name: str, args: list[str], workers: int
) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "--config", "config/gunicorn.conf.py"]
    argv += ["config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers), *args]
    log = tmp / f"gunicorn-{re.sub(r'[^a-z]+', '-', name)}.log"
    with running(argv, env=env, log=log) as proc:
        wait_until(lambda: proc.poll() is not None or port_open(port), timeout=60, what="gunicorn")
        wait_until(lambda: len(child_pids(proc.pid)) == workers, timeout=60, what="workers")
        for _ in range(4 * workers):  # warm every worker, untimed
            Browser(f"http://127.0.0.1:{port}", "fr").get("/healthz")
        yield f"http://127.0.0.1:{port}", proc


class WorkerWatch:
    """Every worker pid seen, once a second: a new one means a worker was replaced."""

    def __init__(self, master: subprocess.Popen) -> None:
        self.master = master
        self.first = set(child_pids(master.pid))
        self.seen = set(self.first)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(1):
            self.seen.update(child_pids(self.master.pid))

    def replaced(self) -> int:
        self.stop.set()
        self.thread.join()
        return len(self.seen - self.first)


def _raw_post(url: str, browser: Browser, path: str, length: int, content_type: str):
    host, port = url.rsplit("/", 1)[-1].split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    cookies = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nOrigin: {url}\r\n"
        f"Sec-Fetch-Site: same-origin\r\nAccept-Language: fr\r\nCookie: {cookies}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n"
        "Connection: close\r\n\r\n"
    )
    sock.sendall(head.encode())
    return sock


class Loris:
    """A slow-loris connection: a form post announcing 1 MB, whose first bytes (the
    CSRF token) make the site read its body, then one byte every few seconds.  Cut off,
    it connects again at once with the same cookie, as an attacker would."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.cuts = 0
        self.sock: socket.socket | None = None
        self.browser = Browser(url, "fr", timeout=30)
        token = CSRF_FIELD.search(self.browser.get("/fr/report/").text)[1]
        self.start = f"csrfmiddlewaretoken={token}&category=".encode()

    def connect(self) -> None:
        self.sock = _raw_post(
            self.url,
            self.browser,
            "/fr/report/step/urgency/",
            1_000_000,
            "application/x-www-form-urlencoded",
        )
        self.sock.sendall(self.start)

    def drip(self) -> None:
        try:
            self.sock.sendall(b"a")
        except OSError:
            self.cuts += 1
            self.sock.close()
            with suppress(OSError):
                self.connect()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


def _timed_get(url: str, path: str) -> tuple[float, int]:
    started = time.monotonic()
    try:
        status = Browser(url, "fr", timeout=30).get(path).status
    except OSError:
        status = 0
    return time.monotonic() - started, status


def _summary(times: list[float], ok: int, n: int) -> str:
    if not times:
        return "none"
    within = sum(1 for t in times if t <= ANSWER_WITHIN)
    return (
        f"{ok}/{n} answered as expected, {within}/{n} within {ANSWER_WITHIN:.0f} s, median "
        f"{statistics.median(times) * 1000:.0f} ms, slowest {max(times):.1f} s"
    )


def slow_loris(options: argparse.Namespace, tmp: Path) -> Verdict:
    verdict = Verdict("slow-loris")
    runs = [(name, args, options.lorises[0]) for name, args in CONFIGURATIONS.items()]
    runs += [("after (deploy config)", [], n) for n in options.lorises[1:]]
    with slow_site(tmp, options, "slow-loris") as env:
        for name, args, count in runs:
            with deployed_gunicorn(env, tmp, name, args, options.workers) as (url, master):
                watch = WorkerWatch(master)
                lorises = [Loris(url) for _ in range(count)]  # each its cookie first
                for loris in lorises:
                    loris.connect()
                recorder = Recorder()
                reporter = Reporter(url, recorder, random.Random(16), timeout=30)  # noqa: S311
                health: list[tuple[float, int]] = []
                filings = failed = 0
                stop = threading.Event()

                def drip(lorises=lorises, stop=stop) -> None:
                    while not stop.wait(options.drip_seconds):
                        for loris in lorises:
                            loris.drip()

                def probe_health(url=url, stop=stop, health=health) -> None:
                    while not stop.wait(2):
                        health.append(_timed_get(url, "/healthz"))

                threads = [threading.Thread(target=f, daemon=True) for f in (drip, probe_health)]
                for thread in threads:
                    thread.start()
                deadline = time.monotonic() + options.loris_seconds
                while time.monotonic() < deadline:
                    try:
                        reporter.file("fr")
                        filings += 1
                    except VisitFailed:
                        failed += 1
                        time.sleep(1)
                stop.set()
                for thread in threads:
                    thread.join(timeout=60)
                cuts = sum(loris.cuts for loris in lorises)
                for loris in lorises:
                    loris.close()
                replaced = watch.replaced()
            requests = recorder.samples
            verdict.say(
                f"{name}, {count} slow-loris connections (a byte every "
                f"{options.drip_seconds:g} s) for {options.loris_seconds:.0f} s, "
                f"{options.workers} workers:"
            )
            verdict.say(
                "  /healthz every 2 s: "
                + _summary(
                    [t for t, _ in health], sum(1 for _, s in health if s == 200), len(health)
                )
            )
            verdict.say(
                f"  filings through the pages: {filings} completed, {failed} failed; their "
                "requests: "
                + _summary(
                    [s.elapsed for s in requests], sum(s.expected for s in requests), len(requests)
                )
            )
            verdict.say(f"  workers replaced: {replaced}; slow-loris connections cut: {cuts}")
            unexpected = Counter(
                f"{s.kind} -> {s.status or s.error}" for s in requests if not s.expected
            )
            if unexpected:
                verdict.say(f"  unexpected answers: {dict(unexpected)}")
                body = next((s.body for s in requests if s.body), "")
                verdict.say(f"  the first: {body[:600]}")
            if name.startswith("after") and count == options.lorises[0]:
                slow = [t for t, _ in health] + [s.elapsed for s in requests]
                verdict.check(replaced == 0, f"{replaced} workers replaced")
                verdict.check(bool(health) and all(s == 200 for _, s in health), "/healthz failed")
                verdict.check(filings > 0 and not failed, f"{failed} filings failed")
                verdict.check(max(slow) <= ANSWER_WITHIN, f"an answer took {max(slow):.1f} s")
    return verdict


def _chat_block() -> bytes:
    line = "12/03/2026, 21:40 - Omar: سأنشر صورك إن لم تدفعي\n".encode()
    return line * (KIB * KIB // len(line))


def upload_slowly(url: str, size: int, rate: float) -> dict:
    """Her filing through the pages, then her words with one file of ``size`` bytes sent
    at ``rate`` bytes a second; what became of it."""
    browser = Browser(url, "fr", timeout=600)
    page = browser.get("/fr/report/").text
    browser.post_form("/fr/report/step/urgency/", page, FIRST_STEP)
    page = browser.get("/fr/report/step/about/").text
    browser.post_form("/fr/report/step/about/", page, SECOND_STEP)
    page = browser.get("/fr/report/your-words/").text
    token = CSRF_FIELD.search(page)[1]
    boundary = "----slowphone16"
    fields = {
        "csrfmiddlewaretoken": token,
        "narrative": "Il publie mes photos.",
        "identifiers": "",
        "contact": "",
    }
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="evidence"; '
        'filename="discussion.txt"\r\nContent-Type: text/plain\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    block = _chat_block()
    sock = _raw_post(
        url,
        browser,
        "/fr/report/your-words/",
        len(head) + size + len(tail),
        f"multipart/form-data; boundary={boundary}",
    )
    started = time.monotonic()
    sent = 0
    result: dict = {"size": size}
    try:
        sock.sendall(head)
        piece = 8 * KIB
        while sent < size:
            chunk = block[sent % len(block) :][: min(piece, size - sent)]
            sock.sendall(chunk)
            sent += len(chunk)
            ahead = sent / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
        sock.sendall(tail)
        sock.settimeout(600)
        answer = sock.recv(65536).split(b"\r\n", 1)[0].decode(errors="replace")
        result["answer"] = answer or "(connection closed, no answer)"
    except OSError as exc:
        result["answer"] = f"cut: {type(exc).__name__}"
    finally:
        sock.close()
    result["seconds"] = time.monotonic() - started
    result["sent"] = sent
    return result


def slow_upload(options: argparse.Namespace, tmp: Path) -> Verdict:
    verdict = Verdict("slow-upload")
    size = int(options.upload_mb * KIB * KIB)
    rate = options.rate_kib * KIB
    with slow_site(tmp, options, "slow-upload") as env:
        import psycopg2

        names = options.upload_configurations or list(CONFIGURATIONS)
        for name in names:
            args = CONFIGURATIONS[name]
            with deployed_gunicorn(env, tmp, name, args, options.workers) as (url, master):
                watch = WorkerWatch(master)
                result = upload_slowly(url, size, rate)
                time.sleep(3)  # a worker killed at the cut is replaced within a second
                replaced = watch.replaced()
            connection = psycopg2.connect(env["DATABASE_URL"])
            with connection, connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM evidence_evidenceitem WHERE size = %s", [size])
                stored = cursor.fetchone()[0]
            connection.close()
            verdict.say(
                f"{name}: {size / KIB / KIB:.0f} MiB at {options.rate_kib:g} KiB/s: "
                f"{result['answer']} after {result['seconds']:.0f} s, "
                f"{result['sent'] / KIB / KIB:.1f} MiB sent; evidence items of that size "
                f"stored so far: {stored}; workers replaced: {replaced}"
            )
            if name.startswith("after"):
                verdict.check(" 302 " in result["answer"] + " ", f"her upload: {result['answer']}")
                verdict.check(stored >= 1, "her file is not stored")
                verdict.check(replaced == 0, f"{replaced} workers replaced")
    return verdict


DRILLS: dict[str, Callable[[argparse.Namespace, Path], Verdict]] = {
    "pg-restart": pg_restart,
    "redis-down": redis_down,
    "worker-kill": worker_kill,
    "slow-loris": slow_loris,
    "slow-upload": slow_upload,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("drills", nargs="*", metavar="drill", help=", ".join(DRILLS))
    parser.add_argument("--reporters", type=int, default=10)
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="gunicorn workers (threaded, as config/gunicorn.conf.py)",
    )
    parser.add_argument("--work-factor", type=int, default=10, help="receipt scrypt log2(N)")
    parser.add_argument("--kills", type=int, default=4, help="worker-kill: how many kills")
    parser.add_argument("--keep", action="store_true", help="keep the processes' logs")
    parser.add_argument(
        "--no-supervisor",
        dest="supervise",
        action="store_false",
        help="pg-restart, redis-down: do not restart a worker that exits",
    )
    parser.add_argument(
        "--drain-timeout", type=float, default=240, help="seconds to wait for routing"
    )
    parser.add_argument(
        "--lorises",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[3, 6, 10],
        help="slow-loris: connections, before and after, then after only (3,6,10)",
    )
    parser.add_argument("--drip-seconds", type=float, default=5, help="slow-loris: a byte every")
    parser.add_argument("--loris-seconds", type=float, default=150, help="slow-loris: how long")
    parser.add_argument("--upload-mb", type=float, default=200, help="slow-upload: MiB")
    parser.add_argument("--rate-kib", type=float, default=100, help="slow-upload: KiB/s")
    parser.add_argument(
        "--upload-configurations",
        nargs="*",
        choices=list(CONFIGURATIONS),
        help="slow-upload: which configurations (both, before then after, by default)",
    )
    options = parser.parse_args()
    names = options.drills or list(DRILLS)
    unknown = set(names) - set(DRILLS)
    if unknown:
        parser.error(f"no drill named {', '.join(sorted(unknown))}: {', '.join(DRILLS)}")

    if len(names) > 1:
        # One process per drill: each sets Django up on a database of its own.
        argv = [a for a in sys.argv[1:] if a not in DRILLS]
        failed = []
        for name in names:
            print(f"\n=== {name} ===", flush=True)
            done = subprocess.run([sys.executable, __file__, name, *argv], check=False)
            if done.returncode:
                failed.append(name)
        print("\n" + "\n".join(f"{n}: {'FAIL' if n in failed else 'PASS'}" for n in names))
        raise SystemExit(1 if failed else 0)

    name = names[0]
    tmp = Path(tempfile.mkdtemp(prefix=f"drill-{name}-"))
    print(
        f"{name}: {options.reporters} reporters, gunicorn {options.workers} workers, receipt "
        f"work factor {options.work_factor}, load average {load_average()}",
        flush=True,
    )
    try:
        verdict = DRILLS[name](options, tmp)
    finally:
        if options.keep:
            print(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average after: {load_average()}")
    if verdict.failures:
        print(f"\n{name}: FAIL\n  " + "\n  ".join(verdict.failures))
        raise SystemExit(1)
    print(f"\n{name}: PASS")


if __name__ == "__main__":
    main()
