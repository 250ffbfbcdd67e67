"""deploy/backup.sh and deploy/restore-drill.sh on real reports, sealed with real keys.

A backup the operator cannot restore is no backup: these file reports with evidence
through the reporting service, back them up with the script the server runs every night,
restore the backup into a new database and a new folder with the drill, and open a
restored report with its receipt code.  Then they spoil a backup the ways storage does
and check that the drill says so, naming the blob.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from casework import services as casework
from evidence import services as evidence
from evidence.models import SealedObject
from tests.support import processes
from tests.support.cast import file_report
from tests.support.processes import REPO, child_env
from tests.support.uploading import jpeg, text_bytes

pytestmark = pytest.mark.django_db(transaction=True)

DEPLOY = REPO / "deploy"
REPLY = "Nous avons signalé le compte. Gardez les captures."
NARRATIVE = "Il publie mes photos et menace de les envoyer à ma famille si je ne paie pas."


def database_url(name: str) -> str:
    return processes.test_database_url().rsplit("/", 1)[0] + f"/{name}"


def psql(sql: str) -> str:
    """Run SQL on the server's maintenance database (CREATE / DROP DATABASE)."""
    done = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", database_url("postgres")],
        input=sql,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def scratch_databases() -> list[str]:
    prefix = settings.DATABASES["default"]["NAME"]
    names = psql("SELECT datname FROM pg_database ORDER BY 1").split()
    return [name for name in names if name.startswith(f"{prefix}_drill_")]


def script(name: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if name == "restore-drill.sh":
        # The backup runs as the site's role (it reads everything); the drill creates and
        # fills a database of its own, which the role that owns the tables does.
        env = {**env, "DATABASE_URL": processes.test_database_url()}
    return subprocess.run(
        ["bash", str(DEPLOY / name), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def backup_env(blob_root, tmp_path) -> dict[str, str]:
    return child_env(
        EVIDENCE_BLOB_ROOT=str(blob_root),
        BACKUP_DIR=str(tmp_path / "backups"),
        BACKUP_KEEP="3",
        DATABASE_URL_FILE=None,
    )


@pytest.fixture
def filed(cast):
    """Two reports as the intake pages file them: her words, a photo and a chat export."""
    chat = text_bytes(300_000)
    photo = jpeg((320, 240))
    report, pending = file_report(
        narrative=NARRATIVE, files=(("photo.jpg", photo), ("chat.txt", chat))
    )
    file_report(narrative="Quelqu'un a créé un faux profil à mon nom.", category="impersonation")
    # Her caseworker's work: audit rows, a sealed note, a sealed reply she reads.
    alice = cast.users["alice"]
    casework.assign_case(report.case, alice, actor=alice)
    casework.add_note(report.case, "Appelé la plateforme, ticket 4411", actor=alice)
    casework.reply_to_reporter(report.case, REPLY, actor=alice)
    return {"report": report, "pending": pending, "chat": chat, "photo": photo}


@pytest.fixture
def restored_database():
    name = f"{settings.DATABASES['default']['NAME']}_restored_{uuid.uuid4().hex[:8]}"
    yield name
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_backup(env: dict[str, str]) -> Path:
    done = script("backup.sh", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("backup OK: "), done.stdout
    return Path(done.stdout.removeprefix("backup OK: ").split(" (")[0])


def open_with_receipt(code: str, *, database: str, blobs: Path) -> dict:
    """Her report, opened with her receipt code from the restored database and blobs, in
    a process that knows nothing but those (and the test's cheap key stretching)."""
    program = """
import hashlib, json, os
from evidence import services as evidence
from reporting import services
reporter, identity = services.open_receipt(os.environ["RECEIPT_CODE"])
report = reporter.report
files = {}
for item in report.evidence.all():
    with evidence.open_object(item.original, [identity]) as original:
        files[services.evidence_name(item, identity)] = hashlib.sha256(original.read()).hexdigest()
print(json.dumps({"narrative": services.read_content(report, identity)["narrative"],
                  "files": files,
                  "replies": [m["text"] for m in services.read_messages(report, identity)]}))
"""
    env = child_env(
        DATABASE_URL=database_url(database),
        EVIDENCE_BLOB_ROOT=str(blobs),
        EVIDENCE_RECEIPT_WORK_FACTOR="10",
        RECEIPT_CODE=code,
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", program],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_restored_backup_opens_her_report_with_her_receipt_code(
    filed, backup_env, tmp_path, restored_database
):
    backup = make_backup(backup_env)
    blobs = tmp_path / "restored-blobs"

    drill = script(
        "restore-drill.sh",
        "--keep",
        "--database",
        restored_database,
        "--blobs",
        str(blobs),
        str(backup),
        env=backup_env,
    )

    assert drill.returncode == 0, drill.stdout + drill.stderr
    verdict = drill.stdout.strip().splitlines()[-1]
    assert verdict.startswith(f"restore drill OK: {backup.name}: "), drill.stdout
    assert "(2 reports, " in verdict
    opened = open_with_receipt(filed["pending"].display, database=restored_database, blobs=blobs)
    assert opened == {
        "narrative": NARRATIVE,
        "files": {
            "photo.jpg": hashlib.sha256(filed["photo"]).hexdigest(),
            "chat.txt": hashlib.sha256(filed["chat"]).hexdigest(),
        },
        "replies": [REPLY],
    }


def test_a_backup_holds_no_plaintext_of_her_words_or_her_files(filed, backup_env):
    backup = make_backup(backup_env)

    # What a thief of the backup disk reads: the dump as SQL text, the blob archive raw.
    dump_as_sql = subprocess.run(
        ["pg_restore", "--file=-", str(backup / "database.dump")],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    archive = (backup / "blobs.tar").read_bytes()

    assert b"INSERT" in dump_as_sql or b"COPY public.reporting_report" in dump_as_sql
    for secret in (NARRATIVE.encode(), REPLY.encode(), b"ticket 4411", filed["chat"][:64]):
        assert secret not in dump_as_sql
        assert secret not in archive
    assert filed["photo"][:200] not in archive
    assert sorted(p.name for p in backup.iterdir()) == [
        "SHA256SUMS",
        "blobs.sha256",
        "blobs.tar",
        "counts.tsv",
        "database.dump",
        "erased-while-copying.txt",
        "manifest.txt",
    ]


def _original_blob(report) -> tuple[str, int]:
    item = report.evidence.select_related("original").first()
    return item.original.blob_key, item.original.pk


def test_the_drill_names_a_blob_damaged_after_the_backup_was_made(filed, backup_env, tmp_path):
    key, _ = _original_blob(filed["report"])
    backup = shutil.copytree(make_backup(backup_env), tmp_path / "damaged")
    with tarfile.open(backup / "blobs.tar") as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith(key))
    with (backup / "blobs.tar").open("r+b") as archive:  # bit rot in the middle of it
        archive.seek(member.offset_data + member.size // 2)
        byte = archive.read(1)
        archive.seek(-1, 1)
        archive.write(bytes([byte[0] ^ 0x01]))

    drill = script("restore-drill.sh", str(backup), env=backup_env)

    assert drill.returncode == 1, drill.stdout + drill.stderr
    assert f"PROBLEM: CORRUPTED blob {key} " in drill.stdout
    assert "blobs.tar: FAILED" in drill.stdout
    assert drill.stdout.strip().splitlines()[-1].startswith("restore drill FAILED: ")
    assert scratch_databases() == []  # the drill cleaned up after itself


def without_blob(backup: Path, key: str, *, erased_meanwhile: bool = False) -> None:
    """Take one payload out of a backup, keeping its archive and lists consistent (as a
    copy cut short, or a blob lost before the backup ran, would be).  With
    ``erased_meanwhile``, also list it as erased while the backup ran: what backup.sh
    writes when retention deletes it between the database copy and the blob copy."""
    with tarfile.open(backup / "blobs.tar") as old:
        members = [(m, old.extractfile(m).read() if m.isfile() else None) for m in old]
    with tarfile.open(backup / "blobs.tar", "w", format=tarfile.PAX_FORMAT) as new:
        for member, data in members:
            if not member.name.endswith(key):
                new.addfile(member, io.BytesIO(data) if data is not None else None)
    sums = backup / "blobs.sha256"
    sums.write_text("".join(line for line in sums.open() if key not in line))
    if erased_meanwhile:
        with (backup / "erased-while-copying.txt").open("a") as erased:
            erased.write(f"{key}\n")
    names = ["database.dump", "blobs.tar", "blobs.sha256", "counts.tsv"]
    names += ["erased-while-copying.txt", "manifest.txt"]
    (backup / "SHA256SUMS").write_text(
        "".join(f"{hashlib.sha256((backup / n).read_bytes()).hexdigest()}  {n}\n" for n in names)
    )


def test_the_drill_names_a_blob_the_backup_lacks(filed, backup_env, tmp_path):
    key, pk = _original_blob(filed["report"])
    backup = shutil.copytree(make_backup(backup_env), tmp_path / "incomplete")
    # Archive and lists agree: only the database can tell the payload is missing.
    without_blob(backup, key)

    # --keep, as for a real restore: a restore that failed must not be left to swap in.
    drill = script("restore-drill.sh", "--keep", str(backup), env=backup_env)

    assert drill.returncode == 1, drill.stdout + drill.stderr
    assert f"MISSING blob {key} of sealed object {pk} " in drill.stdout
    assert "CORRUPTED" not in drill.stdout
    assert drill.stdout.strip().splitlines()[-1].startswith("restore drill FAILED: ")
    assert scratch_databases() == []
    assert list(tmp_path.glob(".drill-*")) == []


def test_an_erasure_while_the_backup_runs_is_listed_and_not_a_failure(filed, backup_env, tmp_path):
    item = filed["report"].evidence.select_related("original").first()
    key = item.original.blob_key
    before = shutil.copytree(make_backup(backup_env), tmp_path / "raced")

    evidence.erase_item(item)  # retention, as beat runs it
    after = make_backup(backup_env)

    # backup.sh lists what was erased since its database snapshot (and a day before)...
    assert key in (after / "erased-while-copying.txt").read_text().split()
    # ...so that a backup whose blob copy ran after such an erasure still passes: the
    # race, played out by hand on the earlier backup.
    without_blob(before, key, erased_meanwhile=True)
    drill = script("restore-drill.sh", str(before), env=backup_env)
    assert drill.returncode == 0, drill.stdout + drill.stderr
    assert "1 absent because erased while the backup ran" in drill.stdout


def test_backups_keep_the_newest_and_touch_nothing_else(backup_env, tmp_path):
    backups = Path(backup_env["BACKUP_DIR"])
    for stamp in ("20250101T000000Z", "20250102T000000Z", "20250103T000000Z"):
        (backups / f"safe-report-{stamp}").mkdir(parents=True)
    (backups / ".partial-safe-report-20250104T000000Z").mkdir()  # a run that died
    (backups / "notes.txt").write_text("the operator's own file")

    newest = make_backup(backup_env)

    assert sorted(p.name for p in backups.iterdir() if not p.name.startswith(".lock")) == [
        "notes.txt",
        "safe-report-20250102T000000Z",
        "safe-report-20250103T000000Z",
        newest.name,
    ]
    assert SealedObject.objects.count() == 0
