"""`make run` with nothing configured holds its own load: the web server, the worker,
beat and the bundle builder all on the embedded SQLite file, and a caseworker opening
cases with their images while they run.  SQLite's defaults (a deferred transaction that
cannot wait for the write lock it upgrades to) used to answer "database is locked" with a
500: broken images on the case page."""

from __future__ import annotations

import html
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.processes import (
    REPO,
    Answer,
    Browser,
    child_env,
    free_port,
    port_open,
    wait_until,
)
from tests.support.uploading import jpeg

pytestmark = pytest.mark.worker

REPORT = {
    "urgency": ["images_spreading"],
    "category": "intimate_images",
    "region": "casablanca_settat",
    "language": "fr",
    "age_band": "18_24",
    "services": ["takedown"],
    "consent_share": True,
    "consent_statistics": False,
    "narrative": "Il publie mes photos dans un groupe.",
    "identifiers": "@omar_x",
}


def demo_env(var: Path, port: int) -> dict[str, str]:
    """What `make run` sees on a bare machine: no database, broker or cache configured."""
    return child_env(
        VAR_DIR=str(var),
        DATABASE_URL=None,
        CELERY_BROKER_URL=None,
        CELERY_RESULT_BACKEND=None,
        CACHE_URL=None,
        CELERY_TASK_DEFAULT_QUEUE=None,
        DJANGO_DEBUG=None,
        SITE_PORT=str(port),
        # Parameters, not behaviour: cheaper key stretching keeps the seeding quick.
        EVIDENCE_MEMBER_WORK_FACTOR="12",
        EVIDENCE_RECEIPT_WORK_FACTOR="12",
        # Beat's sweep of the workflow outbox every second: more writers at once.
        CASEWORK_OUTBOX_SWEEP_SECONDS="1",
    )


def procfile_commands(port: int) -> dict[str, list[str]]:
    """The Procfile's processes, as honcho starts them (scripts/run.sh)."""
    commands = {}
    for line in (REPO / "Procfile").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, command = line.split(":", 1)
        command = command.replace("${SITE_PORT:-8000}", str(port)).replace("%h", "localhost")
        argv = shlex.split(command)
        argv[0] = {".venv/bin/python": sys.executable}.get(argv[0], argv[0])
        if "runserver" in argv:
            # The reloader would restart the server whenever a file of the checkout is
            # saved during the test; the server itself is the same without it.
            argv.append("--noreload")
        if argv[0] == ".venv/bin/celery":
            argv[:1] = [sys.executable, "-m", "celery"]
        commands[name.strip()] = argv
    return commands


@contextmanager
def the_demo(env: dict[str, str], logs: Path, port: int) -> Iterator[dict[str, Path]]:
    """Every process of the Procfile, each in its own process group (runserver's
    reloader and Celery's pool have children) stopped as a whole afterwards."""
    started: list[subprocess.Popen] = []
    paths = {}
    try:
        for name, argv in procfile_commands(port).items():
            paths[name] = logs / f"{name}.log"
            with paths[name].open("wb") as out:
                started.append(
                    subprocess.Popen(
                        argv,
                        cwd=REPO,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        wait_until(lambda: port_open(port), timeout=60, what="the demo's web server")
        for name in ("worker", "bundles"):
            wait_until(
                lambda n=name: "ready." in paths[n].read_text(errors="replace"),
                timeout=60,
                what=f"the demo's {name}",
            )
        wait_until(
            lambda: "beat: Starting" in paths["beat"].read_text(errors="replace"),
            timeout=60,
            what="the demo's beat",
        )
        yield paths
    finally:
        for proc in started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in started:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def signed_in_caseworker(base: str, env: dict[str, str], var: Path) -> Browser:
    password = json.loads((var / "demo-accounts.json").read_text())["demo-caseworker"]
    browser = Browser(base, "fr")
    page = browser.get("/fr/staff/login/").text
    answer = browser.post_form(
        "/fr/staff/login/", page, {"username": "demo-caseworker", "password": password}
    )
    assert answer.status == 302, answer.text[:500]
    page = browser.get("/fr/staff/login/code/").text
    code = manage(env, "demo_code", "demo-caseworker").strip()
    answer = browser.post_form("/fr/staff/login/code/", page, {"code": code})
    assert answer.status == 302, answer.text[:500]
    return browser


def load_case(signed_in: Browser, path: str) -> list[tuple[str, Answer]]:
    """A case page and every image on it, as a browser loads them (its own connection
    per request, the session's cookies)."""
    browser = Browser(signed_in.base, "fr")
    browser.cookies = dict(signed_in.cookies)
    page = browser.get(path)
    answers = [(path, page)]
    for image in re.findall(r'<img src="([^"]+/evidence/\d+/view/)"', page.text):
        answers.append((image, browser.get(image)))
    return answers


@dataclass
class Demo:
    base: str
    env: dict[str, str]
    var: Path
    logs: dict[str, Path]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Demo]:
    """`make run` on a bare machine: migrate, seed, then every process of the Procfile."""
    tmp = tmp_path_factory.mktemp("demo")
    var, port = tmp / "var", free_port()
    env = demo_env(var, port)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "seed_demo")
    with the_demo(env, tmp, port) as logs:
        yield Demo(f"http://127.0.0.1:{port}", env, var, logs)


def queued_cases(caseworker: Browser) -> set[str]:
    queue = caseworker.get("/fr/staff/")
    assert queue.status == 200, queue.text[:500]
    return set(re.findall(r'href="(/fr/staff/cases/\d+/)"', queue.text))


def test_the_demo_serves_cases_and_images_while_its_workers_run(demo):
    caseworker = signed_in_caseworker(demo.base, demo.env, demo.var)
    seeded = queued_cases(caseworker)
    reporter = Browser(demo.base, "fr")
    for _ in range(4):  # reports with photos, as a reporter files them through the API
        filed = reporter.request("POST", "/api/reports/", json_body=REPORT)
        assert filed.status == 201, filed.text
        code = json.loads(filed.text)["receipt_code"]
        photos = [("evidence", f"photo-{i}.jpg", jpeg((320, 240)), "image/jpeg") for i in range(3)]
        added = reporter.request(
            "POST",
            "/api/reports/evidence/",
            files=photos,
            headers={"Authorization": f"Receipt {code}"},
        )
        assert added.status == 201, added.text

    # The four with photos: the new ones (keys are random, so not the highest).
    cases = sorted(queued_cases(caseworker) - seeded)
    assert len(cases) == 4
    loads = [cases[i % len(cases)] for i in range(10)]

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = [
            a for answers in pool.map(lambda p: load_case(caseworker, p), loads) for a in answers
        ]

    images = [(path, a) for path, a in results if path.endswith("/view/")]
    failed = [(path, a.status, a.text[:200]) for path, a in results if a.status != 200]
    web_log = demo.logs["web"].read_text(errors="replace")
    assert failed == [], web_log[-3000:]
    assert len(images) == 10 * 3
    assert all(a.headers["Content-Type"].startswith("image/") for _, a in images)
    assert "database is locked" not in web_log


@pytest.mark.parametrize(
    ("language", "title", "quick_exit"),
    [
        ("fr", "Cette page n'existe pas", "Quitter vite"),
        ("ar", "هذه الصفحة غير موجودة", "خروج سريع"),
    ],
)
def test_a_mistyped_address_in_the_demo_shows_our_page_in_her_language(
    demo, language, title, quick_exit
):
    answer = Browser(demo.base, language).get(f"/{language}/signalemnt/")

    assert answer.status == 404
    assert "Traceback" not in answer.text
    assert "DEBUG = True" not in answer.text
    assert html.unescape(title) in html.unescape(answer.text)
    assert quick_exit in answer.text
    assert f'lang="{language}"' in answer.text


def test_the_demo_still_serves_its_static_files(demo):
    page = Browser(demo.base, "fr").get("/fr/")
    assert page.status == 200
    scripts = re.findall(r'src="(/static/[^"]+\.js)"', page.text)
    styles = re.findall(r'href="(/static/[^"]+\.css)"', page.text)
    assert scripts
    assert styles
    for path in scripts + styles:
        assert Browser(demo.base, "fr").get(path).status == 200, path
