"""Evidence bundles for tests, built by hand from docs/BUNDLES.md alone.

Nothing here uses the project's bundle writer: a verifier tested only against the
writer it is meant to check would share its mistakes.  A bag is built in steps, so that
a test can spoil it at any step:

    bag = new_bag(tmp_path)
    add_original(bag, "photo.jpg", b"...", working_copy=b"...")
    write_custody(bag)
    finish_bag(bag, signing_key)          # manifests, bag-info, tag manifests, signature
    tar_bag(bag, tmp_path / "b.tar")      # or seal_bag(bag, tmp_path / "b.age", recipient)

``make_bag`` does all of it for a typical case; ``make_bag_with_bagit`` lets the Library
of Congress ``bagit`` library write the BagIt parts instead.
"""

from __future__ import annotations

import base64
import hashlib
import json
import tarfile
from collections.abc import Iterable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

BAG_NAME = "bundle-C-000123-20261122"
BUNDLE_ID = "5b0f3f64-1f52-4c1e-9d8a-3a7f2b6c9e10"
CASE = "C-000123"
ALGORITHMS = ("sha256", "sha512")
BLOCK = 1 << 20

# A tiny PDF and HTML summary: their content does not matter to the bag.
SUMMARY_HTML = b"<!doctype html><title>Case C-000123</title><p>What happened.</p>\n"
SUMMARY_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_fingerprint(key: Ed25519PrivateKey) -> str:
    return hashlib.sha256(key.public_key().public_bytes_raw()).hexdigest()


def file_digests(path: Path) -> tuple[int, str, str]:
    """(size, sha256, sha512) of a file, read in blocks."""
    digests = [hashlib.new(a) for a in ALGORITHMS]
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(BLOCK):
            size += len(block)
            for digest in digests:
                digest.update(block)
    return size, digests[0].hexdigest(), digests[1].hexdigest()


def encode_path(path: str) -> str:
    """A path as a manifest writes it (RFC 8493 section 2.1.3)."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


# --- the payload --------------------------------------------------------------------------


def new_bag(parent: Path, name: str = BAG_NAME) -> Path:
    bag = parent / name
    (bag / "data").mkdir(parents=True)
    return bag


def add_payload(bag: Path, path: str, data: bytes, *, payload_dir: Path | None = None) -> Path:
    """Write a payload file; ``path`` starts with data/."""
    assert path.startswith("data/")
    target = (payload_dir or bag / "data") / path.removeprefix("data/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def add_original(
    bag: Path,
    name: str,
    data: bytes,
    *,
    working_copy: bytes | None = None,
    payload_dir: Path | None = None,
) -> str:
    """An original under data/originals/<sha256>_<name> (and its working copy)."""
    digest = hashlib.sha256(data).hexdigest()
    path = f"data/originals/{digest}_{name}"
    add_payload(bag, path, data, payload_dir=payload_dir)
    if working_copy is not None:
        add_payload(
            bag, f"data/working-copies/{digest}_{name}", working_copy, payload_dir=payload_dir
        )
    return path


def add_big_original(bag: Path, name: str, size: int) -> str:
    """An original of ``size`` bytes written block by block (never whole in memory)."""
    folder = bag / "data" / "originals"
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"partial_{name}"
    digest = hashlib.sha256()
    seed = hashlib.sha512(b"big original").digest() * (BLOCK // 64)
    with partial.open("wb") as out:
        for i in range(0, size, BLOCK):
            block = (i.to_bytes(8, "big") + seed[8:])[: min(BLOCK, size - i)]
            digest.update(block)
            out.write(block)
    final = folder / f"{digest.hexdigest()}_{name}"
    partial.rename(final)
    return f"data/originals/{final.name}"


def custody_events(payload_dir: Path, bundle_id: str = BUNDLE_ID) -> list[dict]:
    """Every event of every original and working copy found under ``payload_dir``, in
    order: receipts (and working copies), then the exports."""
    originals = sorted((payload_dir / "originals").glob("*"))
    copies = {p.name: p for p in sorted((payload_dir / "working-copies").glob("*"))}
    events, exports = [], []
    for number, original in enumerate(originals):
        size, sha256, _ = file_digests(original)
        path = f"data/originals/{original.name}"
        at = f"2026-11-{10 + number:02d}T14:00:00+00:00"
        events.append(
            {
                "action": "received",
                "actor": "reporter",
                "at": at,
                "detail": {"channel": "web form"},
                "path": path,
                "sha256": sha256,
                "size": size,
            }
        )
        copy = copies.get(original.name)
        if copy is not None:
            copy_size, copy_sha256, _ = file_digests(copy)
            events.append(
                {
                    "action": "working_copy_made",
                    "actor": "system",
                    "at": f"2026-11-{10 + number:02d}T14:00:05.123456+00:00",
                    "detail": {"original": sha256},
                    "path": f"data/working-copies/{copy.name}",
                    "sha256": copy_sha256,
                    "size": copy_size,
                }
            )
        exports.append(
            {
                "action": "exported",
                "actor": "member:amina",
                "at": "2026-11-22T09:30:00+00:00",
                "detail": {"bundle": bundle_id},
                "path": path,
                "sha256": sha256,
                "size": size,
            }
        )
    return events + exports


def write_custody(
    bag: Path,
    events: Iterable[dict] | None = None,
    *,
    payload_dir: Path | None = None,
    bundle_id: str = BUNDLE_ID,
) -> None:
    payload_dir = payload_dir or bag / "data"
    if events is None:
        events = custody_events(payload_dir, bundle_id)
    lines = [json.dumps(event, sort_keys=True, ensure_ascii=False) + "\n" for event in events]
    (payload_dir / "custody.jsonl").write_text("".join(lines), encoding="utf-8")


def read_custody(bag: Path) -> list[dict]:
    text = (bag / "data" / "custody.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


# --- the BagIt parts and the signature ------------------------------------------------


def payload_files(bag: Path) -> list[str]:
    return sorted(p.relative_to(bag).as_posix() for p in (bag / "data").rglob("*") if p.is_file())


def bag_info(
    signing_key: Ed25519PrivateKey, oxum: str, bundle_id: str = BUNDLE_ID, **overrides: str
) -> list[tuple[str, str]]:
    labels = {
        "Source-Organization": "Safe Haven Association",
        "External-Identifier": CASE,
        "Bundle-Identifier": bundle_id,
        "Bagging-Date": "2026-11-22",
        "Requested-By": "Legal Aid Partners (Maître Dupont)",
        "Approved-By": "amina",
        "Internal-Notes": "not included",
        "Messages": "not included",
        "Signing-Key-SHA256": key_fingerprint(signing_key),
        "Payload-Oxum": oxum,
        "Bag-Software-Agent": "Safe Report",
    }
    labels.update({k.replace("_", "-"): v for k, v in overrides.items()})
    return list(labels.items())


def write_manifest(bag: Path, name: str, algorithm: str, paths: Iterable[str]) -> None:
    lines = []
    for path in sorted(paths):
        digest = hashlib.new(algorithm)
        with (bag / path).open("rb") as handle:
            while block := handle.read(BLOCK):
                digest.update(block)
        lines.append(f"{digest.hexdigest()}  {encode_path(path)}\n")
    (bag / name).write_text("".join(lines), encoding="utf-8")


def sign_bag(bag: Path, signing_key: Ed25519PrivateKey) -> None:
    """signature/: the Ed25519 signature of tagmanifest-sha256.txt, and the public key."""
    folder = bag / "signature"
    folder.mkdir(exist_ok=True)
    signature = signing_key.sign((bag / "tagmanifest-sha256.txt").read_bytes())
    (folder / "tagmanifest-sha256.txt.sig").write_bytes(base64.b64encode(signature) + b"\n")
    (folder / "signing-key.pem").write_bytes(public_pem(signing_key))


def finish_bag(
    bag: Path, signing_key: Ed25519PrivateKey, *, bundle_id: str = BUNDLE_ID, **info: str
) -> Path:
    """Write (again) bagit.txt, the payload manifests, bag-info.txt, the tag manifests
    and the signature, from what is under data/ now."""
    payload = payload_files(bag)
    total = sum((bag / p).stat().st_size for p in payload)
    (bag / "bagit.txt").write_text(
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", encoding="utf-8"
    )
    for algorithm in ALGORITHMS:
        write_manifest(bag, f"manifest-{algorithm}.txt", algorithm, payload)
    labels = bag_info(signing_key, f"{total}.{len(payload)}", bundle_id, **info)
    text = "".join(f"{label}: {value}\n" for label, value in labels)
    (bag / "bag-info.txt").write_text(text, encoding="utf-8")
    tagged = ["bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt"]
    for algorithm in ALGORITHMS:
        write_manifest(bag, f"tagmanifest-{algorithm}.txt", algorithm, tagged)
    sign_bag(bag, signing_key)
    return bag


def make_bag(parent: Path, signing_key: Ed25519PrivateKey, *, name: str = BAG_NAME) -> Path:
    """A typical bag: two originals (one image with a working copy, one chat export),
    the case summary and the custody log."""
    bag = new_bag(parent, name)
    add_original(
        bag,
        "photo_2026-11-10.jpg",
        b"\xff\xd8\xff\xe0 original JPEG with its EXIF location " * 3000,
        working_copy=b"\xff\xd8\xff\xe0 sanitised JPEG, no metadata " * 2000,
    )
    add_original(bag, "WhatsApp_Chat.txt", "12/03/2026, 21:40 - Omar: …\n".encode() * 500)
    add_payload(bag, "data/case-summary.html", SUMMARY_HTML)
    add_payload(bag, "data/case-summary.pdf", SUMMARY_PDF)
    write_custody(bag)
    return finish_bag(bag, signing_key)


def make_bag_with_bagit(parent: Path, signing_key: Ed25519PrivateKey) -> Path:
    """The same bag, with the BagIt files written by the Library of Congress library."""
    import bagit

    bag = parent / BAG_NAME
    bag.mkdir()
    add_original(
        bag, "scan.png", b"\x89PNG original " * 1000, working_copy=b"\x89PNG clean", payload_dir=bag
    )
    add_payload(bag, "data/case-summary.html", SUMMARY_HTML, payload_dir=bag)
    write_custody(bag, payload_dir=bag)
    labels = dict(bag_info(signing_key, "0.0"))
    del labels["Payload-Oxum"]  # bagit computes it
    bagit.make_bag(str(bag), bag_info=labels, checksums=list(ALGORITHMS))
    # bagit-python declares BagIt 0.97 whatever it writes; the format asks for 1.0.
    # Bag.save() then rewrites bag-info.txt and the tag manifests over the new bagit.txt.
    (bag / "bagit.txt").write_text(
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", encoding="utf-8"
    )
    bagit.Bag(str(bag)).save()
    sign_bag(bag, signing_key)
    return bag


# --- tar and age ----------------------------------------------------------------------


def _tar_into(bag: Path, archive: tarfile.TarFile) -> None:
    archive.add(bag, arcname=bag.name)  # recursive, in sorted order


def tar_bag(bag: Path, out: Path) -> Path:
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT, encoding="utf-8") as archive:
        _tar_into(bag, archive)
    return out


def seal_file(plain: Path, out: Path, recipient) -> Path:
    """Seal a file with the project's age implementation, streaming."""
    from evidence import age

    with (
        plain.open("rb") as source,
        out.open("wb") as sink,
        age.Encryptor([recipient], sink) as writer,
    ):
        while block := source.read(BLOCK):
            writer.write(block)
    return out


def seal_bag(bag: Path, out: Path, recipient) -> Path:
    """tar the bag straight into an age file: no plaintext tar on disk or in memory."""
    from evidence import age

    with (
        out.open("wb") as sink,
        age.Encryptor([recipient], sink) as writer,
        tarfile.open(
            fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT, encoding="utf-8"
        ) as archive,
    ):
        _tar_into(bag, archive)
    return out


def write_identity(path: Path, identity) -> Path:
    """An identity file as age-keygen writes it, comments included."""
    path.write_text(
        f"# created: 2026-11-22T09:00:00Z\n# public key: {identity.recipient}\n{identity}\n",
        encoding="utf-8",
    )
    return path
