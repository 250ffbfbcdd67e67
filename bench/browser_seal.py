"""Sealing in her browser (issue 18): speed, memory and size, in headless Chromium.

    .venv/bin/python bench/browser_seal.py [--quick] [--skip-jitless] [--skip-upload]
        [--skip-profile] [--jitless-mib 16] [--jitless-large-mib 0] [--upload-mib 1024]

Chromium is Debian's /usr/bin/chromium (CHROMIUM_PATH), launched through Playwright as
tests/conftest.py launches it; with the JIT, and without (``--js-flags=--jitless``, as
Tor Browser's "safer" level runs).  Measured:

1. Sealing throughput of one 200 MiB and one 1 GiB video, through the real bundled
   Worker (static/frontend/seal-worker.js, the ``seal`` op: her words, then the file
   hashed with SHA-256 and sealed with age to three readers, then its note), with the
   uploads answered inside the Worker: a bench-only script sets ``self.fetch`` to a
   stand-in tus server that acknowledges each part without sending it, then
   ``importScripts`` the real bundle.  So it measures reading the File, hashing,
   sealing and cutting the ciphertext into 4 MiB parts; not the network.  The File is
   made in the page from two 4 MiB Blobs repeated (Chromium keeps a Blob made of Blobs
   as references: the page holds 8 MiB of bytes; the first four bytes are an MP4
   'ftyp' box, so that the Worker takes it).  Also the Worker's ``calibrate`` op (1 MiB:
   the page's estimate of her time).  Without the JIT sealing runs near 0.3 MB/s here
   (200 MiB: 10 minutes), so one --jitless-mib file (16 MiB) stands for both sizes;
   ``--jitless-mib 200`` and ``--jitless-large-mib 1024`` measure them (the Worker
   streams: throughput does not depend on the size).
2. The renderer's memory while it seals 1 GiB: the resident size (VmRSS, polled from
   /proc every 20 ms) of each Chromium renderer process, the page's being the largest;
   its value just before sealing and its peak during the run.  Also during each
   upload of part 3.
3. A --upload-mib MiB video sent over loopback to the site (gunicorn with
   config/gunicorn.conf.py, 2 threaded workers, PostgreSQL database ``sr_bench``,
   Redis db 11, blobs on disk), three ways in the same run, each in a session of its
   own that has answered the steps (all read the same file from /dev/shm):
   a. multipart: the scripts-off form post of her words and the file, sealed by the
      server as it arrives (evidence/uploads.py); from the click on Send to the answer
      (the redirect to her receipt); includes the server's receipt scrypt (~0.3 s);
   b. resumable, pre-sealed: the same file sealed beforehand (in this process, with
      evidence.age, to the readers the page gave plus one for her), uploaded by the
      real frontend/src/upload.js (bundled by esbuild into a temporary folder, run in
      a Worker) through the real tus views (reporting/uploads.py); the upload only.
      The context bypasses the page's CSP for that Worker alone (made from a blob:
      URL);
   c. resumable, sealed in the page: the real page (intake.js) with scripts on, from
      the click on Send to her receipt on screen: the 1 MiB calibration, sealing in the
      Worker while uploading, and filing.  Chromium and the server share the 2 cores.
   Throughputs are in MB/s of her file (10^6 bytes a second; the ciphertext is 0.02%
   longer).  EVIDENCE_MAX_FILE_MB / EVIDENCE_MAX_REPORT_MB are raised for the run, and
   INTAKE_SLOW_SEALING_SECONDS, so that the page seals rather than offer the server.
4. The bundles' sizes as committed (minified by frontend/build.mjs) and after gzip -9.
5. Her receipt: the real bundled receipt Worker (frontend/src/receipt-worker.js
   makeReceipt: scrypt at the production work factor, config/settings.py
   EVIDENCE_RECEIPT_WORK_FACTOR, then her identity sealed under it), with and without
   the JIT; the median of --scrypt-rounds with the JIT, one run without.
6. Where sealing's time goes (--skip-profile leaves it out): each stage alone in a
   bench-only Worker bundled from frontend/ (reading the File; SHA-256; ChaCha20-
   Poly1305; age; SHA-256 and age together), on a 200 MiB File with the JIT and a
   --jitless-profile-mib one (4 MiB) without.

About 11 minutes on 2 cores (the JIT-less receipt, 100 s, and the uploads of upload.js
as shipped, 4-5 MB/s, are most of it).  --quick: 64 MiB and 256 MiB instead of 200 MiB
and 1 GiB, 4 MiB without the JIT, a 256 MiB upload.  Needs PostgreSQL on
127.0.0.1:5432 and Redis on 127.0.0.1:6379 for part 3 only (--skip-upload leaves them
alone).  Sends traffic to 127.0.0.1 only; removes its files and stops every process it
started.  Prints a table and a Markdown block for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import http.server
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Run as a script, bench/ would come first on the path, and bench/queue.py would stand
# for the standard library's queue (which redis imports).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path.insert(0, str(REPO))

from tests.support import intake_pages as steps  # noqa: E402 - needs the repository on the path
from tests.support.processes import CHROMIUM, CHROMIUM_ARGS, JITLESS  # noqa: E402

MIB = 1024 * 1024
PART = 4 * MIB  # frontend/src/upload.js PART_SIZE, and the bench File's building block
BUNDLES = REPO / "static" / "frontend"
ADMIN_URL = os.environ.get(
    "BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
DB_NAME = "sr_bench"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
WORK_FACTOR = 17  # config/settings.py EVIDENCE_RECEIPT_WORK_FACTOR's default
# An MP4's first box ('ftyp', 24 bytes, brands isom and mp41): sniff.js takes it.
FTYP = bytes.fromhex("00000018") + b"ftypisom" + bytes.fromhex("00000200") + b"isommp41"
TIMES = "\u00d7"
WORDS = "Il publie mes photos et m'écrit la nuit depuis mars."

# --- part 1: the real seal Worker, its uploads answered inside it ------------------------

# Bench only: the stand-in tus server inside the Worker, then the real bundle.  upload.js
# calls the global fetch at each request, so the stand-in answers every one of them.
SEAL_WORKER_PRELUDE = """
let uploads = 0;
self.fetch = async (url, init) => {
  if (init.method === "POST") {
    uploads += 1;
    const headers = {Location: "/bench/uploads/" + uploads + "/"};
    return new Response(null, {status: 201, headers});
  }
  if (init.method === "PATCH") {
    // upload.js hands fetch each part as a Blob.
    const reached = Number(init.headers["Upload-Offset"]) + init.body.size;
    return new Response(null, {status: 204, headers: {"Upload-Offset": String(reached)}});
  }
  return new Response(null, {status: 405});
};
importScripts("/frontend/seal-worker.js");
"""

MAKE_FILE = """({sizeMiB, ftyp}) => {
  // Two 4 MiB Blobs of random bytes, the first starting with an MP4 box; the File is
  // made of references to them (Chromium copies nothing), so the page holds 8 MiB.
  const part = 4 * 1024 * 1024;
  const bytes = new Uint8Array(part);
  for (let at = 0; at < part; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536));
  const head = bytes.slice();
  head.set(ftyp);
  const body = new Blob([bytes]);
  const pieces = [new Blob([head])];
  for (let i = 1; i < (sizeMiB * 1024 * 1024) / part; i += 1) pieces.push(body);
  window.benchFile = new File(pieces, "video.mp4", {type: "video/mp4"});
  return window.benchFile.size;
}"""

START_WORKER = """async (readers) => {
  window.sealer = new Worker("/bench-seal-worker.js");
  window.ask = (message) => new Promise((resolve, reject) => {
    window.sealer.onmessage = (event) => {
      if (["sealed", "failed", "refused", "speed"].includes(event.data.op)) resolve(event.data);
    };
    window.sealer.onerror = (event) => reject(new Error(event.message));
    window.sealer.postMessage(message);
  });
  // Loads and compiles the bundle, and is the page's estimate of her speed.
  return (await window.ask({op: "calibrate", readers})).bytesPerSecond;
}"""

SEAL = """async ({readers, endpoint, words}) => {
  const started = performance.now();
  const answer = await window.ask({
    op: "seal", readers, words: {narrative: words, identifiers: "", contact: ""},
    files: [window.benchFile], endpoint, csrf: "bench", partSize: 4 * 1024 * 1024,
    maxImageBytes: 40 * 1024 * 1024,
  });
  const seconds = (performance.now() - started) / 1000;
  window.sealer.terminate();
  return {seconds, op: answer.op, sha256: answer.files ? answer.files[0].sha256 : null,
          reason: answer.reason ?? null};
}"""

RECEIPT = """async ({workFactor, rounds}) => {
  const worker = new Worker("/frontend/receipt-worker.js");
  const times = [];
  for (let i = 0; i < rounds; i += 1) {
    const started = performance.now();
    const answer = await new Promise((resolve, reject) => {
      worker.onmessage = (event) => resolve(event.data);
      worker.onerror = (event) => reject(new Error(event.message));
      worker.postMessage({workFactor});
    });
    if (!answer.ok) throw new Error("receipt: " + answer.error);
    times.push((performance.now() - started) / 1000);
  }
  worker.terminate();
  return times;
}"""


# What the time goes to (--skip-profile leaves it out): a bench-only Worker, bundled by
# esbuild from frontend/ as build.mjs bundles, importing what seal-worker.js imports.
PROFILE_WORKER = """
import { Encrypter } from "age-encryption";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { sha256 } from "@noble/hashes/sha2.js";

async function drain(stream) {
  const reader = stream.getReader();
  while (!(await reader.read()).done);
}

function sealer(readers) {
  const encrypter = new Encrypter();
  for (const reader of readers) encrypter.addRecipient(reader);
  return encrypter;
}

self.onmessage = async (event) => {
  const { file, readers } = event.data;
  const block = new Uint8Array(64 * 1024);
  const blocks = file.size / block.length;
  const rates = [];
  async function time(name, run) {
    const started = performance.now();
    await run();
    rates.push([name, file.size / ((performance.now() - started) / 1000)]);
  }
  await time("reading the File (its stream, drained)", () => drain(file.stream()));
  await time("SHA-256 alone (@noble/hashes, 64 KiB blocks in memory)", () => {
    const hash = sha256.create();
    for (let i = 0; i < blocks; i += 1) hash.update(block);
    hash.digest();
  });
  await time("ChaCha20-Poly1305 alone (@noble/ciphers, 64 KiB chunks in memory)", () => {
    const key = new Uint8Array(32);
    const nonce = new Uint8Array(12);
    for (let i = 0; i < blocks; i += 1) chacha20poly1305(key, nonce).encrypt(block);
  });
  await time("age encrypt of the File's stream (typage)", async () =>
    drain(await sealer(readers).encrypt(file.stream())));
  await time("SHA-256, then age, of the stream (seal-worker.js without upload.js)", async () => {
    const hash = sha256.create();
    const hashing = new TransformStream({
      transform(chunk, controller) {
        hash.update(chunk);
        controller.enqueue(chunk);
      },
    });
    await drain(await sealer(readers).encrypt(file.stream().pipeThrough(hashing)));
    hash.digest();
  });
  self.postMessage(rates);
};
"""

PROFILE = """async ({code, readers}) => {
  const worker = new Worker(URL.createObjectURL(new Blob([code], {type: "text/javascript"})));
  const rates = await new Promise((resolve, reject) => {
    worker.onmessage = (event) => resolve(event.data);
    worker.onerror = (event) => reject(new Error(event.message));
    worker.postMessage({file: window.benchFile, readers});
  });
  worker.terminate();
  return rates;
}"""


def build_bundle(folder: Path, name: str, source: str) -> str:
    """``source`` bundled by frontend/'s esbuild as build.mjs bundles (iife, es2020,
    minified), its imports found in frontend/node_modules."""
    entry = folder / f"{name}-entry.js"
    entry.write_text(source)
    out = folder / f"{name}.js"
    frontend = REPO / "frontend"
    subprocess.run(
        [
            str(frontend / "node_modules" / ".bin" / "esbuild"),
            str(entry),
            "--bundle",
            "--format=iife",
            "--target=es2020",
            "--minify",
            f"--outfile={out}",
            "--log-level=warning",
        ],
        cwd=frontend,
        env={**os.environ, "NODE_PATH": str(frontend / "node_modules")},
        check=True,
    )
    return out.read_text()


class _Quiet(http.server.BaseHTTPRequestHandler):
    """The three bundles, a blank page and the bench Worker, from 127.0.0.1."""

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/":
            body, kind = b"<!doctype html><title>bench</title>", "text/html"
        elif path == "/bench-seal-worker.js":
            body, kind = SEAL_WORKER_PRELUDE.encode(), "text/javascript"
        elif re.fullmatch(r"/frontend/[a-z-]+\.js", path) and (BUNDLES / path[10:]).is_file():
            body, kind = (BUNDLES / path[10:]).read_bytes(), "text/javascript"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        return None


@contextlib.contextmanager
def static_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# --- Chromium's renderers, from /proc -----------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


def _descendants(pid: int) -> list[int]:
    found = []
    for child in _children(pid):
        found += [child, *_descendants(child)]
    return found


def renderer_pids() -> list[int]:
    """Chromium's renderer processes under this one (Playwright's driver, then Chromium)."""
    pids = []
    for pid in _descendants(os.getpid()):
        try:
            if b"--type=renderer" in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return pids


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


class RendererMemory(threading.Thread):
    """Each renderer's VmRSS every 20 ms while it runs: ``before`` and ``peak`` (KiB) of
    the renderer that peaked highest (the page's: the others are idle)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.pids = renderer_pids()
        self.start_values = {pid: rss_kib(pid) for pid in self.pids}
        self.peaks = dict(self.start_values)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for pid in self.pids:
                self.peaks[pid] = max(self.peaks[pid], rss_kib(pid))
            time.sleep(0.02)

    def __enter__(self) -> RendererMemory:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.join()

    @property
    def page(self) -> int:
        return max(self.peaks, key=self.peaks.get) if self.peaks else 0

    @property
    def before(self) -> int:
        return self.start_values.get(self.page, 0)

    @property
    def peak(self) -> int:
        return self.peaks.get(self.page, 0)


@contextlib.contextmanager
def chromium(*, jit: bool) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS + ([] if jit else [JITLESS]),
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Sealing:
    label: str
    size: int
    seconds: float
    calibrate: float  # bytes a second, the Worker's own estimate from 1 MiB
    before_kib: int
    peak_kib: int

    @property
    def mbps(self) -> float:
        return self.size / self.seconds / 1e6


def seal_in_browser(browser, base: str, readers: list[str], size_mib: int, label: str) -> Sealing:
    page = browser.new_context().new_page()
    page.set_default_timeout(0)  # a JIT-less gigabyte takes minutes
    try:
        page.goto(base + "/")
        size = page.evaluate(MAKE_FILE, {"sizeMiB": size_mib, "ftyp": list(FTYP)})
        if size != size_mib * MIB:
            raise SystemExit(f"the page made a File of {size} bytes")
        calibrate = page.evaluate(START_WORKER, readers)
        with RendererMemory() as memory:
            answer = page.evaluate(
                SEAL, {"readers": readers, "endpoint": base + "/bench/uploads/", "words": WORDS}
            )
        if answer["op"] != "sealed":
            raise SystemExit(f"the Worker did not seal ({label}): {answer}")
        return Sealing(label, size, answer["seconds"], calibrate, memory.before, memory.peak)
    finally:
        page.context.close()


def profile(browser, base: str, readers: list[str], size_mib: int, code: str) -> list:
    """Each stage alone, on a File of ``size_mib`` MiB: [[stage, bytes a second], ...]."""
    page = browser.new_context().new_page()
    page.set_default_timeout(0)
    try:
        page.goto(base + "/")
        page.evaluate(MAKE_FILE, {"sizeMiB": size_mib, "ftyp": list(FTYP)})
        return page.evaluate(PROFILE, {"code": code, "readers": readers})
    finally:
        page.context.close()


def receipt_seconds(browser, base: str, rounds: int) -> list[float]:
    page = browser.new_context().new_page()
    page.set_default_timeout(0)
    try:
        page.goto(base + "/")
        return page.evaluate(RECEIPT, {"workFactor": WORK_FACTOR, "rounds": rounds})
    finally:
        page.context.close()


# --- part 4: the bundles ------------------------------------------------------------------


def bundle_sizes() -> list[tuple[str, int, int]]:
    gzip_tool = shutil.which("gzip")
    sizes = []
    for path in sorted(BUNDLES.glob("*.js")):
        raw = path.read_bytes()
        if gzip_tool:
            packed = len(
                subprocess.run(
                    [gzip_tool, "-9", "-n", "-c", str(path)], check=True, capture_output=True
                ).stdout
            )
        else:
            packed = len(gzip.compress(raw, compresslevel=9, mtime=0))
        sizes.append((path.name, len(raw), packed))
    return sizes


# --- part 3: the site ---------------------------------------------------------------------

_site_app = None


def application(environ, start_response):
    """The site for gunicorn, with /static/ served as ``runserver --insecure`` and the
    tests' live server serve it (nginx does in production): the Workers' scripts must
    come from the site's own origin.  Any other request goes straight to the site."""
    global _site_app
    if _site_app is None:
        from django.contrib.staticfiles.handlers import StaticFilesHandler
        from django.core.wsgi import get_wsgi_application

        _site_app = StaticFilesHandler(get_wsgi_application())
    return _site_app(environ, start_response)


def _wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 - our own loopback site
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the site did not start ({url})")


@contextlib.contextmanager
def site(tmp: Path, max_mib: int) -> Iterator[str]:
    """sr_bench migrated and seeded (bench/load.py: an association that takes every
    report, the national coordination), Redis db 11 as cache and broker (emptied before
    and after), gunicorn as deployed with 2 workers; no Celery worker (her case waits
    in the outbox: routing is not measured)."""
    import redis

    from bench.load import NO_LIMITS, migrate_and_seed, recreate_database
    from tests.support.processes import free_port

    database_url = recreate_database(ADMIN_URL, DB_NAME)
    broker = redis.Redis.from_url(REDIS_URL)
    broker.flushdb()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_RESULT_BACKEND": REDIS_URL,
        "CACHE_URL": REDIS_URL,
        "EVIDENCE_BLOB_ROOT": str(tmp / "blobs"),
        "VAR_DIR": str(tmp / "var"),
        "EVIDENCE_MAX_FILE_MB": str(max_mib),
        "EVIDENCE_MAX_REPORT_MB": str(max_mib),
        # Sealing 1 GiB here takes longer than the page's "this will take long" bar: the
        # run measures the sealing, not her choice to let the server seal instead.
        "INTAKE_SLOW_SEALING_SECONDS": "3600",
        "EVIDENCE_RECEIPT_WORK_FACTOR": str(WORK_FACTOR),
        "GUNICORN_ACCESS_LOG": "/dev/null",
        **NO_LIMITS,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    migrate_and_seed(env)
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py"]
    argv += ["bench.browser_seal:application", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    with (tmp / "gunicorn.log").open("wb") as log:
        server = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(base + "/healthz")
        for _ in range(8):  # both workers up and warm, untimed
            urllib.request.urlopen(base + "/fr/", timeout=10).read()  # noqa: S310
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=150)  # graceful_timeout: requests in flight finish
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        broker.flushdb()
        broker.close()


def answer_the_steps(page, base: str) -> None:
    """The steps, as the browser tests take them, then her words."""
    steps.answer_the_steps(page, base)
    page.locator("textarea[name=narrative]").fill(WORDS)


def make_video(folder: Path, size_mib: int) -> Path:
    """Her video: an MP4 box, then random bytes (4 MiB of them, repeated)."""
    path = folder / "video.mp4"
    block = os.urandom(PART)
    with path.open("wb") as out:
        out.write(FTYP + block[len(FTYP) :])
        for _ in range(1, size_mib * MIB // PART):
            out.write(block)
    return path


def seal_file(source: Path, target: Path, readers: list[str]) -> None:
    """What her browser would have sent: the age file, to the page's readers and hers."""
    from evidence import age

    recipients = [age.X25519Identity.generate().recipient]
    recipients += [age.X25519Recipient.parse(reader) for reader in readers]
    with (
        source.open("rb") as plain,
        target.open("wb") as sink,
        age.Encryptor(recipients, sink) as writer,
    ):
        while block := plain.read(MIB):
            writer.write(block)


UPLOAD_WORKER = f"""
import {{ uploadStream }} from "{REPO / "frontend/src/upload.js"}";

self.onmessage = async (event) => {{
  const {{file, endpoint, csrf, partSize}} = event.data;
  const started = performance.now();
  try {{
    const headers = {{"X-CSRFToken": csrf}};
    const location = await uploadStream(file.stream(), file.size,
      {{endpoint, partSize, headers}});
    self.postMessage({{seconds: (performance.now() - started) / 1000, location}});
  }} catch (error) {{
    self.postMessage({{error: String(error), text: error.text ?? ""}});
  }}
}};
"""


UPLOAD_PRESEALED = """async ({code, partSize}) => {
  const form = document.querySelector("form[data-seal]");
  const worker = new Worker(URL.createObjectURL(new Blob([code], {type: "text/javascript"})));
  const answer = await new Promise((resolve, reject) => {
    worker.onmessage = (event) => resolve(event.data);
    worker.onerror = (event) => reject(new Error(event.message));
    worker.postMessage({
      file: document.getElementById("bench-sealed").files[0],
      endpoint: new URL(form.dataset.uploads, location.href).href,
      csrf: form.elements.csrfmiddlewaretoken.value,
      partSize,
    });
  });
  worker.terminate();
  return answer;
}"""


@dataclass
class Upload:
    label: str
    what: str
    size: int
    seconds: float
    extra: dict = field(default_factory=dict)

    @property
    def mbps(self) -> float:
        return self.size / self.seconds / 1e6


def upload_multipart(browser, base: str, video: Path) -> Upload:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(0)
    try:
        answer_the_steps(page, base)
        page.locator("input[name=evidence]").set_input_files(str(video))
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            started = time.perf_counter()
            page.locator("form.intake button[type=submit]").click(no_wait_after=True)
        seconds = time.perf_counter() - started
        status = posted.value.status
        page.wait_for_url("**/report/receipt/")
        if status != 302:
            raise SystemExit(f"the multipart post was answered {status}")
        return Upload(
            "multipart (scripts off)",
            "upload + server sealing + filing",
            video.stat().st_size,
            seconds,
        )
    finally:
        context.close()


def upload_presealed(browser, base: str, video: Path, sealed: Path, bundle: str) -> Upload:
    context = browser.new_context(bypass_csp=True)  # for the blob: Worker alone
    page = context.new_page()
    page.set_default_timeout(0)
    try:
        answer_the_steps(page, base)
        if not sealed.exists():  # the same readers in every session: sealed once
            readers = page.locator("form[data-seal]").get_attribute("data-readers").split()
            seal_file(video, sealed, readers)
        page.evaluate(
            "() => { const input = document.createElement('input'); input.type = 'file';"
            " input.id = 'bench-sealed'; input.hidden = true; document.body.append(input); }"
        )
        page.locator("#bench-sealed").set_input_files(str(sealed))
        with RendererMemory() as memory:
            answer = page.evaluate(UPLOAD_PRESEALED, {"code": bundle, "partSize": PART})
        if "error" in answer:
            raise SystemExit(f"the pre-sealed upload failed: {answer}")
        label, what = "resumable, pre-sealed", "upload.js only (tus), 4 MiB parts"
        return Upload(
            label,
            what,
            video.stat().st_size,
            answer["seconds"],
            {"before": memory.before, "peak": memory.peak},
        )
    finally:
        context.close()


def upload_sealed_in_page(browser, base: str, video: Path, receipt_wait: float) -> Upload:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(0)
    try:
        answer_the_steps(page, base)
        page.locator("input[name=evidence]").set_input_files(str(video))
        # intake.js makes her receipt while she writes: let it finish, as it has when
        # she has typed her words.
        time.sleep(receipt_wait)
        with RendererMemory() as memory:
            started = time.perf_counter()
            page.locator("form.intake button[type=submit]").click()
            page.locator("#receipt-view").wait_for(state="visible")
            seconds = time.perf_counter() - started
        return Upload(
            "resumable, sealed in the page",
            "intake.js: seal + upload + filing",
            video.stat().st_size,
            seconds,
            {"before": memory.before, "peak": memory.peak},
        )
    finally:
        context.close()


# --- the report ---------------------------------------------------------------------------


def say(line: str) -> None:
    print("  " + line, file=sys.stderr, flush=True)


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    parser.add_argument("--skip-jitless", action="store_true")
    parser.add_argument("--skip-upload", action="store_true", help="no site, no database")
    parser.add_argument("--jitless-mib", type=int, default=16)
    parser.add_argument(
        "--jitless-large-mib",
        type=int,
        default=0,
        help="also seal this many MiB without the JIT (e.g. 1024)",
    )
    parser.add_argument("--upload-mib", type=int, default=None, help="1024 (--quick: 256)")
    parser.add_argument("--scrypt-rounds", type=int, default=3)
    parser.add_argument("--skip-profile", action="store_true", help="no breakdown by stage")
    parser.add_argument("--jitless-profile-mib", type=int, default=4)
    options = parser.parse_args()
    small, large = (64, 256) if options.quick else (200, 1024)
    if options.quick:
        options.jitless_mib = 4
    if options.upload_mib is None:
        options.upload_mib = 256 if options.quick else 1024
    sizes = (small, large, options.jitless_mib, options.jitless_large_mib, options.upload_mib)
    for size in (*sizes, options.jitless_profile_mib):
        if size % 4:
            parser.error("sizes are whole 4 MiB parts")

    from evidence import age

    # Three readers, as she seals to: her own key, an association, the coordination.
    readers = [str(age.X25519Identity.generate().recipient) for _ in range(3)]
    sealings: list[Sealing] = []
    receipts: dict[str, list[float]] = {}
    profiles: dict[str, tuple[int, list]] = {}
    uploads: list[Upload] = []
    started = time.monotonic()
    loads = [os.getloadavg()[0]]
    code_folder = Path(tempfile.mkdtemp(prefix="browser-seal-code-"))

    try:
        profile_code = (
            "" if options.skip_profile else build_bundle(code_folder, "profile", PROFILE_WORKER)
        )
        with static_server() as base:
            with chromium(jit=True) as browser:
                receipts["JIT"] = receipt_seconds(browser, base, options.scrypt_rounds)
                for size in (small, large):
                    sealings.append(seal_in_browser(browser, base, readers, size, "JIT"))
                    say(f"sealed {size} MiB with the JIT: {sealings[-1].mbps:.1f} MB/s")
                if profile_code:
                    profiles["JIT"] = (small, profile(browser, base, readers, small, profile_code))
            if not options.skip_jitless:
                with chromium(jit=False) as browser:
                    receipts["JIT-less"] = receipt_seconds(browser, base, 1)
                    say(f"receipt without the JIT: {receipts['JIT-less'][0]:.0f} s")
                    for size in filter(None, (options.jitless_mib, options.jitless_large_mib)):
                        sealings.append(seal_in_browser(browser, base, readers, size, "JIT-less"))
                        say(f"sealed {size} MiB without the JIT: {sealings[-1].mbps:.2f} MB/s")
                    if profile_code:
                        size = options.jitless_profile_mib
                        profiles["JIT-less"] = (
                            size,
                            profile(browser, base, readers, size, profile_code),
                        )
    finally:
        shutil.rmtree(code_folder, ignore_errors=True)
    loads.append(os.getloadavg()[0])

    if not options.skip_upload:
        shm = Path("/dev/shm")  # noqa: S108 - the input file's place, made private below
        room = shutil.disk_usage(shm).free if shm.is_dir() else 0
        files = Path(
            tempfile.mkdtemp(
                prefix="browser-seal-", dir=shm if room > 3 * options.upload_mib * MIB else None
            )
        )
        files.chmod(0o700)
        tmp = Path(tempfile.mkdtemp(prefix="browser-seal-site-"))
        try:
            video = make_video(files, options.upload_mib)
            bundle = build_bundle(tmp, "upload-bench", UPLOAD_WORKER)
            with site(tmp, options.upload_mib + 64) as url, chromium(jit=True) as browser:
                uploads.append(upload_multipart(browser, url, video))
                say(f"{uploads[-1].label}: {uploads[-1].mbps:.0f} MB/s")
                sealed = files / "video.mp4.age"
                uploads.append(upload_presealed(browser, url, video, sealed, bundle))
                say(f"{uploads[-1].label}: {uploads[-1].mbps:.0f} MB/s")
                sealed.unlink()
                wait = 2 * statistics.median(receipts["JIT"]) + 1
                uploads.append(upload_sealed_in_page(browser, url, video, wait))
                say(f"{uploads[-1].label}: {uploads[-1].mbps:.0f} MB/s")
        finally:
            shutil.rmtree(files, ignore_errors=True)
            shutil.rmtree(tmp, ignore_errors=True)

    loads.append(os.getloadavg()[0])
    sizes = bundle_sizes()
    elapsed = time.monotonic() - started
    report(sealings, receipts, profiles, uploads, sizes, elapsed, loads)


def report(sealings, receipts, profiles, uploads, sizes, elapsed, loads) -> None:
    chromium_version = (
        subprocess.run(
            [CHROMIUM, "--version"],
            capture_output=True,
            text=True,
            check=False,
        )
        .stdout.split("built")[0]
        .strip()
    )
    print(
        f"\n{os.cpu_count()} cores, {platform.machine()}, {chromium_version} headless, "
        f"Playwright; {elapsed / 60:.1f} min in all; load average (1 min) "
        f"{', '.join(f'{load:.1f}' for load in loads)} (start, after sealing, end)\n"
    )
    print("| measure | value | target | |")
    print("| --- | ---: | ---: | --- |")
    for s in sealings:
        size = f"{s.size // MIB} MiB" if s.size < 1024 * MIB else f"{s.size / (1024 * MIB):g} GiB"
        target, ok = ("≥ 100 MB/s", verdict(s.mbps >= 100)) if s.label == "JIT" else ("", "")
        print(
            f"| sealing {size}, {s.label} (real Worker, uploads answered in it) | "
            f"**{s.mbps:.{1 if s.mbps >= 1 else 2}f} MB/s** ({s.seconds:.1f} s) | {target} | {ok} |"
        )
    for label in ("JIT", "JIT-less"):
        calibrated = [s.calibrate for s in sealings if s.label == label]
        if calibrated:
            print(
                f"| the Worker's own estimate (calibrate, 1 MiB), {label} | "
                f"{statistics.median(calibrated) / 1e6:.1f} MB/s | | |"
            )
    for s in sealings:
        gib = s.size >= 1024 * MIB and s.label == "JIT"
        print(
            f"| renderer RSS sealing {s.size // MIB} MiB, {s.label}: before → peak | "
            f"{s.before_kib / 1024:.0f} → **{s.peak_kib / 1024:.0f} MiB** | "
            f"{'< 256 MiB' if gib else ''} | {verdict(s.peak_kib < 256 * 1024) if gib else ''} |"
        )
    multipart = next((u for u in uploads if u.label.startswith("multipart")), None)
    for u in uploads:
        ratio = ""
        if multipart and u is not multipart:
            ratio = f", {u.mbps / multipart.mbps:.2f}{TIMES} multipart"
        target = f"≥ 0.8{TIMES} multipart" if u.label == "resumable, pre-sealed" else ""
        ok = verdict(u.mbps >= 0.8 * multipart.mbps) if target and multipart else ""
        print(
            f"| {u.size // MIB} MiB {u.label} ({u.what}) | **{u.mbps:.0f} MB/s** "
            f"({u.seconds:.1f} s{ratio}) | {target} | {ok} |"
        )
        if "peak" in u.extra:
            print(
                f"| renderer RSS meanwhile: before → peak | "
                f"{u.extra['before'] / 1024:.0f} → {u.extra['peak'] / 1024:.0f} MiB | | |"
            )
    for name, raw, packed in sizes:
        target, ok = (
            ("≤ 80 KB", verdict(packed <= 80_000)) if name == "seal-worker.js" else ("", "")
        )
        print(
            f"| {name}: minified / gzip -9 | {raw / 1000:.1f} KB / **{packed / 1000:.1f} KB** | "
            f"{target} | {ok} |"
        )
    for label, times in receipts.items():
        median = statistics.median(times)
        target, ok = ("< 3 s", verdict(median < 3)) if label == "JIT" else ("", "")
        runs = f"median of {len(times)}" if len(times) > 1 else "one run"
        print(
            f"| her receipt (scrypt 2^{WORK_FACTOR}), {label} | **{median:.2f} s** ({runs}) | "
            f"{target} | {ok} |"
        )

    for label, (size, rates) in profiles.items():
        print(f"\nWhere the time goes, {label}, a {size} MiB File, each stage alone in a Worker:\n")
        print("| stage | MB/s |")
        print("| --- | ---: |")
        for stage, rate in rates:
            print(f"| {stage} | {rate / 1e6:.1f} |")


if __name__ == "__main__":
    main()
