"""Resumable uploads of what her browser sealed (evidence/resumable.py): parts appended
straight into the blob store, checked without a key, claimed as a sealed object."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction

from evidence import age, resumable, services
from evidence.blobstore import HOUR, blob_store
from evidence.exceptions import NotAcceptable, TooManyUploads, UploadConflict, UploadNotFound
from evidence.models import ResumableUpload, SealedObject
from tests.evidence.agetool import keygen, run

pytestmark = pytest.mark.django_db

MiB = 1024 * 1024
OWNER = "a" * 64


def sealed_file(size: int, readers: int) -> tuple[bytes, bytes, list[age.X25519Identity]]:
    """(plaintext, age file, the readers' identities), sealed by evidence.age."""
    identities = [age.X25519Identity.generate() for _ in range(readers)]
    plain = os.urandom(size)
    return plain, age.encrypt(plain, [i.recipient for i in identities]), identities


def send(data: bytes, *, readers: int, parts: list[int], max_size: int = MiB) -> str:
    """Start an upload of ``data`` and send it in parts of the sizes given (the rest in
    the last); returns the token."""
    token = resumable.start_upload(
        length=len(data), owner=OWNER, readers=readers, max_size=max_size
    )
    offset = 0
    for size in [*parts, len(data)]:
        piece = data[offset : offset + size]
        if piece:
            offset = resumable.append(token, OWNER, offset, io.BytesIO(piece))
    return token


def files_in(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


class CutStream:
    """A request body whose connection drops after ``keep`` bytes."""

    def __init__(self, data: bytes, keep: int) -> None:
        self.data, self.keep, self.position = data, keep, 0

    def read(self, size: int) -> bytes:
        if self.position >= self.keep:
            raise ConnectionResetError("the client went away")
        piece = self.data[self.position : min(self.position + size, self.keep)]
        self.position += len(piece)
        return piece


def test_a_file_sent_in_parts_is_kept_as_her_browser_sealed_it_and_opens_for_each_reader(
    blob_root,
):
    plain, data, identities = sealed_file(200_000, 3)
    # The first part ends inside the header, the second inside the first chunk.
    token = send(data, readers=3, parts=[100, 70_000])
    assert resumable.upload_offset(token, OWNER) == len(data)

    sealed = resumable.claim(token, OWNER)

    header = age.read_header(io.BytesIO(data)).raw
    assert sealed.sealed_by == SealedObject.SealedBy.BROWSER
    assert sealed.ciphertext_sha256 == hashlib.sha256(data).hexdigest()
    assert bytes(sealed.header) == header
    assert sealed.payload_size == len(data) - len(header)
    assert sealed.created_at.minute == sealed.created_at.second == 0
    for identity in identities:
        assert services.read_object(sealed, [identity]) == plain
    # The payload alone is in the store, under its key; nothing else is there.
    assert files_in(blob_root) == [blob_store().path(sealed.blob_key)]
    assert not ResumableUpload.objects.exists()


def test_a_file_sealed_by_the_age_tool_is_accepted_and_opens_with_the_readers_identities(
    tmp_path,
):
    keys = [keygen() for _ in range(2)]
    plain = os.urandom(3 * 65536 + 11)
    (tmp_path / "plain").write_bytes(plain)
    recipients = [arg for _, recipient in keys for arg in ("-r", recipient)]
    done = run(*recipients, "-o", tmp_path / "sealed.age", tmp_path / "plain")
    assert done.returncode == 0, done.stderr
    data = (tmp_path / "sealed.age").read_bytes()

    sealed = resumable.claim(send(data, readers=2, parts=[65536]), OWNER)

    for identity, _ in keys:
        assert services.read_object(sealed, [age.X25519Identity.parse(identity)]) == plain


def spoiled(kind: str) -> tuple[bytes, int]:
    """(an age file that must be refused, the readers it is announced for)."""
    if kind == "stanza count":
        return sealed_file(1000, 2)[1], 3
    if kind == "scrypt stanza":
        return age.encrypt(
            b"her words " * 20, [age.ScryptRecipient(b"guessable", work_factor=10)]
        ), 1
    if kind == "truncated payload":
        return sealed_file(65541, 3)[1][:-6], 3  # the last chunk cut inside its tag
    if kind == "overlong payload":
        return sealed_file(65536, 3)[1] + bytes(16), 3
    if kind == "header over the cap":
        return sealed_file(10, 50)[1], 50
    if kind == "not an age file":
        return b"PK\x03\x04" + bytes(5000), 3
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("stanza count", "stanzas"),
        ("scrypt stanza", "stanzas"),
        ("truncated payload", "payload"),
        ("overlong payload", "payload"),
        ("header over the cap", "header"),
        ("not an age file", "header"),
    ],
)
def test_a_file_not_in_the_accepted_form_is_refused_and_nothing_of_it_is_kept(
    kind, reason, blob_root
):
    data, readers = spoiled(kind)
    with pytest.raises(NotAcceptable) as refused:
        send(data, readers=readers, parts=[50, 4000])
    assert refused.value.reason == reason
    assert not ResumableUpload.objects.exists()
    assert files_in(blob_root) == []


def test_a_refused_header_is_refused_at_the_first_part_not_after_the_whole_file(blob_root):
    data = sealed_file(5 * MiB, 2)[1]
    token = resumable.start_upload(length=len(data), owner=OWNER, readers=3, max_size=10 * MiB)
    body = io.BytesIO(data)
    with pytest.raises(NotAcceptable) as refused:
        resumable.append(token, OWNER, 0, body)
    assert refused.value.reason == "stanzas"
    assert body.tell() <= resumable.PIECE  # one piece read, not five mebibytes
    assert files_in(blob_root) == []


def test_a_length_no_age_file_within_the_limits_can_have_is_refused_before_any_byte(blob_root):
    largest = resumable.largest_ciphertext(MiB)
    with pytest.raises(NotAcceptable) as refused:
        resumable.start_upload(length=largest + 1, owner=OWNER, readers=3, max_size=MiB)
    assert refused.value.reason == "size"
    smallest = resumable.smallest_ciphertext(3)
    assert smallest == len(age.encrypt(b"", [age.X25519Identity.generate().recipient] * 3))
    with pytest.raises(NotAcceptable) as refused:
        resumable.start_upload(length=smallest - 1, owner=OWNER, readers=3, max_size=MiB)
    assert refused.value.reason == "header"
    assert not ResumableUpload.objects.exists()
    assert files_in(blob_root) == []
    # The limits themselves are accepted.
    resumable.start_upload(length=largest, owner=OWNER, readers=3, max_size=MiB)
    resumable.start_upload(length=smallest, owner=OWNER, readers=3, max_size=MiB)


def test_one_owner_cannot_start_more_uploads_than_a_filing_needs():
    for _ in range(resumable.MAX_UPLOADS_PER_OWNER):
        resumable.start_upload(length=1000, owner=OWNER, readers=1, max_size=MiB)
    with pytest.raises(TooManyUploads):
        resumable.start_upload(length=1000, owner=OWNER, readers=1, max_size=MiB)
    # Someone else is not held back by her uploads.
    assert resumable.start_upload(length=1000, owner="b" * 64, readers=1, max_size=MiB)


def test_a_part_that_does_not_start_where_the_upload_stands_is_a_conflict_and_changes_nothing():
    data = sealed_file(100_000, 1)[1]
    token = resumable.start_upload(length=len(data), owner=OWNER, readers=1, max_size=MiB)
    assert resumable.append(token, OWNER, 0, io.BytesIO(data[:5000])) == 5000
    with pytest.raises(UploadConflict) as conflict:
        resumable.append(token, OWNER, 4000, io.BytesIO(data[4000:]))
    assert conflict.value.offset == 5000
    assert resumable.upload_offset(token, OWNER) == 5000
    assert resumable.append(token, OWNER, 5000, io.BytesIO(data[5000:])) == len(data)


def test_another_owners_token_or_a_made_up_one_finds_nothing():
    data = sealed_file(1000, 1)[1]
    token = resumable.start_upload(length=len(data), owner=OWNER, readers=1, max_size=MiB)
    for call in (
        lambda: resumable.upload_offset(token, "b" * 64),
        lambda: resumable.append(token, "b" * 64, 0, io.BytesIO(data)),
        lambda: resumable.discard(token, "b" * 64),
        lambda: resumable.upload_offset("made-up", OWNER),
    ):
        with pytest.raises(UploadNotFound):
            call()
    assert resumable.upload_offset(token, OWNER) == 0
    # Only a hash of the token is stored.
    assert not ResumableUpload.objects.filter(token_hash__contains=token).exists()


@pytest.mark.parametrize("keep", [60, 150_000])
def test_what_arrived_before_the_connection_dropped_is_kept_and_she_resumes_after_it(keep):
    plain, data, identities = sealed_file(300_000, 2)
    token = resumable.start_upload(length=len(data), owner=OWNER, readers=2, max_size=MiB)
    # Cut inside the header (60) or inside the payload.
    assert resumable.append(token, OWNER, 0, CutStream(data, keep)) == keep
    assert resumable.upload_offset(token, OWNER) == keep
    assert resumable.append(token, OWNER, keep, io.BytesIO(data[keep:])) == len(data)
    sealed = resumable.claim(token, OWNER)
    assert services.read_object(sealed, identities[1:]) == plain


def test_an_incomplete_upload_cannot_be_claimed():
    data = sealed_file(1000, 1)[1]
    token = resumable.start_upload(length=len(data), owner=OWNER, readers=1, max_size=MiB)
    resumable.append(token, OWNER, 0, io.BytesIO(data[:-1]))
    with pytest.raises(UploadNotFound):
        resumable.claim(token, OWNER)
    assert not SealedObject.objects.exists()


def test_a_filing_that_rolls_back_leaves_the_upload_to_be_claimed_again(blob_root):
    data = sealed_file(1000, 1)[1]
    token = send(data, readers=1, parts=[])

    def filing() -> None:
        with transaction.atomic():
            resumable.claim(token, OWNER)
            raise RuntimeError("her report could not be filed")

    with pytest.raises(RuntimeError):
        filing()
    assert not SealedObject.objects.exists()
    assert resumable.upload_offset(token, OWNER) == len(data)
    sealed = resumable.claim(token, OWNER)
    assert blob_store().path(sealed.blob_key).exists()
    with pytest.raises(UploadNotFound):  # claimed once only
        resumable.claim(token, OWNER)


def test_a_discarded_upload_leaves_nothing(blob_root, django_capture_on_commit_callbacks):
    data = sealed_file(100_000, 1)[1]
    token = resumable.start_upload(length=len(data), owner=OWNER, readers=1, max_size=MiB)
    resumable.append(token, OWNER, 0, io.BytesIO(data[:80_000]))
    with django_capture_on_commit_callbacks(execute=True):
        resumable.discard(token, OWNER)
    assert not ResumableUpload.objects.exists()
    assert files_in(blob_root) == []
    with pytest.raises(UploadNotFound):
        resumable.upload_offset(token, OWNER)


def test_times_on_disk_and_in_the_row_are_to_the_hour(blob_root):
    data = sealed_file(100_000, 1)[1]
    token = resumable.start_upload(length=len(data), owner=OWNER, readers=1, max_size=MiB)
    resumable.append(token, OWNER, 0, io.BytesIO(data[:80_000]))
    upload = ResumableUpload.objects.get()
    assert (upload.created_at.minute, upload.created_at.second) == (0, 0)
    partial = blob_store().upload_path(upload.blob_key)
    assert partial.name == f".{upload.blob_key}.upload"
    for path in (partial, partial.parent, partial.parent.parent, blob_root):
        assert path.stat().st_mtime % HOUR == 0, path
    resumable.append(token, OWNER, 80_000, io.BytesIO(data[80_000:]))
    final = blob_store().path(upload.blob_key)
    for path in (final, final.parent, final.parent.parent, blob_root):
        assert path.stat().st_mtime % HOUR == 0, path


def _age(upload: ResumableUpload, hours: int) -> None:
    """Make an upload look ``hours`` old: its row and its files."""
    ResumableUpload.objects.filter(pk=upload.pk).update(
        created_at=upload.created_at - timedelta(hours=hours)
    )
    then = time.time() // HOUR * HOUR - hours * HOUR
    store = blob_store()
    for path in (store.upload_path(upload.blob_key), store.path(upload.blob_key)):
        if path.exists():
            os.utime(path, (then, then))


def test_the_sweep_removes_abandoned_uploads_and_spares_what_is_young_or_claimed(blob_root):
    data = sealed_file(100_000, 1)[1]
    abandoned = resumable.start_upload(length=len(data), owner=OWNER, readers=1, max_size=MiB)
    resumable.append(abandoned, OWNER, 0, io.BytesIO(data[:70_000]))
    _age(ResumableUpload.objects.get(), 25)
    waiting = send(data, readers=1, parts=[])  # complete, not yet claimed
    claimed = resumable.claim(send(data, readers=1, parts=[]), OWNER)
    # A start whose transaction never committed: a file and no row.
    orphan = "f" * 32
    blob_store().start_upload(orphan)
    then = time.time() // HOUR * HOUR - 25 * HOUR
    os.utime(blob_store().upload_path(orphan), (then, then))

    assert resumable.sweep_abandoned_uploads(older_than_hours=24) == 2
    assert resumable.sweep_abandoned_uploads(older_than_hours=24) == 0  # idempotent

    with pytest.raises(UploadNotFound):
        resumable.upload_offset(abandoned, OWNER)
    assert resumable.upload_offset(waiting, OWNER) == len(data)
    waiting_key = ResumableUpload.objects.get().blob_key
    assert sorted(files_in(blob_root)) == sorted(
        [blob_store().path(waiting_key), blob_store().path(claimed.blob_key)]
    )
    # The hourly orphan sweep, hours later, spares the complete upload waiting for its
    # filing (no sealed object names its blob yet) and the claimed one.
    for key in (waiting_key, claimed.blob_key):
        os.utime(blob_store().path(key), (then, then))
    assert services.sweep_orphan_blobs() == 0
    assert resumable.claim(waiting, OWNER).blob_key == waiting_key


def test_an_upload_that_moved_recently_is_not_abandoned_however_long_ago_it_started():
    data = sealed_file(100_000, 1)[1]
    token = resumable.start_upload(length=len(data), owner=OWNER, readers=1, max_size=MiB)
    _age(ResumableUpload.objects.get(), 30)
    resumable.append(token, OWNER, 0, io.BytesIO(data[:70_000]))  # a part this hour
    assert resumable.sweep_abandoned_uploads(older_than_hours=24) == 0
    assert resumable.upload_offset(token, OWNER) == 70_000


def test_the_hourly_task_sweeps_abandoned_uploads(settings):
    data = sealed_file(1000, 1)[1]
    token = resumable.start_upload(length=len(data), owner=OWNER, readers=1, max_size=MiB)
    _age(ResumableUpload.objects.get(), settings.EVIDENCE_UPLOAD_ABANDONED_HOURS + 1)
    from evidence.tasks import sweep_orphan_blobs

    assert sweep_orphan_blobs() == 1
    with pytest.raises(UploadNotFound):
        resumable.upload_offset(token, OWNER)


def test_asking_where_an_upload_stands_waits_for_a_part_still_being_written():
    data = sealed_file(200_000, 1)[1]
    token = resumable.start_upload(length=len(data), owner=OWNER, readers=1, max_size=MiB)
    resumable.append(token, OWNER, 0, io.BytesIO(data[:1000]))
    upload = ResumableUpload.objects.get()
    header = len(upload.header)
    store = blob_store()
    held, written = threading.Event(), threading.Event()

    def a_request_still_writing() -> None:
        with store.appending(upload.blob_key) as part:
            held.set()
            time.sleep(0.5)
            part.append(part.size, data[1000:150_000])
            written.set()

    writer = threading.Thread(target=a_request_still_writing)
    writer.start()
    held.wait(5)
    # Another part meanwhile is told the upload is busy, and changes nothing.
    with pytest.raises(UploadConflict) as busy:
        resumable.append(token, OWNER, 1000, io.BytesIO(data[1000:]))
    assert busy.value.reason == "busy"
    assert resumable.upload_offset(token, OWNER) == 150_000
    assert written.is_set()
    writer.join()
    assert header < 1000


@pytest.mark.parametrize("renamed", [False, True])
def test_an_upload_whose_last_part_was_written_by_a_process_that_died_is_finished_when_asked(
    renamed,
):
    plain, data, identities = sealed_file(100_000, 1)
    token = resumable.start_upload(length=len(data), owner=OWNER, readers=1, max_size=MiB)
    resumable.append(token, OWNER, 0, io.BytesIO(data[:-1]))
    key = ResumableUpload.objects.get().blob_key
    # The last byte written, then the worker killed before it marked the upload complete
    # (before, or just after, the payload was renamed into place).
    with blob_store().appending(key) as part:
        part.append(part.size, data[-1:])
    if renamed:
        blob_store().complete_upload(key)
    assert not ResumableUpload.objects.get().completed

    assert resumable.upload_offset(token, OWNER) == len(data)

    upload = ResumableUpload.objects.get()
    assert upload.completed
    assert upload.ciphertext_sha256 == hashlib.sha256(data).hexdigest()
    assert services.read_object(resumable.claim(token, OWNER), identities) == plain
