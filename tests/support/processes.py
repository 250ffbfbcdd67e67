"""Start the project's real processes (gunicorn, a Celery worker, a private Redis) for tests."""

from __future__ import annotations

import http.client
import http.cookies
import io
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

# Debian's Chromium, as the browser tests and the benches start it (CHROMIUM_PATH wins).
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Without V8's JIT, as Tor Browser runs scripts at its "safer" level.
JITLESS = "--js-flags=--jitless"

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise TimeoutError(f"gave up after {timeout}s waiting for {what}")


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def test_database_url() -> str:
    """The URL of the database pytest-django created (its name starts with test_)."""
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )


# The site's own database role, as production has it (manage.py grant_site_role): it can
# append to the audit log and never rewrite it.  tests/conftest.py grants it on the test
# database; every process the tests start connects as it, the test process as the owner.
SITE_ROLE = "safe_report_site"


def site_database_url() -> str:
    """The test database, as the site's role (the password serves where the server asks
    for one; make test's PostgreSQL trusts 127.0.0.1)."""
    db = settings.DATABASES["default"]
    return (
        f"postgres://{SITE_ROLE}:{SITE_ROLE}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )


def child_env(**overrides: str | None) -> dict[str, str]:
    """This process's environment with overrides; None removes a variable.  Its database
    is the test database, as the site's role."""
    env = dict(os.environ)
    env["DATABASE_URL"] = site_database_url()
    # Only the test process needs this (see conftest.py); a server must never have it.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@contextmanager
def running(argv: list[str], *, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@contextmanager
def private_redis(tmp: Path, *, port: int | None = None) -> Iterator[tuple[int, subprocess.Popen]]:
    """A Redis of this test's own, so that stopping it disturbs nobody else.  Give the
    port of one stopped earlier to bring "the same" Redis back (empty, as after a crash
    of a Redis that keeps nothing on disk)."""
    server = shutil.which("redis-server")
    assert server, "redis-server is not installed (make test installs it)"
    port = port or free_port()
    argv = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with running(argv, env=dict(os.environ), log=tmp / f"redis-{port}.log") as proc:
        wait_until(lambda: port_open(port), timeout=10, what="the private Redis")
        yield port, proc


@contextmanager
def gunicorn(env: dict[str, str], tmp: Path, *, workers: int = 1) -> Iterator[str]:
    """The production WSGI server on a free port; yields its base URL."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "config/gunicorn.conf.py",
        "config.wsgi:application",
    ]
    argv += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "60"]
    with running(argv, env=env, log=tmp / "gunicorn.log") as proc:
        wait_until(lambda: proc.poll() is not None or port_open(port), timeout=30, what="gunicorn")
        assert proc.poll() is None, (tmp / "gunicorn.log").read_text()
        yield f"http://127.0.0.1:{port}"


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@contextmanager
def celery_worker(
    env: dict[str, str], tmp: Path, *, queue: str, concurrency: int = 0, name: str = "worker"
) -> Iterator[tuple[str, Path]]:
    """A real worker process consuming ``queue``; yields its hostname and log path.
    One process (solo pool) unless ``concurrency`` asks for a prefork pool."""
    hostname = f"pytest-{os.getpid()}-{free_port()}@localhost"
    log = tmp / f"{name}.log"
    pool = ["--pool=prefork", f"--concurrency={concurrency}"] if concurrency else ["--pool=solo"]
    argv = [sys.executable, "-m", "celery", "-A", "config", "worker", *pool]
    argv += ["--hostname", hostname, "--queues", queue, "--loglevel=INFO"]
    argv += ["--without-mingle", "--without-gossip", "--pidfile", str(tmp / f"{name}.pid")]
    with running(argv, env=env, log=log) as proc:
        wait_until(
            lambda: proc.poll() is not None or "ready." in log.read_text(errors="replace"),
            timeout=60,
            what="the Celery worker",
        )
        assert proc.poll() is None, log.read_text()
        yield hostname, log


@contextmanager
def celery_beat(env: dict[str, str], tmp: Path) -> Iterator[Path]:
    """The real beat process (config/settings.py's schedule); yields its log path."""
    log = tmp / "beat.log"
    argv = [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO"]
    argv += ["--schedule", str(tmp / "beat-schedule")]
    with running(argv, env=env, log=log) as proc:
        wait_until(
            lambda: proc.poll() is not None or "beat: Starting" in log.read_text(errors="replace"),
            timeout=60,
            what="Celery beat",
        )
        assert proc.poll() is None, log.read_text()
        yield log


def database_dump() -> str:
    """Everything in the test database, as a copy of it would hold (pg_dump, data only)."""
    db = settings.DATABASES["default"]
    argv = [
        "pg_dump",
        "--data-only",
        "-h",
        db["HOST"] or "127.0.0.1",
        "-p",
        str(db["PORT"] or 5432),
    ]
    argv += ["-U", db["USER"], db["NAME"]]
    return subprocess.run(
        argv,
        capture_output=True,
        env={"PGPASSWORD": db["PASSWORD"] or ""},
        check=True,
        timeout=120,
        text=True,
        errors="replace",
    ).stdout


# --- a PostgreSQL cluster of one test's (or one drill's) own ----------------------------
#
# Stopping and restarting a database is what the fault drills do, and the machine's
# PostgreSQL on 5432 serves everyone else's tests: a private cluster is made with initdb
# in a temporary folder, on a free loopback port, and removed afterwards.


def postgres_bin() -> Path:
    """The newest installed server's programs (Debian keeps them off PATH)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    assert initdb, "PostgreSQL's server programs (initdb, pg_ctl) are not installed"
    return Path(initdb).resolve().parent


class PrivatePostgres:
    """A running private cluster: ``url()``, and ``stop()``/``start()``/``restart()``
    as an operator would run them with pg_ctl."""

    def __init__(self, root: Path, port: int, password: str, as_owner: list[str]) -> None:
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.port = port
        self.password = password
        # initdb and postgres refuse to run as root: as root, run them as "postgres".
        self._as_owner = as_owner
        self._bin = postgres_bin()

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres:{self.password}@127.0.0.1:{self.port}/{database}"

    def pg_ctl(self, *args: str, timeout: float = 60) -> None:
        argv = [*self._as_owner, str(self._bin / "pg_ctl"), "-D", str(self.data), *args]
        done = subprocess.run(argv, capture_output=True, timeout=timeout, text=True)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"pg_ctl {' '.join(args)} failed: {done.stderr}\n{log}")

    def start(self) -> None:
        self.pg_ctl("-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-m", mode, "-w", "-t", "60", "stop")

    def restart(self, mode: str = "fast") -> None:
        self.pg_ctl("-l", str(self.log), "-m", mode, "-w", "-t", "60", "restart")

    def running(self) -> bool:
        argv = [*self._as_owner, str(self._bin / "pg_ctl"), "-D", str(self.data), "status"]
        return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        import psycopg2

        connection = psycopg2.connect(self.url())
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        connection.close()
        return self.url(name)


@contextmanager
def private_postgres(*, settings: dict[str, str] | None = None) -> Iterator[PrivatePostgres]:
    """initdb a cluster in a temporary folder, start it on a free port of 127.0.0.1 (no
    Unix socket outside that folder), yield it, then stop it and remove everything.
    As root the cluster belongs to the "postgres" user (runuser); otherwise to us."""
    as_owner: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")  # KeyError: the server package is not installed
        as_owner = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", "postgres", "--"]
    # Not under pytest's tmp_path: that folder is closed to the "postgres" user.
    root = Path(tempfile.mkdtemp(prefix="safe-report-pg-"))
    if as_owner:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    password = secrets.token_urlsafe(18)
    cluster = PrivatePostgres(root, free_port(), password, as_owner)
    try:
        pwfile = root / "pwfile"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        if as_owner:
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        initdb = [*as_owner, str(cluster._bin / "initdb"), "-D", str(cluster.data)]
        initdb += ["-U", "postgres", f"--pwfile={pwfile}", "-E", "UTF8", "--no-locale"]
        # Password over TCP, as the site connects; nothing listens on a shared socket.
        initdb += ["--auth-host=scram-sha-256", "--auth-local=peer", "--no-sync"]
        subprocess.run(initdb, check=True, capture_output=True, timeout=120)
        pwfile.unlink()
        options = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(cluster.port),
            "unix_socket_directories": f"'{root}'",
            # Throw-away data: no flush to disk on commit, so a drill measures the
            # restart, not this machine's disk.  A fast shutdown still writes everything.
            "fsync": "off",
            "full_page_writes": "off",
            **(settings or {}),
        }
        with (cluster.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# safe-report private cluster\n")
            conf.writelines(f"{name} = {value}\n" for name, value in options.items())
        cluster.start()
        yield cluster
    finally:
        if cluster.data.exists() and cluster.running():
            with suppress(subprocess.SubprocessError, RuntimeError):
                cluster.stop("immediate")  # removed below all the same
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def gunicorn_server(
    env: dict[str, str], tmp: Path, *, workers: int = 1, timeout: int = 60
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Like ``gunicorn()``, with a choice of workers, also yielding the master process
    (so a test can tell whether gunicorn or its workers were restarted)."""
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py"]
    argv += ["config.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    argv += ["--workers", str(workers), "--timeout", str(timeout)]
    with running(argv, env=env, log=tmp / "gunicorn.log") as proc:
        wait_until(lambda: proc.poll() is not None or port_open(port), timeout=30, what="gunicorn")
        assert proc.poll() is None, (tmp / "gunicorn.log").read_text()
        yield f"http://127.0.0.1:{port}", proc


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (gunicorn's workers, a Celery pool)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in children.read_text().split()]
    except FileNotFoundError:
        return []


def descendants(pid: int) -> list[int]:
    """Every live process under ``pid`` (its children, theirs, and so on)."""
    found = []
    for child in child_pids(pid):
        found += [child, *descendants(child)]
    return found


def memory_copies(pid: int, needles: list[bytes]) -> int:
    """How many times any of ``needles`` occurs in the memory of a live process: every
    readable region of /proc/<pid>/maps, read through /proc/<pid>/mem, as someone with
    ptrace rights over it (or a core dump of it) would read it.  Needs those rights: a
    test's own descendants, as the same user, have them."""
    chunk, overlap = 16 * 1024 * 1024, max(len(n) for n in needles) - 1
    found = 0
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            fields = line.split()
            if "r" not in fields[1] or fields[-1] in ("[vvar]", "[vvar_vclock]", "[vsyscall]"):
                continue
            start, end = (int(address, 16) for address in fields[0].split("-"))
            tail = b""
            for offset in range(start, end, chunk):
                try:
                    mem.seek(offset)
                    data = tail + mem.read(min(chunk, end - offset))
                except OSError:  # a region that went away or cannot be read
                    break
                # The end of the chunk before is read again, so that a copy across the
                # two is found; a copy wholly inside it was counted already.
                found += sum(data.count(n) - tail.count(n) for n in needles)
                tail = data[-overlap:] if overlap else b""
    return found


# --- a browser's session, without a browser ---------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage
    text: str
    elapsed: float  # seconds from sending the request to the end of the answer


class Browser:
    """What a browser sends to the site's pages, on loopback, for many at once where
    Chromium would be too heavy: cookies kept (session, CSRF), forms posted with the CSRF
    token of the page they are on, urlencoded or multipart as the page's form says, the
    headers a browser adds to a form of the site's own (Origin, Sec-Fetch-Site).  Redirects
    are not followed, so that the caller times each request and sees each answer."""

    def __init__(self, base: str, language: str, *, timeout: float = 60) -> None:
        parts = urllib.parse.urlsplit(base)
        self.base = base
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.language = language
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        *,
        form: dict | None = None,
        files: list[tuple[str, str, bytes, str]] | None = None,
        headers: dict[str, str] | None = None,
        json_body: object = None,
    ) -> Answer:
        """``files``: (field, file name, content, type); a file field left empty is
        ("evidence", "", b"", "application/octet-stream"), as a browser sends it.
        ``json_body``: a POST to the API instead of a form."""
        sent_headers = {"Host": f"{self.host}:{self.port}", "Accept-Language": self.language}
        if self.cookies:
            sent_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if method == "POST":
            sent_headers["Origin"] = self.base
            sent_headers["Sec-Fetch-Site"] = "same-origin"
            if json_body is not None:
                body = json.dumps(json_body).encode()
                sent_headers["Content-Type"] = "application/json"
            elif files is not None:
                boundary = f"----drill{secrets.token_hex(8)}"
                body = _multipart(boundary, form or {}, files)
                sent_headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
            else:
                body = urllib.parse.urlencode(form or {}, doseq=True).encode()
                sent_headers["Content-Type"] = "application/x-www-form-urlencoded"
        sent_headers.update(headers or {})
        started = time.monotonic()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=sent_headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar = http.cookies.SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return Answer(response.status, response.headers, text, time.monotonic() - started)

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post_form(
        self,
        path: str,
        page: str,
        fields: dict | None = None,
        files: list[tuple[str, str, bytes, str]] | None = None,
    ) -> Answer:
        """POST a form with the CSRF token found on ``page`` (the page it is on)."""
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, "no CSRF token on the page"
        form = {"csrfmiddlewaretoken": token[1], **(fields or {})}
        return self.request("POST", path, form=form, files=files)


def _multipart(boundary: str, fields: dict, files: list[tuple[str, str, bytes, str]]) -> bytes:
    out = io.BytesIO()
    for name, values in fields.items():
        for value in values if isinstance(values, list | tuple) else [values]:
            out.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            )
            out.write(str(value).encode() + b"\r\n")
    for name, filename, content, content_type in files:
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
        )
        out.write(content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue()


def half_written(database_url: str, blob_root: Path) -> dict[str, int]:
    """What an interrupted write could leave behind, counted straight from the database
    and the blob store (every count 0 when nothing is half-written).  For a site holding
    reports, their messages and evidence, as the fault drills make: sealed objects of
    other kinds (case notes, bundles) would count as unreferenced."""
    import psycopg2

    queries = {
        "reports without their case": """
            SELECT count(*) FROM reporting_report r
            WHERE NOT EXISTS (SELECT 1 FROM casework_case c WHERE c.report_id = r.id)""",
        "reports whose reporter key is empty": """
            SELECT count(*) FROM reporting_report r
            JOIN reporting_reporterkey k ON k.id = r.reporter_id
            WHERE length(k.sealed_key) = 0""",
        "reporter keys without a report": """
            SELECT count(*) FROM reporting_reporterkey k
            WHERE NOT EXISTS (SELECT 1 FROM reporting_report r WHERE r.reporter_id = k.id)""",
        "sealed objects without a header": """
            SELECT count(*) FROM evidence_sealedobject
            WHERE erased_at IS NULL AND length(header) = 0""",
        "evidence items on no report": """
            SELECT count(*) FROM evidence_evidenceitem i WHERE NOT EXISTS (
                SELECT 1 FROM reporting_report_evidence l WHERE l.evidenceitem_id = i.id)""",
        "evidence items without their receipt in custody": """
            SELECT count(*) FROM evidence_evidenceitem i WHERE NOT EXISTS (
                SELECT 1 FROM evidence_custodyevent e
                WHERE e.item_id = i.id AND e.action = 'received')""",
        "sealed objects nothing refers to": """
            SELECT count(*) FROM evidence_sealedobject s
            WHERE NOT EXISTS (SELECT 1 FROM reporting_report r WHERE r.content_id = s.id)
              AND NOT EXISTS (SELECT 1 FROM reporting_message m WHERE m.body_id = s.id)
              AND NOT EXISTS (SELECT 1 FROM evidence_evidenceitem i
                              WHERE s.id IN (i.original_id, i.working_copy_id, i.note_id))""",
    }
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            counts = {}
            for what, query in queries.items():
                cursor.execute(query)
                counts[what] = cursor.fetchone()[0]
            cursor.execute("SELECT blob_key FROM evidence_sealedobject WHERE erased_at IS NULL")
            keys = {key for (key,) in cursor.fetchall()}
    finally:
        connection.close()
    files = {p.name for p in blob_root.glob("??/??/*") if re.fullmatch("[0-9a-f]{32}", p.name)}
    counts["sealed objects whose payload is missing"] = len(keys - files)
    counts["payloads no row refers to"] = len(files - keys)
    counts["partial payload files"] = len(list(blob_root.glob("??/??/.*.partial")))
    return counts


@contextmanager
def bundle_builder(settings, tmp: Path) -> Iterator[tuple[str, Path]]:
    """A real evidence-bundle builder on a queue of this test's own, once it has said
    where it is (its hostname and log, as ``celery_worker`` gives them)."""
    from casework.models import BundleBuilder

    queue = f"bundles-{os.getpid()}"
    settings.CASEWORK_BUNDLE_QUEUE = queue
    env = child_env(
        CASEWORK_BUNDLE_QUEUE=queue,
        CASEWORK_BUILDER_BEAT="1",
        EVIDENCE_BLOB_ROOT=str(settings.EVIDENCE_BLOB_ROOT),
        EVIDENCE_SIGNING_KEY_FILE=str(settings.EVIDENCE_SIGNING_KEY_FILE),
        VAR_DIR=str(settings.VAR_DIR),
    )
    with celery_worker(env, tmp, queue=queue, name="bundles") as (hostname, log):
        wait_until(
            lambda: BundleBuilder.objects.filter(name=hostname).exists(),
            timeout=30,
            what="the builder to say where it is",
        )
        yield hostname, log
