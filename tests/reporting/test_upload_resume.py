"""Her connection drops in the middle of a part: the upload goes on from where the server
stands, on the production server (gunicorn) and on the tests' live server, through a
proxy that cuts the connection (tests/support/cutting_proxy.py)."""

from __future__ import annotations

import http.client
import os
import time
import urllib.parse

import pytest
from django.conf import settings
from django.utils.crypto import get_random_string

from evidence import age, resumable, services
from evidence.models import ResumableUpload
from reporting.uploads import SESSION_READERS
from tests.support.cutting_proxy import CuttingProxy
from tests.support.processes import child_env, gunicorn
from web.sessions import SessionStore

pytestmark = pytest.mark.django_db(transaction=True)

MiB = 1024 * 1024
PART = MiB
# Room for the request lines and headers of every request sent (a few hundred bytes
# each), beside the bytes of the file.
HEADERS_ALLOWANCE = 16 * 1024
TOKENS = pytest.StashKey[list]()


class Tus:
    """The requests her browser's uploader makes, one connection each, as a browser
    whose page holds her session and CSRF cookies."""

    def __init__(self, base: str, readers: int) -> None:
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        session = SessionStore()
        session[SESSION_READERS] = readers
        session.save()
        self.csrf = get_random_string(32)
        self.cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}; csrftoken={self.csrf}"

    def request(
        self, method: str, path: str, body: bytes = b"", **headers: str
    ) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        sent = {
            "Host": f"{self.host}:{self.port}",
            "Cookie": self.cookie,
            "X-CSRFToken": self.csrf,
            "Tus-Resumable": "1.0.0",
            "Content-Length": str(len(body)),
            **{name.replace("_", "-"): value for name, value in headers.items()},
        }
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            response.read()
            return response
        finally:
            connection.close()

    def offset(self, location: str) -> int:
        return int(self.request("HEAD", location).headers["Upload-Offset"])

    def patch(self, location: str, offset: int, body: bytes) -> http.client.HTTPResponse:
        return self.request(
            "PATCH",
            location,
            body,
            Content_Type="application/offset+octet-stream",
            Upload_Offset=str(offset),
        )


@pytest.fixture(params=["gunicorn", "live_server"])
def site(request, blob_root, tmp_path):
    if request.param == "gunicorn":
        # With the access log on, as an operator may turn it on: it must not name the
        # upload's token (config/gunicorn_logging.py).
        env = child_env(EVIDENCE_BLOB_ROOT=str(blob_root), GUNICORN_ACCESS_LOG="-")
        with gunicorn(env, tmp_path) as url:
            yield url
        log = (tmp_path / "gunicorn.log").read_text()
        assert "/fr/report/uploads/[upload]/" in log
        for token in request.node.stash.get(TOKENS, []):
            assert token not in log
    else:
        yield request.getfixturevalue("live_server").url


def test_an_upload_cut_in_its_second_part_resumes_where_the_server_stands_and_completes(
    site, request
):
    identities = [age.X25519Identity.generate() for _ in range(3)]
    plain = os.urandom(3 * MiB)
    data = age.encrypt(plain, [i.recipient for i in identities])

    with CuttingProxy(site) as proxy:
        tus = Tus(proxy.url, readers=3)
        created = tus.request("POST", "/fr/report/uploads/", Upload_Length=str(len(data)))
        assert created.status == 201
        location = created.headers["Location"]
        request.node.stash[TOKENS] = [location.rstrip("/").rsplit("/", 1)[1]]
        assert tus.patch(location, 0, data[:PART]).status == 204

        # The second part: the connection goes after 600 kB of it.
        proxy.cut_next(after=600_000, method=b"PATCH")
        with pytest.raises((OSError, http.client.HTTPException)):
            tus.patch(location, PART, data[PART : 2 * PART])
        assert proxy.cuts == 1

        # Her browser waits a moment before it asks where the upload stands (tus-js-client
        # waits 0, 1, 3 then 5 s): what reached the server before the cut may still be in
        # its socket's buffer, not yet read by the request it belongs to.  Asked too soon,
        # the server says too little and she sends up to that part again (the assertion
        # on what she sent below holds either way); here she asks until it has been read.
        deadline = time.monotonic() + 20
        while (offset := tus.offset(location)) == PART and time.monotonic() < deadline:
            time.sleep(0.2)
        kept_of_the_cut_part = offset - PART
        # Then she sends from there; a part that meets one still being written is told
        # so (409), and she asks again.
        for _ in range(50):
            if offset == len(data):
                break
            answer = tus.patch(location, offset, data[offset : offset + PART])
            if answer.status == 409:
                time.sleep(0.1)
                offset = tus.offset(location)
                continue
            assert answer.status == 204
            offset = int(answer.headers["Upload-Offset"])
        assert tus.offset(location) == len(data)

    # What arrived of the cut part was kept: she did not send it again.
    assert 500_000 < kept_of_the_cut_part < 600_000
    assert proxy.received <= len(data) + PART + HEADERS_ALLOWANCE
    upload = ResumableUpload.objects.get()
    assert upload.completed
    sealed = resumable.claim(location.rstrip("/").rsplit("/", 1)[1], upload.owner)
    assert services.read_object(sealed, [identities[2]]) == plain
