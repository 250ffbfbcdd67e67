"""The evidence-bundle verifier (evidence/verify_bundle.py, docs/BUNDLES.md).

Bundles are built by tests/support/bags.py from the format document alone, never by
the project's bundle writer, and sealed with the project's age code or the real age
tool.  The verifier must say VALID for a good bundle in each of its three forms, and
NOT VALID, for the right reason, when any one byte of it changes.
"""

from __future__ import annotations

import ast
import io
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.urls import reverse

from evidence import age
from evidence import verify_bundle as vb
from tests.evidence import agetool
from tests.support import bags
from tests.support.processes import REPO, child_env

SCRIPT = REPO / "evidence" / "verify_bundle.py"


@dataclass(frozen=True)
class Keys:
    signing: Ed25519PrivateKey
    other: Ed25519PrivateKey
    identity: age.X25519Identity
    identity_file: Path
    public_pem: Path  # the platform's key, as published
    other_pem: Path


@dataclass(frozen=True)
class Bundle:
    bag: Path
    tar: Path
    sealed: Path


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Keys:
    folder = tmp_path_factory.mktemp("keys")
    signing, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    identity = age.X25519Identity.generate()
    (folder / "signing-key.pem").write_bytes(bags.public_pem(signing))
    (folder / "other-key.pem").write_bytes(bags.public_pem(other))
    return Keys(
        signing,
        other,
        identity,
        bags.write_identity(folder / "key.txt", identity),
        folder / "signing-key.pem",
        folder / "other-key.pem",
    )


def bundle_of(bag: Path, keys: Keys) -> Bundle:
    tar = bags.tar_bag(bag, bag.parent / "bundle.tar")
    sealed = bags.seal_bag(bag, bag.parent / "bundle.age", keys.identity.recipient)
    return Bundle(bag, tar, sealed)


@pytest.fixture(scope="module")
def good(tmp_path_factory, keys) -> Bundle:
    return bundle_of(bags.make_bag(tmp_path_factory.mktemp("good"), keys.signing), keys)


@pytest.fixture
def spoilt_bag(tmp_path, good) -> Path:
    """A copy of the good bag, to spoil."""
    return shutil.copytree(good.bag, tmp_path / good.bag.name)


def check(path: Path, keys: Keys, *, public_key: bool = True) -> vb.Report:
    return vb.verify(
        path,
        identity_file=keys.identity_file,
        public_key_file=keys.public_pem if public_key else None,
    )


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def assert_not_valid(report: vb.Report, *fragments: str) -> None:
    assert not report.valid, "\n".join(report.render())
    assert report.render()[-1] == f"NOT VALID: {report.reason}"
    for fragment in fragments:
        assert fragment in report.reason, "\n".join(report.render())


# --- a good bundle ------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["sealed", "tar", "bag"])
def test_a_good_bundle_is_valid_in_each_of_its_three_forms(good, keys, form):
    report = check(getattr(good, form), keys)

    assert report.valid, "\n".join(report.render())
    assert report.reason is None
    assert report.render()[-1] == "VALID"
    texts = [text for _, text in report.checks]
    assert any(t.startswith("Payload manifest manifest-sha512.txt: all 6 files") for t in texts)
    assert any(t.startswith("Signing key: it is the key given with --public-key") for t in texts)
    assert any(t.startswith("Age encryption: the header MAC is valid") for t in texts) == (
        form == "sealed"
    )


def test_the_folder_tar_was_unpacked_in_is_taken_for_the_bag_it_holds(good, keys):
    assert check(good.bag.parent, keys).valid


def test_without_a_public_key_it_says_the_key_was_only_checked_against_the_bag(good, keys):
    report = check(good.sealed, keys, public_key=False)

    assert report.valid
    note = next(line for line in report.render() if "--public-key" in line)
    assert note.startswith("[note] No --public-key was given")
    assert "only checked against the copy inside the bag" in note
    assert bags.key_fingerprint(keys.signing) in note


def test_main_prints_one_line_per_check_and_the_verdict_last(good, keys, capsys):
    argv = [str(good.sealed), "--identity", str(keys.identity_file)]
    status = vb.main([*argv, "--public-key", str(keys.public_pem)])

    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[-1] == "VALID"
    assert all(line.startswith(("[ok]   ", "[note] ")) for line in lines[:-1])
    assert len(lines) >= 12


def test_the_library_of_congress_validator_accepts_the_test_bags(good):
    """The bags these tests build are real BagIt bags, by another implementation."""
    bagit = pytest.importorskip("bagit")
    assert bagit.Bag(str(good.bag)).validate()


def test_a_bag_written_by_the_bagit_library_and_signed_is_valid(tmp_path, keys):
    pytest.importorskip("bagit")
    bag = bags.make_bag_with_bagit(tmp_path, keys.signing)
    bundle = bundle_of(bag, keys)

    for form in (bundle.bag, bundle.sealed):
        report = check(form, keys)
        assert report.valid, "\n".join(report.render())


def test_percent_encoded_manifest_paths_are_decoded(tmp_path, keys):
    bag = bags.new_bag(tmp_path)
    bags.add_original(bag, "a.txt", b"a")
    # A name holding a literal "%25", then CR LF: written %2525, %0D, %0A.
    bags.add_payload(bag, "data/notes/50%25 of it\r\n.txt", b"odd name")
    bags.write_custody(bag)
    bags.finish_bag(bag, keys.signing)
    manifest = (bag / "manifest-sha256.txt").read_text(encoding="utf-8")
    assert "data/notes/50%2525 of it%0D%0A.txt" in manifest
    bundle = bundle_of(bag, keys)

    for form in (bundle.bag, bundle.tar, bundle.sealed):
        report = check(form, keys)
        assert report.valid, "\n".join(report.render())


# --- one flipped byte -------------------------------------------------------------------


def _after(marker: bytes, skip: int = 0):
    return lambda data: data.index(marker) + len(marker) + skip


BAG_FLIPS = {
    # location: (file in the bag, where in it, what the reason must say)
    "original": (
        "data/originals/*photo*",
        lambda data: len(data) // 2,
        ["Payload manifest manifest-sha256.txt", "photo_2026-11-10.jpg", "does not match"],
    ),
    "working copy": (
        "data/working-copies/*",
        lambda data: 7,
        ["Payload manifest manifest-sha256.txt", "data/working-copies/", "does not match"],
    ),
    "custody log": (
        "data/custody.jsonl",
        _after(b'"size": '),
        ["Payload manifest manifest-sha256.txt", "data/custody.jsonl does not match"],
    ),
    "case summary": (
        "data/case-summary.pdf",
        lambda data: 3,
        ["data/case-summary.pdf does not match its SHA-256"],
    ),
    "bagit.txt": ("bagit.txt", _after(b"Version: "), ["bagit.txt is not exactly"]),
    "bag-info.txt": (
        "bag-info.txt",
        _after(b"Source-Organization: "),
        ["Tag manifest tagmanifest-sha256.txt", "bag-info.txt does not match"],
    ),
    "payload manifest": ("manifest-sha256.txt", lambda data: 70, ["manifest-sha256.txt"]),
    "sha512 manifest": ("manifest-sha512.txt", lambda data: 1, ["manifest-sha512.txt"]),
    "tag manifest": ("tagmanifest-sha256.txt", lambda data: 2, ["tagmanifest-sha256.txt"]),
    "sha512 tag manifest": (
        "tagmanifest-sha512.txt",
        lambda data: 2,
        ["tagmanifest-sha512.txt"],
    ),
    "signature": ("signature/tagmanifest-sha256.txt.sig", lambda data: 5, ["Signature:"]),
    "signing key": (
        "signature/signing-key.pem",
        _after(b"-----\n", 30),
        ["Signature:"],
    ),
}


@pytest.mark.parametrize("location", sorted(BAG_FLIPS))
def test_one_flipped_byte_in_the_bag_makes_it_not_valid(spoilt_bag, keys, location):
    pattern, where, fragments = BAG_FLIPS[location]
    (target,) = spoilt_bag.glob(pattern)
    flip(target, where(target.read_bytes()))
    bundle = bundle_of(spoilt_bag, keys)

    report = check(bundle.sealed, keys)

    assert_not_valid(report, *fragments)
    assert report.checks[0][0], "the age layer itself is intact"


AGE_FLIPS = {
    "version line": (lambda data: 3, "not an age v1 file"),
    # A changed share or body: "cannot open" or "malformed", by the byte it becomes.
    "stanza share": (_after(b"-> X25519 ", 5), None),
    "stanza body": (_after(b"-> X25519 ", 45), None),
    "stanza line": (_after(b"\n"), "names no recipient"),
    "header MAC": (_after(b"\n--- ", 7), "header MAC"),
    "payload nonce": (_after(b"\n--- ", 45), "failed authentication"),
    "payload middle": (lambda data: len(data) // 2, "failed authentication"),
    "payload last byte": (lambda data: len(data) - 1, "failed authentication"),
}


@pytest.mark.parametrize("location", sorted(AGE_FLIPS))
def test_one_flipped_byte_in_the_age_file_makes_it_not_valid(good, keys, tmp_path, location):
    where, fragment = AGE_FLIPS[location]
    spoilt = tmp_path / "bundle.age"
    shutil.copy(good.sealed, spoilt)
    flip(spoilt, where(spoilt.read_bytes()))

    report = check(spoilt, keys)

    assert_not_valid(report, "Age encryption:", fragment or "")
    assert len(report.checks) == 1, "nothing read from a broken age file is checked"


def test_a_cut_or_extended_age_file_is_not_valid(good, keys, tmp_path):
    data = good.sealed.read_bytes()
    payload_start = data.index(b"\n--- ") + 49
    cases = {
        "cut at a chunk boundary": data[: payload_start + 16 + 65536 + 16],
        "cut inside a chunk": data[:-100],
        "no payload": data[:payload_start],
        "a byte appended": data + b"\x00",
    }
    reasons = {}
    for name, spoilt in cases.items():
        (tmp_path / "b.age").write_bytes(spoilt)
        reasons[name] = check(tmp_path / "b.age", keys).reason
    assert "cut short" in reasons["cut at a chunk boundary"]
    assert "failed authentication" in reasons["cut inside a chunk"]
    assert "ends before its encrypted payload" in reasons["no payload"]
    # A short final chunk cannot tell a byte appended from a byte changed.
    assert "chunk 4 of the encrypted payload failed authentication" in reasons["a byte appended"]


# --- keys and signatures --------------------------------------------------------------


def test_a_bag_signed_with_another_key_is_not_valid_against_the_public_key(tmp_path, keys):
    bundle = bundle_of(bags.make_bag(tmp_path, keys.other), keys)

    report = check(bundle.sealed, keys)

    assert_not_valid(
        report,
        "Signing key: the bag was signed with the key of SHA-256 "
        + bags.key_fingerprint(keys.other),
        "not with the key given with --public-key",
    )
    # Only the key was wrong: without --public-key it is intact (and the note says so).
    assert check(bundle.sealed, keys, public_key=False).valid
    assert vb.verify(bundle.bag, public_key_file=keys.other_pem).valid


def test_a_signature_replaced_with_another_key_does_not_match_bag_info(spoilt_bag, keys):
    bags.sign_bag(spoilt_bag, keys.other)  # a valid signature, by a key bag-info does not name

    report = check(spoilt_bag, keys, public_key=False)

    assert_not_valid(report, "Signing key: signature/signing-key.pem has SHA-256")


def test_a_wrong_identity_cannot_open_the_file(good, tmp_path, keys):
    stranger = bags.write_identity(tmp_path / "stranger.txt", age.X25519Identity.generate())

    report = vb.verify(good.sealed, identity_file=stranger)

    assert_not_valid(report, "Age encryption: cannot open the file")


# --- missing, extra and unsafe files ------------------------------------------------------


def test_an_extra_file_under_data_is_named(spoilt_bag, keys):
    bags.add_payload(spoilt_bag, "data/notes/added later.txt", b"not in any manifest")

    report = check(bundle_of(spoilt_bag, keys).sealed, keys)

    assert_not_valid(
        report,
        "Payload manifest manifest-sha256.txt: data/notes/added later.txt is in the bag "
        "but not listed",
    )


def test_a_missing_file_is_named(spoilt_bag, keys):
    (spoilt_bag / "data" / "case-summary.pdf").unlink()

    report = check(bundle_of(spoilt_bag, keys).sealed, keys)

    assert_not_valid(report, "data/case-summary.pdf is listed but missing from the bag")


def test_a_file_name_cannot_forge_a_line_of_the_report(spoilt_bag, keys):
    bags.add_payload(spoilt_bag, "data/x\nVALID", b"")

    report = check(bundle_of(spoilt_bag, keys).tar, keys)

    assert_not_valid(report, "data/x\\x0aVALID is in the bag but not listed")
    assert "VALID" not in report.render()


def test_an_unsigned_tag_file_is_refused(spoilt_bag, keys):
    (spoilt_bag / "notes.txt").write_text("added after signing\n")

    report = check(spoilt_bag, keys)

    assert_not_valid(report, "Files outside data/ that no manifest covers", "notes.txt")


def _with_extra_member(good_tar: Path, out: Path, info: tarfile.TarInfo, data: bytes = b""):
    shutil.copy(good_tar, out)
    with tarfile.open(out, "a", format=tarfile.PAX_FORMAT) as archive:
        info.size = len(data) if info.isreg() else 0
        archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return out


def _member(name: str, kind: bytes = tarfile.REGTYPE, **fields) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    for field, value in fields.items():
        setattr(info, field, value)
    return info


UNSAFE_MEMBERS = {
    "dot-dot": (_member("../evil"), "../evil leads outside the bag ('..')"),
    "dot-dot inside": (
        _member(f"{bags.BAG_NAME}/data/../../evil"),
        "leads outside the bag ('..')",
    ),
    "absolute path": (_member("/etc/cron.d/evil"), "/etc/cron.d/evil is an absolute path"),
    "symbolic link": (
        _member(f"{bags.BAG_NAME}/data/link", tarfile.SYMTYPE, linkname="/etc/passwd"),
        "data/link is a symbolic link",
    ),
    "hard link": (
        _member(f"{bags.BAG_NAME}/data/hard", tarfile.LNKTYPE, linkname="/etc/passwd"),
        "data/hard is a hard link",
    ),
    "device": (_member(f"{bags.BAG_NAME}/data/dev", tarfile.CHRTYPE), "is a character device"),
    "named pipe": (_member(f"{bags.BAG_NAME}/data/fifo", tarfile.FIFOTYPE), "is a named pipe"),
    "backslash": (
        _member(f"{bags.BAG_NAME}/data/..\\..\\evil.bat"),
        "holds a backslash, which Windows reads as a folder separator",
    ),
    "second top directory": (_member("other/readme.txt"), "more than one top directory"),
    "file beside the bag": (_member("readme.txt"), "readme.txt is a file outside the bag"),
    "a member twice": (_member(f"{bags.BAG_NAME}/bag-info.txt"), "bag-info.txt appears twice"),
}


@pytest.mark.parametrize("case", sorted(UNSAFE_MEMBERS))
def test_an_unsafe_tar_is_refused(good, keys, tmp_path, case):
    member, fragment = UNSAFE_MEMBERS[case]
    tar = _with_extra_member(good.tar, tmp_path / "bundle.tar", member, b"evil\n")

    report = check(tar, keys)

    assert_not_valid(report, "Tar archive:", fragment)
    assert report.render()[-2].startswith("[note] The other checks were not run")


def test_an_unsafe_tar_inside_the_age_file_is_refused(good, keys, tmp_path):
    tar = _with_extra_member(good.tar, tmp_path / "bundle.tar", _member("../evil"), b"x")
    sealed = bags.seal_file(tar, tmp_path / "bundle.age", keys.identity.recipient)

    report = check(sealed, keys)

    assert report.checks[0][0]
    assert_not_valid(report, "Tar archive: ../evil leads outside the bag")


def test_a_damaged_tar_header_or_data_after_the_archive_is_refused(good, keys, tmp_path):
    with tarfile.open(good.tar) as archive:
        fifth = archive.getmembers()[5].offset
    damaged = tmp_path / "damaged.tar"
    shutil.copy(good.tar, damaged)
    flip(damaged, fifth + 3)
    appended = tmp_path / "appended.tar"
    appended.write_bytes(good.tar.read_bytes() + b"hidden")

    for tar in (damaged, appended):
        assert_not_valid(check(tar, keys), "Tar archive:", "damaged")


def test_a_bag_directory_with_a_symbolic_link_is_refused(spoilt_bag, keys):
    (spoilt_bag / "data" / "link").symlink_to("/etc/passwd")

    assert_not_valid(check(spoilt_bag, keys), "data/link is a symbolic link")


# --- bag-info.txt --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("with_messages", "label", "valid"),
    [
        (True, "included", True),
        (False, "included", False),
        (True, "not included", False),
        (False, "maybe", False),
    ],
)
def test_the_messages_label_says_whether_the_conversation_is_in_the_bag(
    tmp_path, keys, with_messages, label, valid
):
    bag = bags.new_bag(tmp_path)
    bags.add_original(bag, "a.txt", b"a")
    if with_messages:
        line = '{"at": "2026-11-10T14:00:00+00:00", "author": "reporter", "text": "hello"}\n'
        bags.add_payload(bag, "data/messages/conversation.jsonl", line.encode())
    bags.write_custody(bag)
    bags.finish_bag(bag, keys.signing, Messages=label)

    report = check(bag, keys)

    assert report.valid == valid, "\n".join(report.render())
    if not valid:
        assert report.reason.startswith("bag-info.txt: ")
        assert "Messages" in report.reason


def test_a_missing_label_is_named(spoilt_bag, keys):
    info = (spoilt_bag / "bag-info.txt").read_text(encoding="utf-8")
    (spoilt_bag / "bag-info.txt").write_text(
        "".join(line for line in info.splitlines(True) if not line.startswith("Approved-By")),
        encoding="utf-8",
    )

    assert_not_valid(check(spoilt_bag, keys), "bag-info.txt: it has no Approved-By")


# --- the chain of custody -----------------------------------------------------------------


def _drop_last_export(events, bag):
    return events[:-1]


def _wrong_size(events, bag):
    events[0]["size"] += 1
    return events


def _unknown_path(events, bag):
    events[1]["path"] = "data/originals/nothing.txt"
    return events


def _other_bundle(events, bag):
    events[-1]["detail"]["bundle"] = "00000000-0000-0000-0000-000000000000"
    return events


def _no_received(events, bag):
    return [e for e in events if e["action"] != "received"]


def _naive_time(events, bag):
    events[0]["at"] = "2026-11-10T14:00:00"
    return events


CUSTODY_EDITS = {
    "an original not exported": (_drop_last_export, "its last custody event is not 'exported'"),
    "a wrong size": (_wrong_size, "line 1: the size of data/"),
    "a path not in the bag": (_unknown_path, "data/originals/nothing.txt, which is not in"),
    "another bundle": (_other_bundle, "names another bundle than Bundle-Identifier"),
    "no receipt": (_no_received, "its first custody event is not 'received'"),
    "a time without offset": (_naive_time, "'at' is not an ISO 8601 time with its offset"),
}


@pytest.mark.parametrize("case", sorted(CUSTODY_EDITS))
def test_a_signed_custody_log_must_still_match_the_files(spoilt_bag, keys, case):
    """The bag is re-signed after the edit: only the custody checks can notice."""
    edit, fragment = CUSTODY_EDITS[case]
    bags.write_custody(spoilt_bag, edit(bags.read_custody(spoilt_bag), spoilt_bag))
    bags.finish_bag(spoilt_bag, keys.signing)

    report = check(spoilt_bag, keys)

    assert_not_valid(report, fragment)
    assert report.reason.startswith(("Chain of custody:", "Originals:"))


def test_an_original_must_be_named_by_its_sha256(spoilt_bag, keys):
    (original,) = (spoilt_bag / "data" / "originals").glob("*WhatsApp*")
    original.rename(original.with_name("0" * 64 + "_WhatsApp_Chat.txt"))
    bags.write_custody(spoilt_bag)
    bags.finish_bag(spoilt_bag, keys.signing)

    assert_not_valid(check(spoilt_bag, keys), "its name does not begin with its SHA-256")


# --- the age layer on its own -----------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 65537, 3 * 65536, 3 * 65536 + 1])
def test_the_verifier_opens_what_the_project_seals(keys, size):
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    sealed = age.encrypt(data, [keys.identity.recipient])
    identities = vb.parse_identity_file(keys.identity_file.read_text())

    reader = vb.open_age(io.BytesIO(sealed), identities)

    assert reader.read(-1) == data
    assert reader.finished


def _hand_sealed(recipient, chunks: list[tuple[bytes, bool]]) -> bytes:
    """An age file whose STREAM chunks are given as (plaintext, final flag)."""
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    from evidence.age.header import hkdf
    from evidence.age.stream import new_header

    file_key, nonce = b"k" * 16, b"n" * 16
    cipher = ChaCha20Poly1305(hkdf(file_key, nonce, b"payload"))
    out = new_header([recipient], file_key).raw + nonce
    for counter, (plain, final) in enumerate(chunks):
        out += cipher.encrypt(counter.to_bytes(11, "big") + bytes([final]), plain, None)
    return out


@pytest.mark.parametrize(
    ("chunks", "reason"),
    [
        ([(b"a" * 65536, True), (b"b", False)], "data after the final chunk"),
        ([(b"a" * 65536, True)], None),
        ([(b"a" * 65536, False), (b"", True)], "empty chunk after others"),
        ([(b"", True)], None),
        ([(b"a" * 100, False)], "chunk 1 of the encrypted payload failed"),
        ([(b"a" * 65536, False)], "cut short"),
        ([(b"a" * 65536, False), (b"a" * 65536, False), (b"z", True)], None),
        ([(b"a" * 65535, False), (b"z", True)], "chunk 1 of the encrypted payload failed"),
    ],
)
def test_the_stream_rules_of_age_are_enforced(keys, chunks, reason):
    sealed = _hand_sealed(keys.identity.recipient, chunks)
    identities = vb.parse_identity_file(keys.identity_file.read_text())

    if reason is None:
        assert vb.open_age(io.BytesIO(sealed), identities).read(-1) == b"".join(
            plain for plain, _ in chunks
        )
    else:
        with pytest.raises(vb.AgeFailure, match=reason):
            vb.open_age(io.BytesIO(sealed), identities).read(-1)


def test_a_bundle_sealed_by_the_age_tool_is_valid(good, tmp_path, keys):
    identity, recipient = agetool.keygen()
    key_file = tmp_path / "key.txt"
    key_file.write_text(f"# created: 2026-11-22T09:00:00Z\n# public key: {recipient}\n{identity}\n")
    sealed = tmp_path / "bundle.age"
    made = agetool.run("--encrypt", "-r", recipient, "-o", sealed, good.tar)
    assert made.returncode == 0, made.stderr

    report = vb.verify(sealed, identity_file=key_file, public_key_file=keys.public_pem)

    assert report.valid, "\n".join(report.render())


def test_the_standard_tools_open_and_validate_the_same_bundle(good, tmp_path, keys):
    """docs/BUNDLES.md's first way: age -d | tar -x, then the bagit validator."""
    bagit = pytest.importorskip("bagit")
    key_file = tmp_path / "key.txt"
    key_file.write_text(f"{keys.identity}\n")
    opened = agetool.run("--decrypt", "-i", key_file, good.sealed)
    assert opened.returncode == 0, opened.stderr
    with tarfile.open(fileobj=io.BytesIO(opened.stdout)) as archive:
        archive.extractall(tmp_path / "out", filter="data")

    assert bagit.Bag(str(tmp_path / "out" / bags.BAG_NAME)).validate()


# --- usage errors: exit status 2 ------------------------------------------------------------


def test_an_identity_file_saved_on_windows_is_read(good, keys, tmp_path):
    """A byte-order mark and CRLF line ends, as Notepad may save it."""
    key_file = tmp_path / "key.txt"
    text = keys.identity_file.read_text().replace("\n", "\r\n")
    key_file.write_bytes(b"\xef\xbb\xbf" + text.encode())

    assert vb.verify(good.sealed, identity_file=key_file).valid


def test_usage_errors_exit_2(good, keys, tmp_path, capsys):
    (tmp_path / "not-a-key.txt").write_text("# nothing here\n")
    assert vb.main([str(good.sealed)]) == 2
    assert "give the key with --identity" in capsys.readouterr().err
    assert vb.main([str(tmp_path / "missing.age"), "--identity", str(keys.identity_file)]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert vb.main([str(good.sealed), "--identity", str(tmp_path / "not-a-key.txt")]) == 2
    assert "not an age identity file" in capsys.readouterr().err
    assert vb.main([str(good.tar), "--public-key", str(keys.identity_file)]) == 2
    assert "not an Ed25519 public key" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        vb.main([])
    assert exited.value.code == 2


def test_a_file_that_is_neither_age_nor_tar_is_not_valid(tmp_path, keys):
    junk = tmp_path / "bundle.bin"
    junk.write_bytes(b"not a bundle at all\n" * 100)

    assert_not_valid(vb.verify(junk), "is not an age file, a tar file or a bag")


# --- the management command -----------------------------------------------------------------


def test_the_command_prints_the_same_lines_and_returns_for_a_valid_bundle(good, keys):
    out = io.StringIO()
    call_command(
        "verify_bundle",
        str(good.sealed),
        identity=str(keys.identity_file),
        public_key=str(keys.public_pem),
        stdout=out,
    )

    assert out.getvalue().splitlines() == check(good.sealed, keys).render()


def test_the_command_exits_1_for_a_bundle_that_is_not_valid(spoilt_bag, keys):
    flip(spoilt_bag / "bag-info.txt", 30)
    out = io.StringIO()

    with pytest.raises(SystemExit) as exited:
        call_command("verify_bundle", str(spoilt_bag), stdout=out)

    assert exited.value.code == 1
    assert out.getvalue().splitlines()[-1].startswith("NOT VALID: ")


def test_the_command_refuses_an_age_file_without_identity(good):
    with pytest.raises(CommandError, match="--identity") as refused:
        call_command("verify_bundle", str(good.sealed))
    assert refused.value.returncode == 2


@pytest.mark.parametrize(("case", "status"), [("valid", 0), ("not valid", 1), ("no identity", 2)])
def test_manage_py_verify_bundle_exit_status(good, keys, tmp_path, case, status):
    args = [str(good.sealed), "--identity", str(keys.identity_file)]
    if case == "not valid":
        args[2] = str(bags.write_identity(tmp_path / "k.txt", age.X25519Identity.generate()))
    elif case == "no identity":
        args = args[:1]

    done = subprocess.run(
        [sys.executable, "manage.py", "verify_bundle", *args],
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == status, done.stdout + done.stderr
    if status == 0:
        assert done.stdout.splitlines()[-1] == "VALID"
    elif status == 1:
        assert done.stdout.splitlines()[-1].startswith("NOT VALID: Age encryption: cannot open")
    else:
        assert "give the key with --identity" in done.stderr


# --- the standalone script ----------------------------------------------------------------


def test_the_script_imports_only_the_standard_library_and_cryptography():
    tree = ast.parse(SCRIPT.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative import"
            roots.add(node.module.split(".")[0])
    assert roots - set(sys.stdlib_module_names) == {"cryptography"}


@pytest.mark.parametrize(("spoil", "status"), [(False, 0), (True, 1)])
def test_the_script_runs_alone_in_an_isolated_python(good, keys, tmp_path, spoil, status):
    """``-I``: no working directory, no PYTHONPATH, no user site on sys.path; run from a
    folder away from the project, it can only use the standard library and the venv's
    cryptography."""
    lone = tmp_path / "verify_bundle.py"
    shutil.copy(SCRIPT, lone)
    sealed = tmp_path / "bundle.age"
    shutil.copy(good.sealed, sealed)
    if spoil:
        flip(sealed, sealed.stat().st_size // 2)

    done = subprocess.run(
        [sys.executable, "-I", str(lone), str(sealed), "--identity", str(keys.identity_file)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == status, done.stdout + done.stderr
    last = done.stdout.splitlines()[-1]
    if status == 0:
        assert last == "VALID"
    else:
        assert last.startswith("NOT VALID: Age encryption: chunk")


# --- memory --------------------------------------------------------------------------------

BIG = 200 * 1024 * 1024
LIMIT_MIB = 100
# The child reports its own peak (VmHWM): ru_maxrss of children would carry the RSS of
# the pytest process it was forked from.
MEASURED = """
import runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    with open("/proc/self/status") as status:
        peak = next(line for line in status if line.startswith("VmHWM")).split()[1]
    print("peak-kib", peak, file=sys.stderr)
"""


def test_a_200_mib_bundle_is_verified_in_bounded_memory(tmp_path, keys):
    bag = bags.new_bag(tmp_path)
    bags.add_big_original(bag, "screen-recording.mp4", BIG)
    bags.add_original(bag, "note.txt", b"small\n")
    bags.write_custody(bag)
    bags.finish_bag(bag, keys.signing)
    sealed = bags.seal_bag(bag, tmp_path / "big.age", keys.identity.recipient)
    assert sealed.stat().st_size > BIG
    shutil.rmtree(bag / "data")  # only the sealed bundle is needed from here

    done = subprocess.run(
        [
            *(sys.executable, "-I", "-c", MEASURED, str(SCRIPT), str(sealed)),
            *("--identity", str(keys.identity_file), "--public-key", str(keys.public_pem)),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "VALID"
    peak_mib = int(done.stderr.split("peak-kib")[1].split()[0]) / 1024
    print(f"verifying a {BIG >> 20} MiB bundle peaked at {peak_mib:.1f} MiB")
    assert peak_mib < LIMIT_MIB


def test_the_signing_key_and_the_verifier_are_published(client):
    # At the stable addresses, under the names pages reverse (evidence/urls.py).
    assert reverse("bundle_signing_key") == "/bundles/signing-key.pem"
    assert reverse("bundle_verifier") == "/bundles/verify_bundle.py"
    key = client.get("/bundles/signing-key.pem")
    assert key.status_code == 200
    assert key.content.startswith(b"-----BEGIN PUBLIC KEY-----")
    script = client.get("/bundles/verify_bundle.py")
    assert script.status_code == 200
    assert b"".join(script.streaming_content) == SCRIPT.read_bytes()
