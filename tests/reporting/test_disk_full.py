"""The blob store's disk fills up while her upload is being sealed: she is told, in her
language, that nothing was kept; nothing is half-written; the space is given back.

A real full disk: gunicorn runs in a mount namespace of its own (``unshare``) where the
blob store is a 1 MiB tmpfs, and her file is larger than that.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from reporting.models import Report
from tests.support.processes import child_env, free_port, port_open, running, wait_until
from tests.support.uploading import jpeg

pytestmark = pytest.mark.django_db(transaction=True)

STEPS = [
    ("urgency", {"urgency": [], "category": "threats"}),
    (
        "about",
        {
            "region": "oriental",
            "language": "ar",
            "age_band": "25_34",
            "services": ["listening"],
            "consent_share": "no",
            "consent_statistics": "no",
        },
    ),
]


@contextmanager
def gunicorn_on_a_small_disk(tmp: Path, blob_root: Path) -> Iterator[tuple[str, int]]:
    """(base URL, pid): the pid's /proc/<pid>/root shows the blob store as it sees it."""
    assert shutil.which("unshare"), "unshare (util-linux) is needed for the full-disk drill"
    port = free_port()
    mount = 'mount -t tmpfs -o size=1m,mode=0700 tmpfs "$0" && exec "$@"'
    argv = ["unshare", "--map-root-user", "--mount", "sh", "-c", mount, str(blob_root)]
    argv += [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py"]
    argv += ["config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    env = child_env(
        EVIDENCE_BLOB_ROOT=str(blob_root), VAR_DIR=str(tmp / "var"), DJANGO_DEBUG="false"
    )
    with running(argv, env=env, log=tmp / "gunicorn.log") as proc:
        wait_until(lambda: proc.poll() is not None or port_open(port), timeout=30, what="gunicorn")
        assert proc.poll() is None, (tmp / "gunicorn.log").read_text()
        yield f"http://127.0.0.1:{port}", proc.pid


class Browser:
    def __init__(self, site: str) -> None:
        self.site = site
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.page = ""
        self.status = 0
        self.headers: dict[str, str] = {}

    def send(self, path: str, body: bytes | None = None, content_type: str = "") -> str:
        request = urllib.request.Request(self.site + path, data=body)  # noqa: S310 - loopback
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with self.opener.open(request, timeout=60) as response:
                self.status, self.headers = response.status, dict(response.headers)
                self.page = response.read().decode()
        except urllib.error.HTTPError as error:
            self.status, self.headers = error.code, dict(error.headers)
            self.page = error.read().decode()
        return self.page

    def post(self, path: str, fields: dict, *, multipart: bool = False) -> str:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.page).group(1)
        data = {"csrfmiddlewaretoken": token, **fields}
        if multipart:
            return self.send(path, encode_multipart(BOUNDARY, data), MULTIPART_CONTENT)
        body = urllib.parse.urlencode(data, doseq=True).encode()
        return self.send(path, body, "application/x-www-form-urlencoded")

    def file(self, evidence: tuple[str, bytes] | None) -> str:
        self.send("/ar/report/step/urgency/")
        for name, answers in STEPS:
            self.post(f"/ar/report/step/{name}/", answers)
        fields = {"narrative": "يهددني على إنستغرام.", "identifiers": "", "contact": ""}
        if evidence:
            from django.core.files.uploadedfile import SimpleUploadedFile

            fields["evidence"] = SimpleUploadedFile(*evidence)
        return self.post("/ar/report/your-words/", fields, multipart=True)


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_a_full_disk_while_sealing_is_a_clean_503_and_leaves_nothing(coordinator_key, tmp_path):
    blob_root = tmp_path / "blobs"
    blob_root.mkdir()
    with gunicorn_on_a_small_disk(tmp_path, blob_root) as (site, pid):
        seen = Path(f"/proc/{pid}/root") / blob_root.relative_to("/")
        her = Browser(site)

        page = her.file(("video.jpg", jpeg(extra=os.urandom(3 * 1024 * 1024))))

        assert her.status == 503
        assert her.headers["Retry-After"] == "30"
        assert 'dir="rtl"' in page
        assert "لم يُحفظ" in page  # what she sent was not kept
        assert Report.objects.count() == 0
        assert files_under(seen) == []  # no partial blob, no orphan

        # The failed upload gave its space back: the next report, with a small photo, goes.
        again = Browser(site)
        again.file(("capture.jpg", jpeg()))
        assert again.status == 200, again.page[:500]
        assert "receipt-code" in again.page
        assert Report.objects.count() == 1
        assert files_under(seen)  # sealed, inside the small disk
    log = (tmp_path / "gunicorn.log").read_text()
    assert "No space left on device" in log  # the operator sees why
    assert "يهددني" not in log
