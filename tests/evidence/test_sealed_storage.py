"""Sealed objects: header in the database, ciphertext on disk, nothing else left behind."""

from __future__ import annotations

import os

import pytest
from django.db import transaction

from evidence import age, services
from evidence.blobstore import FileSystemBlobStore, UnsafeBlobKey, blob_store, this_hour
from evidence.exceptions import CannotOpen, SealedObjectErased
from evidence.models import SealedObject

pytestmark = pytest.mark.django_db

MARKER = b"NARRATIVE: he posted my photos on the group at 21:40 " * 2000


@pytest.fixture
def org() -> age.X25519Identity:
    return age.X25519Identity.generate()


def files_under(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


def stamp_hours_ago(path, hours: int) -> None:
    """Make ``path`` look written ``hours`` hours before this one began (payloads are
    stamped with the start of their hour)."""
    stamp = this_hour() - hours * 3600
    os.utime(path, (stamp, stamp))


def test_a_sealed_object_opens_for_its_recipient_and_is_ciphertext_on_disk(org, blob_root):
    sealed = services.seal_bytes(MARKER, [org.recipient])

    assert services.read_object(sealed, [org]) == MARKER
    [payload] = files_under(blob_root)
    assert payload.stat().st_mode & 0o077 == 0
    on_disk = payload.read_bytes()
    assert b"NARRATIVE" not in on_disk
    assert b"age-encryption.org" not in on_disk  # the header is in the database
    assert sealed.payload_size == len(on_disk)
    assert bytes(sealed.header).startswith(b"age-encryption.org/v1\n")


def test_someone_else_cannot_open_it(org):
    sealed = services.seal_bytes(b"secret", [org.recipient])
    with pytest.raises(CannotOpen):
        services.read_object(sealed, [age.X25519Identity.generate()])


def test_a_sealing_that_fails_midway_leaves_no_file_and_no_row(org, blob_root):
    with pytest.raises(RuntimeError), services.sealing([org.recipient]) as state:  # noqa: PT012
        state.write(os.urandom(3 * age.CHUNK_SIZE))
        raise RuntimeError("upload too large")

    assert files_under(blob_root) == []
    assert not SealedObject.objects.exists()


def test_sharing_reissues_the_header_and_leaves_the_payload_alone(org, blob_root):
    partner = age.X25519Identity.generate()
    sealed = services.seal_bytes(MARKER, [org.recipient])
    [payload] = files_under(blob_root)
    before = (payload.read_bytes(), payload.stat().st_mtime_ns)

    services.share_object(sealed, unlocked_by=[org], recipients=[org.recipient, partner.recipient])

    assert (payload.read_bytes(), payload.stat().st_mtime_ns) == before
    fresh = SealedObject.objects.get(pk=sealed.pk)
    assert services.read_object(fresh, [partner]) == MARKER
    assert services.read_object(fresh, [org]) == MARKER


def test_leaving_a_recipient_out_of_a_reissue_takes_her_access_away(org):
    partner = age.X25519Identity.generate()
    sealed = services.seal_bytes(b"x", [org.recipient, partner.recipient])
    services.share_object(sealed, unlocked_by=[org], recipients=[org.recipient])
    with pytest.raises(CannotOpen):
        services.read_object(SealedObject.objects.get(pk=sealed.pk), [partner])


def test_erasure_drops_the_header_then_the_payload(
    org, blob_root, django_capture_on_commit_callbacks
):
    sealed = services.seal_bytes(MARKER, [org.recipient])

    with django_capture_on_commit_callbacks(execute=True):
        services.erase_object(sealed)

    assert files_under(blob_root) == []
    tombstone = SealedObject.objects.get(pk=sealed.pk)
    assert tombstone.is_erased
    assert bytes(tombstone.header) == b""
    with pytest.raises(SealedObjectErased):
        services.read_object(tombstone, [org])


def test_a_rolled_back_sealing_is_swept_later(org, blob_root):
    with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012
        services.seal_bytes(b"report that never committed", [org.recipient])
        raise RuntimeError("the report form failed validation after sealing")
    [orphan] = files_under(blob_root)  # the orphan, until the sweep
    assert not SealedObject.objects.exists()
    stamp_hours_ago(orphan, 2)  # written during the hour before last

    assert services.sweep_orphan_blobs() == 1
    assert files_under(blob_root) == []


def test_the_sweep_spares_live_and_young_payloads(org, blob_root):
    live = services.seal_bytes(b"kept", [org.recipient])
    young_orphan = blob_store().path("ab" * 16)
    young_orphan.parent.mkdir(parents=True)
    young_orphan.write_bytes(b"ciphertext of a transaction still open")
    old = os.path.getmtime(blob_store().path(live.blob_key)) - 7200
    os.utime(blob_store().path(live.blob_key), (old, old))

    assert services.sweep_orphan_blobs(older_than_seconds=3600) == 0
    assert services.read_object(live, [org]) == b"kept"
    assert young_orphan.exists()


@pytest.mark.parametrize("key", ["../../../etc/passwd", "ABCDEF" * 6, "0" * 31, "/" + "0" * 31])
def test_blob_keys_that_are_not_ours_are_refused(blob_root, key):
    with pytest.raises(UnsafeBlobKey):
        FileSystemBlobStore(blob_root).path(key)


def test_a_symlink_out_of_the_store_is_refused(blob_root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (blob_root / "ab").mkdir()
    (blob_root / "ab" / "cd").symlink_to(outside)
    with pytest.raises(UnsafeBlobKey):
        FileSystemBlobStore(blob_root).path("abcd" + "0" * 28)


# --- on-disk times say the hour, nothing finer (issue 16, item 3) ---------------------------


def test_a_payload_and_its_directories_are_dated_to_the_hour(org, blob_root):
    sealed = services.seal_bytes(MARKER, [org.recipient])
    payload = blob_store().path(sealed.blob_key)

    for path in (payload, payload.parent, payload.parent.parent, blob_root):
        status = path.stat()
        assert status.st_mtime == status.st_atime == this_hour(), path
    # Her file's name is a random key, not a counter or a time.
    assert payload.name == sealed.blob_key
    assert payload.name != services.seal_bytes(MARKER, [org.recipient]).blob_key


def test_erasing_a_payload_leaves_its_directory_dated_to_the_hour(
    org, blob_root, django_capture_on_commit_callbacks
):
    sealed = services.seal_bytes(MARKER, [org.recipient])
    directory = blob_store().path(sealed.blob_key).parent
    os.utime(directory, (1, 1))
    with django_capture_on_commit_callbacks(execute=True):
        services.erase_object(sealed)

    assert directory.stat().st_mtime == this_hour()


def test_the_sweep_spares_an_orphan_of_the_last_hour_whose_report_may_still_commit(org, blob_root):
    """Her last file is in place at 14:59 (stamped 14:00), her report commits at 15:00:30:
    at 15:00 the payload has no row yet and looks an hour old by its stamp."""
    with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012
        services.seal_bytes(b"a file whose report is still being filed", [org.recipient])
        raise RuntimeError("no row yet")
    [payload] = files_under(blob_root)
    stamp_hours_ago(payload, 1)

    assert services.sweep_orphan_blobs() == 0
    assert payload.exists()

    stamp_hours_ago(payload, 2)  # an hour later, it cannot belong to anything in flight
    assert services.sweep_orphan_blobs() == 1
    assert not payload.exists()
