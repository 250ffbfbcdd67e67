"""The bundle format (evidence/bundles.py): what the writer makes opens with the Debian
`age` tool, is a bag the Library of Congress `bagit` library validates, and carries a
signature the published key verifies.  Built from real sealed objects."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from pathlib import Path

import bagit
import pytest
from cryptography.hazmat.primitives import serialization

from evidence import age, bundles
from evidence import services as evidence
from tests.evidence.agetool import keygen, run

pytestmark = pytest.mark.django_db

PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
CHAT = "Il a écrit : « je vais tout envoyer à ta famille ».\n".encode() * 3000


@pytest.fixture
def case_key():
    return age.X25519Identity.generate()


@pytest.fixture
def lawyer():
    """The legal partner's key, made by age-keygen: the bundle must open with it."""
    identity, recipient = keygen()
    return identity, age.X25519Recipient.parse(recipient)


def sealed_payload(data: bytes, name: str, key) -> bundles.PayloadFile:
    sealed = evidence.seal_bytes(data, [key.recipient])
    digest = hashlib.sha256(data).hexdigest()
    return bundles.PayloadFile(
        f"data/originals/{digest}_{bundles.sanitise_name(name)}",
        len(data),
        lambda: evidence.open_object(sealed, [key]),
        expected_sha256=digest,
    )


def write_bundle(tmp_path: Path, recipient, files, *, custody: bytes = b"") -> Path:
    out = tmp_path / "bundle.age"
    with out.open("wb") as sink:
        writer = bundles.BundleWriter(sink, recipients=[recipient], bag_name="bundle-C-000007")
        for payload in files:
            writer.add(payload)
        writer.add_bytes("data/custody.jsonl", custody or b"{}\n")
        writer.finish(
            [
                ("Source-Organization", "Association A"),
                ("External-Identifier", "C-000007"),
            ]
        )
    return out


def open_with_age(path: Path, identity: str, tmp_path: Path) -> Path:
    key_file = tmp_path / "lawyer.key"
    key_file.write_text(identity + "\n")
    opened = run("-d", "-i", key_file, path)
    assert opened.returncode == 0, opened.stderr.decode()
    with tarfile.open(fileobj=io.BytesIO(opened.stdout)) as tar:
        names = tar.getnames()
        tar.extractall(tmp_path / "out", filter="data")
    assert all(name.startswith("bundle-C-000007/") for name in names)
    return tmp_path / "out" / "bundle-C-000007"


def test_a_bundle_opens_with_age_and_is_a_valid_signed_bag(tmp_path, case_key, lawyer):
    identity, recipient = lawyer
    files = [sealed_payload(PHOTO, "capture écran.png", case_key)]
    files.append(sealed_payload(CHAT, "discussion\nwhatsapp.txt", case_key))
    bag_dir = open_with_age(write_bundle(tmp_path, recipient, files), identity, tmp_path)

    bag = bagit.Bag(str(bag_dir))
    bag.validate()  # raises BagValidationError on any mismatch
    assert set(bag.algorithms) == {"sha256", "sha512"}
    assert bag.info["Payload-Oxum"] == f"{len(PHOTO) + len(CHAT) + 3}.3"
    assert bag.info["External-Identifier"] == "C-000007"
    # The originals are the bytes she sent, named by hash and a safe name.
    photo = bag_dir / "data/originals" / f"{hashlib.sha256(PHOTO).hexdigest()}_capture_écran.png"
    assert photo.read_bytes() == PHOTO

    tagmanifest = (bag_dir / "tagmanifest-sha256.txt").read_bytes()
    signature = base64.b64decode((bag_dir / "signature/tagmanifest-sha256.txt.sig").read_text())
    public = serialization.load_pem_public_key((bag_dir / "signature/signing-key.pem").read_bytes())
    public.verify(signature, tagmanifest)  # raises InvalidSignature
    assert (bag_dir / "signature/signing-key.pem").read_bytes() == bundles.public_key_pem()
    assert bag.info["Signing-Key-SHA256"] == bundles.public_key_fingerprint()


def test_a_changed_byte_in_any_payload_file_fails_the_bag(tmp_path, case_key, lawyer):
    identity, recipient = lawyer
    bag_dir = open_with_age(
        write_bundle(tmp_path, recipient, [sealed_payload(CHAT, "chat.txt", case_key)]),
        identity,
        tmp_path,
    )
    (original,) = (bag_dir / "data/originals").iterdir()
    data = bytearray(original.read_bytes())
    data[100] ^= 1
    original.write_bytes(bytes(data))
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(bag_dir)).validate()


def test_an_original_that_is_not_what_was_received_stops_the_bundle(tmp_path, case_key, lawyer):
    _, recipient = lawyer
    tampered = sealed_payload(CHAT, "chat.txt", case_key)
    wrong = bundles.PayloadFile(
        tampered.path, tampered.size, tampered.open, expected_sha256="0" * 64
    )
    with (tmp_path / "bundle.age").open("wb") as sink:
        writer = bundles.BundleWriter(sink, recipients=[recipient], bag_name="bundle-C-000007")
        with pytest.raises(bundles.BundleBroken, match="data/originals/"):
            writer.add(wrong)
        writer.abort()
    # What was written opens nothing: the age file has no final chunk.
    key_file = tmp_path / "k"
    key_file.write_text(lawyer[0] + "\n")
    assert run("-d", "-i", key_file, tmp_path / "bundle.age").returncode != 0


def test_the_custody_log_is_a_payload_file_listed_in_the_manifests(tmp_path, case_key, lawyer):
    identity, recipient = lawyer
    custody = json.dumps({"action": "received", "actor": "reporter"}).encode() + b"\n"
    bag_dir = open_with_age(
        write_bundle(tmp_path, recipient, [], custody=custody), identity, tmp_path
    )
    manifest = (bag_dir / "manifest-sha512.txt").read_text()
    assert f"{hashlib.sha512(custody).hexdigest()}  data/custody.jsonl" in manifest


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("../../etc/passwd", "_.._etc_passwd"),
        ("صورة الشاشة.jpg", "صورة_الشاشة.jpg"),
        ("two\nlines\r.txt", "two_lines_.txt"),
        (".hidden", "hidden"),
        ("", "file"),
        ("x" * 200 + ".jpeg", "x" * 75 + ".jpeg"),
    ],
)
def test_names_she_gave_become_safe_file_names(given, safe):
    assert bundles.sanitise_name(given) == safe


def test_the_signing_key_is_made_once_and_kept_private(settings):
    first = bundles.public_key_pem()
    assert bundles.public_key_pem() == first
    assert Path(settings.EVIDENCE_SIGNING_KEY_FILE).stat().st_mode & 0o077 == 0
