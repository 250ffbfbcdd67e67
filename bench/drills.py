"""Fault drills: PostgreSQL restarted, Redis down, a worker killed, each under load.

    .venv/bin/python bench/drills.py [pg-restart] [redis-down] [worker-kill]
                                     [--reporters 10] [--workers 2] [--work-factor 10]
                                     [--kills 4] [--keep] [--no-supervisor]

With no name, runs all three, each in a process of its own.  Each drill starts its own
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
             once an hour old).
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
import shutil
import signal
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
    QUEUE,
    REFERENCE,
    Browser,
    Mailbox,
    Recorder,
    Sample,
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
from tests.processes import (  # noqa: E402
    celery_beat,
    child_pids,
    gunicorn_server,
    half_written,
    private_postgres,
    private_redis,
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
            "(evidence.tasks.sweep_orphan_blobs) removes them once an hour old"
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


DRILLS: dict[str, Callable[[argparse.Namespace, Path], Verdict]] = {
    "pg-restart": pg_restart,
    "redis-down": redis_down,
    "worker-kill": worker_kill,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("drills", nargs="*", metavar="drill", help=", ".join(DRILLS))
    parser.add_argument("--reporters", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
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
