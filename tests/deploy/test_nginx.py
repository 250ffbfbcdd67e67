"""nginx with the repository's configuration (deploy/nginx/) in front of gunicorn.

What an operator would find out too late otherwise: that nginx wrote her evidence to a
temporary file in clear before passing it on, that its logs hold a reporter's address,
that the site redirects in a loop because it does not learn the request came over TLS,
or that the onion service is sent to an https:// it does not have.  These run the real
nginx with the files as shipped (only ports, paths and the certificate are swapped for
the test's), before a production-mode gunicorn.
"""

from __future__ import annotations

import contextlib
import datetime
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.deploy import recipe
from tests.support.cast import file_report
from tests.support.processes import REPO, child_pids, free_port, gunicorn, port_open, wait_until
from tests.support.uploading import text_bytes

pytestmark = pytest.mark.django_db(transaction=True)

SITE = "report.example.org"
ONION = "safereportexampleonionaddressxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion"
PROBE_AGENT = "ProbeAgent/9.9 (she-must-not-be-logged)"
PROBE_ADDRESS = "203.0.113.77"


def certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SITE)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(SITE)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def swap(text: str, changes: list[tuple[str, str]]) -> str:
    """Replace each (pattern, replacement); every pattern must be found, so that a
    change to the shipped files cannot quietly leave the test on its old paths."""
    for pattern, replacement in changes:
        text, count = re.subn(pattern, replacement, text)
        assert count, f"{pattern!r} no longer in the nginx configuration"
    return text


def nginx_binary() -> str:
    # Debian puts it in /usr/sbin, which is not on a normal user's PATH.
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(found).exists(), "nginx is not installed (apt-get install nginx)"
    return found


@contextmanager
def nginx(tmp: Path, *, upstream: str) -> Iterator[dict]:
    nginx_bin = nginx_binary()
    conf = tmp / "nginx"
    (conf / "snippets").mkdir(parents=True)
    (conf / "sites").mkdir()
    cert, key = certificate(conf)
    ports = {"http": free_port(), "https": free_port(), "onion": free_port()}
    source = recipe.DEPLOY / "nginx"
    temp_paths = "".join(
        f"    {kind}_temp_path {conf}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )

    (conf / "nginx.conf").write_text(
        swap(
            (source / "nginx.conf").read_text(),
            [
                (r"user www-data;", "user root;"),
                (r"pid /run/nginx.pid;", f"pid {conf}/nginx.pid;"),
                (r"/var/log/nginx/error.log", f"{conf}/error.log"),
                (r"include /etc/nginx/modules-enabled/\*.conf;\n", ""),
                (r"/etc/nginx/snippets/", f"{conf}/snippets/"),
                (r"/etc/nginx/sites-enabled/\*", f"{conf}/sites/*"),
                # Debian's default temporary folders, here where the test can look.
                (r"http \{\n", "http {\n" + temp_paths),
            ],
        )
    )
    (conf / "snippets" / "safe-report-upstream.conf").write_text(
        swap(
            (source / "safe-report-upstream.conf").read_text(),
            [(r"server 127\.0\.0\.1:8000;", f"server {upstream};")],
        )
    )
    (conf / "snippets" / "safe-report-locations.conf").write_text(
        swap(
            (source / "safe-report-locations.conf").read_text(),
            [(r"/srv/safe-report/app/staticfiles/", f"{REPO}/static/")],
        )
    )
    (conf / "sites" / "safe-report.conf").write_text(
        swap(
            (source / "safe-report.conf").read_text(),
            [
                (r" *listen \[::\]:\d+[^;]*;\n", ""),
                (r"listen 80\b", f"listen 127.0.0.1:{ports['http']}"),
                (r"listen 443\b", f"listen 127.0.0.1:{ports['https']}"),
                (r"/etc/letsencrypt/live/report\.example\.org/fullchain\.pem", str(cert)),
                (r"/etc/letsencrypt/live/report\.example\.org/privkey\.pem", str(key)),
                (r"/etc/nginx/snippets/", f"{conf}/snippets/"),
                (
                    r"# add_header Onion-Location http://ONION-ADDRESS",
                    f"add_header Onion-Location http://{ONION[:-6]}",
                ),
            ],
        )
    )
    (conf / "sites" / "safe-report-onion.conf").write_text(
        swap(
            (source / "safe-report-onion.conf").read_text(),
            [
                (r"listen 127\.0\.0\.1:8081;", f"listen 127.0.0.1:{ports['onion']};"),
                (r"ONION-ADDRESS\.onion", ONION),
                (r"/etc/nginx/snippets/", f"{conf}/snippets/"),
            ],
        )
    )
    argv = [nginx_bin, "-p", str(conf), "-c", str(conf / "nginx.conf"), "-e", "stderr"]
    checked = subprocess.run([*argv, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    log = (conf / "master.log").open("wb")
    proc = subprocess.Popen([*argv, "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(
            lambda: proc.poll() is not None or all(port_open(p) for p in ports.values()),
            timeout=20,
            what="nginx",
        )
        assert proc.poll() is None, (conf / "master.log").read_text()
        yield {"ports": ports, "conf": conf, "cert": cert, "pid": proc.pid}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


class _Pinned(http.client.HTTPSConnection):
    """HTTPS to the site's name (SNI, certificate check) on the loopback address."""

    def connect(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def https(front: dict) -> http.client.HTTPSConnection:
    context = ssl.create_default_context(cafile=str(front["cert"]))
    return _Pinned(SITE, front["ports"]["https"], context=context, timeout=60)


def ask(conn: http.client.HTTPConnection, method: str, path: str, **headers: str):
    headers = {"User-Agent": PROBE_AGENT, "X-Forwarded-For": PROBE_ADDRESS, **headers}
    conn.request(method, path, headers=headers)
    response = conn.getresponse()
    return response, response.read()


def temporary_files(front: dict) -> list[str]:
    """Files nginx holds open in its temporary folders.  nginx unlinks a temporary file
    as soon as it opens it, so a listing of the folder shows nothing: the bytes are on
    disk all the same, and /proc shows the open file ("... (deleted)")."""
    found = []
    for pid in [front["pid"], *child_pids(front["pid"])]:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(FileNotFoundError):
                target = os.readlink(fd)
                folder = Path(target).parent.name
                if target.startswith(str(front["conf"])) and folder in {"client_body", "proxy"}:
                    found.append(target)
    return found


def system_access_log() -> tuple[int, int] | None:
    """Size and mtime of the access log nginx was built to write when none is named."""
    built = subprocess.run([nginx_binary(), "-V"], capture_output=True, text=True).stderr
    path = Path(re.search(r"--http-log-path=(\S+)", built).group(1))
    return (path.stat().st_size, path.stat().st_mtime_ns) if path.exists() else None


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


@pytest.fixture
def site(cast, tmp_path):
    """A filed report (her receipt code), gunicorn in production mode, nginx in front."""
    report, pending = file_report()
    env = recipe.production_env(
        tmp_path,
        DJANGO_ALLOWED_HOSTS=f"{SITE},{ONION}",
        DJANGO_CSRF_TRUSTED_ORIGINS=f"https://{SITE},http://{ONION}",
    )
    with gunicorn(env, tmp_path) as upstream, nginx(tmp_path, upstream=upstream[7:]) as front:
        yield {"front": front, "report": report, "code": pending.display, "tmp": tmp_path}


def test_nginx_serves_static_files_itself_and_the_site_over_tls(site):
    front = site["front"]
    conn = https(front)

    response, body = ask(conn, "GET", "/static/css/site.css")
    assert response.status == 200
    assert body == (REPO / "static" / "css" / "site.css").read_bytes()
    # Not through Django: none of the page headers the site sets.
    assert response.getheader("Content-Security-Policy") is None
    assert response.getheader("X-Content-Type-Options") == "nosniff"

    response, body = ask(conn, "GET", "/healthz")
    assert (response.status, json.loads(body)["status"]) == (200, "ok")
    response, _ = ask(conn, "GET", "/fr/report/")
    # Django learned the request came over TLS: a page, with HSTS, not a redirect loop.
    assert response.status == 200
    assert "max-age=" in response.getheader("Strict-Transport-Security")
    assert response.getheader("Onion-Location") == f"http://{ONION}/fr/report/"

    plain = http.client.HTTPConnection("127.0.0.1", front["ports"]["http"], timeout=30)
    response, _ = ask(plain, "GET", "/fr/report/", Host=SITE)
    assert response.status == 301
    assert response.getheader("Location") == f"https://{SITE}/fr/report/"


def test_the_onion_service_is_served_over_http_without_a_redirect(site):
    conn = http.client.HTTPConnection("127.0.0.1", site["front"]["ports"]["onion"], timeout=30)

    response, _ = ask(conn, "GET", "/fr/report/", Host=ONION)

    assert response.status == 200  # no redirect to an https:// the onion does not have
    assert response.getheader("Location") is None
    cookies = response.getheader("Set-Cookie") or ""
    # Secure cookies: Tor Browser treats an .onion page as a secure context.
    assert "Secure" in cookies


def test_an_upload_streams_through_nginx_without_touching_its_disk(site):
    front, tmp = site["front"], site["tmp"]
    evidence = text_bytes(6 * 1024 * 1024)
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="evidence"; '
        f'filename="chat.txt"\r\nContent-Type: text/plain\r\n\r\n'
    ).encode()
    body = head + evidence + f"\r\n--{boundary}--\r\n".encode()
    conn = https(front)
    conn.putrequest("POST", "/api/reports/evidence/")
    for name, value in {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(body)),
        "Authorization": f"Receipt {site['code']}",
        "User-Agent": PROBE_AGENT,
    }.items():
        conn.putheader(name, value)
    conn.endheaders()

    # Two thirds of the file, then a pause: buffered, nginx would now be writing it to
    # a temporary file; unbuffered, gunicorn is already sealing it.
    cut = len(head) + 4 * 1024 * 1024
    conn.send(body[:cut])
    time.sleep(1.0)
    spilled = temporary_files(front)
    conn.send(body[cut:])
    response = conn.getresponse()
    answer = response.read()

    assert spilled == []
    assert response.status == 201, answer
    assert json.loads(answer)["count"] == 1
    item = site["report"].evidence.get()
    assert item.size == len(evidence)
    assert evidence[:4096] not in b"".join(p.read_bytes() for p in files_under(tmp))


def test_an_http2_upload_from_a_phone_streams_without_touching_nginx_disk(site, tmp_path):
    # Phones speak HTTP/2 to nginx (ALPN); nginx has its own body handling for it.
    curl = shutil.which("curl")
    assert curl, "curl is not installed (apt-get install curl)"
    front = site["front"]
    evidence = tmp_path / "voice-note-export.txt"  # test data, written by the test
    evidence.write_bytes(text_bytes(6 * 1024 * 1024))
    port = front["ports"]["https"]
    argv = [curl, "--silent", "--show-error", "--http2", "--cacert", str(front["cert"])]
    argv += ["--resolve", f"{SITE}:{port}:127.0.0.1", "--limit-rate", "3M"]
    argv += ["-H", f"Authorization: Receipt {site['code']}"]
    argv += ["-F", f"evidence=@{evidence};filename=chat.txt;type=text/plain"]
    argv += ["-o", str(tmp_path / "answer.json"), "-w", "%{http_version} %{http_code}"]
    argv += [f"https://{SITE}:{port}/api/reports/evidence/"]

    upload = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    spilled: set[str] = set()
    while upload.poll() is None:  # the whole upload, looked at ten times a second
        spilled.update(temporary_files(front))
        time.sleep(0.1)
    out, err = upload.communicate()

    assert out.decode() == "2 201", err.decode()
    assert spilled == set()
    assert json.loads((tmp_path / "answer.json").read_text())["count"] == 1
    assert site["report"].evidence.get().size == evidence.stat().st_size


def test_nothing_nginx_or_gunicorn_writes_names_a_client(site):
    front, tmp = site["front"], site["tmp"]
    access_log_before = system_access_log()
    conn = https(front)
    ask(conn, "GET", "/fr/report/", Referer="https://elsewhere.example/her-search")
    ask(conn, "GET", "/static/missing.css")
    # What nginx reports at "error" level with the client's address: a body too large,
    # refused before it is read.
    response, _ = ask(
        https(front), "POST", "/api/reports/evidence/", **{"Content-Length": str(2 * 1024**3)}
    )
    assert response.status == 413
    plain = http.client.HTTPConnection("127.0.0.1", front["ports"]["http"], timeout=30)
    with pytest.raises(http.client.RemoteDisconnected):  # the catch-all closes it unanswered
        ask(plain, "GET", "/", Host="unknown.example")
    with pytest.raises(ssl.SSLError):  # TLS for a name it does not serve: refused
        ssl.create_default_context().wrap_socket(
            socket.create_connection(("127.0.0.1", front["ports"]["https"])),
            server_hostname="unknown.example",
        )

    # gunicorn names the address it listens on: its own, not a client's.
    written = b"\n".join(
        line
        for path in files_under(tmp)
        if path.suffix == ".log"
        for line in path.read_bytes().splitlines()
        if b"Listening at: http://127.0.0.1:" not in line
    )
    assert written  # the logs were read: gunicorn says it started
    for trace in (b"127.0.0.1", b"client:", PROBE_AGENT.encode(), PROBE_ADDRESS.encode()):
        assert trace not in written
    assert b"her-search" not in written
    # No access log anywhere: only nginx's own start-up output and its error log here,
    # and nothing written to the access log nginx falls back to when none is named.
    logs = {p.name for p in files_under(front["conf"]) if p.suffix == ".log"}
    assert logs <= {"master.log", "error.log"}
    assert system_access_log() == access_log_before


def test_a_16_mib_part_of_her_browsers_upload_streams_through_nginx_unbuffered(site):
    # Her browser's resumable upload (reporting/uploads.py) sends ciphertext in PATCH
    # parts: nginx takes them as large as 16 MiB and passes them on as they arrive.
    from django.utils.crypto import get_random_string

    from evidence import age
    from evidence.models import ResumableUpload
    from reporting.uploads import SESSION_READERS
    from web.sessions import SessionStore

    front = site["front"]
    identity = age.X25519Identity.generate()
    data = age.encrypt(os.urandom(16 * 1024 * 1024), [identity.recipient])
    session = SessionStore()
    session[SESSION_READERS] = 1
    session.save()
    csrf = get_random_string(32)
    headers = {
        "Cookie": f"sessionid={session.session_key}; csrftoken={csrf}",
        "X-CSRFToken": csrf,
        "Tus-Resumable": "1.0.0",
        "User-Agent": PROBE_AGENT,
    }
    conn = https(front)
    conn.request(
        "POST", "/fr/report/uploads/", headers={**headers, "Upload-Length": str(len(data))}
    )
    created = conn.getresponse()
    created.read()
    assert created.status == 201
    location = created.getheader("Location")

    conn = https(front)
    conn.putrequest("PATCH", location)
    for name, value in {
        **headers,
        "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": "0",
        "Content-Length": str(len(data)),
    }.items():
        conn.putheader(name, value)
    conn.endheaders()
    conn.send(data[: 8 * 1024 * 1024])
    time.sleep(1.0)
    spilled = temporary_files(front)
    conn.send(data[8 * 1024 * 1024 :])
    answer = conn.getresponse()
    answer.read()

    assert spilled == []
    assert answer.status == 204
    assert answer.getheader("Upload-Offset") == str(len(data))
    assert ResumableUpload.objects.get().completed
