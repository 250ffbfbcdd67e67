"""Intake throughput and upload speed on gunicorn + PostgreSQL, over loopback.

    .venv/bin/python bench/intake.py [--seconds 30] [--clients 4] [--upload-mib 1024]

Needs PostgreSQL on 127.0.0.1:5432 (as `make test` does).  Creates a throw-away
database `safe_report_bench`, an organisation able to receive reports, then starts
gunicorn with 2 workers (config/gunicorn.conf.py) and:

1. files text-only reports through the API from --clients threads for --seconds, and
   prints reports/s with p50/p99 latency, beside the ceiling set by the receipt KDF
   (cores / the time of one scrypt over a receipt code);
2. files one report and uploads one --upload-mib MiB evidence file to it over loopback,
   and prints MB/s and the peak RSS of the gunicorn worker that received it.

Prints a Markdown block for docs/BENCHMARKS.md.  Sends traffic to 127.0.0.1 only, and
stops by itself.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DB_NAME = "safe_report_bench"
ADMIN_URL = os.environ.get(
    "BENCH_ADMIN_DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/postgres"
)
DATABASE_URL = ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME
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


def prepare_database(env: dict[str, str]) -> None:
    import psycopg2

    admin = psycopg2.connect(ADMIN_URL)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        cursor.execute(f"CREATE DATABASE {DB_NAME}")
    admin.close()
    setup = (
        "import django; django.setup();"
        "from django.core.management import call_command; call_command('migrate', verbosity=0);"
        "from casework.models import Organization, User, Membership;"
        "from casework import services;"
        "org = Organization.objects.create("
        "name='Bench', slug='bench', kind='national_coordinator');"
        "u = User(username='bench'); u.set_password('bench password long'); u.save();"
        "services.add_member(org, u, role=Membership.Role.TRIAGE_LEAD, unlocked_by=None)"
    )
    subprocess.run([sys.executable, "-c", setup], cwd=REPO, env=env, check=True)


def kdf_seconds(env: dict[str, str]) -> float:
    probe = (
        "import time, django; django.setup();"
        "from django.conf import settings; from evidence import keys;"
        "times = [];"
        "[times.append((lambda t: (keys.stretch_code('1234567812345678', "
        "work_factor=settings.EVIDENCE_RECEIPT_WORK_FACTOR), time.perf_counter() - t)[1])"
        "(time.perf_counter())) for _ in range(5)];"
        "print(sorted(times)[2])"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, env=env, check=True, capture_output=True, text=True
    )
    return float(out.stdout.strip())


def post_report(port: int) -> tuple[float, int, dict]:
    body = json.dumps(REPORT).encode()
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(
        "POST", "/api/reports/", body, {"Content-Type": "application/json", "Host": "localhost"}
    )
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return time.perf_counter() - start, response.status, json.loads(payload or b"{}")


def load(port: int, seconds: float, clients: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            elapsed, status, _ = post_report(port)
            with lock:
                if status == 201:
                    latencies.append(elapsed)
                else:
                    errors += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class RssSampler(threading.Thread):
    """The largest resident size each worker reaches while the upload streams."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.highest = dict.fromkeys(pids, 0)
        self.running = True
        # Set by the uploader once a quarter of the body is sent: by then the server has
        # opened the receipt (one 128 MiB scrypt, counted separately) and is streaming.
        self.streaming = threading.Event()

    def run(self) -> None:
        self.streaming.wait()
        while self.running:
            for pid in self.pids:
                self.highest[pid] = max(self.highest[pid], status_kib(pid, "VmRSS"))
            time.sleep(0.01)


def upload(port: int, code: str, mib: int, streaming: threading.Event) -> tuple[float, int]:
    boundary = "BenchBoundary7e3f"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="evidence"; filename="video.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    block = b"%PDF-1.7\n" + os.urandom((1 << 20) - 9)
    length = len(head) + (mib << 20) + len(tail)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    start = time.perf_counter()
    connection.putrequest("POST", "/api/reports/evidence/", skip_host=True)
    connection.putheader("Host", "localhost")
    connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    connection.putheader("Content-Length", str(length))
    connection.putheader("Authorization", f"Receipt {code}")
    connection.endheaders()
    try:
        connection.send(head)
        for i in range(mib):
            if i == mib // 4:
                streaming.set()
            connection.send(block if i == 0 else block[9:] + block[:9])
        connection.send(tail)
    except BrokenPipeError:
        pass  # the server answered before reading everything; its answer says why
    response = connection.getresponse()
    answer = response.read()
    elapsed = time.perf_counter() - start
    if response.status != 201:
        raise SystemExit(f"the upload was refused: {response.status} {answer[:300]!r}")
    connection.close()
    return elapsed, response.status


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--upload-mib", type=int, default=1024)
    options = parser.parse_args()

    blobs = Path(tempfile.mkdtemp(prefix="intake-bench-blobs-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": DATABASE_URL,
        "EVIDENCE_BLOB_ROOT": str(blobs),
        "EVIDENCE_MAX_FILE_MB": str(options.upload_mib + 64),
        "EVIDENCE_MAX_REPORT_MB": str(options.upload_mib + 64),
        "GUNICORN_ACCESS_LOG": "/dev/null",
        "RECEIPT_FAILURES_PER_MINUTE": "100000",
    }
    env.pop("CELERY_BROKER_URL", None)  # no broker needed to file: the filesystem default
    env["VAR_DIR"] = str(blobs / "var")
    prepare_database(env)
    kdf = kdf_seconds(env)
    port = 18080
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "config/gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "config.wsgi:application",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
                break
            except OSError:
                time.sleep(0.1)
        post_report(port)  # warm both imports and connections
        latencies, errors = load(port, options.seconds, options.clients)
        _, status, filed = post_report(port)
        if status != 201:
            raise SystemExit(f"filing the upload's report failed: {status} {filed}")
        workers = worker_pids(server.pid)
        sampler = RssSampler(workers)
        sampler.start()
        elapsed, upload_status = upload(
            port, filed["receipt_code"], options.upload_mib, sampler.streaming
        )
        sampler.running = False
        sampler.join()
        lifetime_peak = {pid: status_kib(pid, "VmHWM") for pid in workers}
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(blobs, ignore_errors=True)

    cores = os.cpu_count() or 1
    rate = len(latencies) / options.seconds
    ceiling = cores / kdf
    p50 = statistics.median(latencies)
    p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) >= 100 else max(latencies)
    receiving = max(sampler.highest, key=sampler.highest.get)
    print(
        f"\n{cores} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"gunicorn 2 threaded workers (config/gunicorn.conf.py), PostgreSQL on loopback, "
        f"{options.clients} clients for {options.seconds:.0f} s\n"
    )
    print("| measure | value |")
    print("| --- | ---: |")
    print(f"| text-only reports filed | {len(latencies)} ({errors} errors) |")
    print(f"| reports per second | {rate:.2f} |")
    print(f"| receipt KDF (scrypt) time, one run | {kdf * 1000:.0f} ms |")
    print(f"| KDF ceiling (cores / KDF time) | {ceiling:.2f} reports/s |")
    print(f"| share of the ceiling | {rate / ceiling:.0%} |")
    print(f"| latency p50 / p99 | {p50 * 1000:.0f} ms / {p99 * 1000:.0f} ms |")
    print(
        f"| {options.upload_mib} MiB evidence upload (HTTP {upload_status}) | "
        f"{(options.upload_mib << 20) / elapsed / 1e6:.0f} MB/s ({elapsed:.1f} s) |"
    )
    print(
        f"| receiving worker's largest RSS while streaming | "
        f"{sampler.highest[receiving] / 1024:.0f} MiB |"
    )
    print(
        f"| that worker's lifetime peak (VmHWM, includes scrypt's 128 MiB) | "
        f"{lifetime_peak[receiving] / 1024:.0f} MiB |"
    )


if __name__ == "__main__":
    main()
