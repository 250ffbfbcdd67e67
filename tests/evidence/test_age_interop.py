"""The reference `age` tool opens what we seal, and we open what it seals."""

from __future__ import annotations

import io
import os

import pytest

from evidence import age
from tests.evidence import agetool

SIZES = [0, 1, age.CHUNK_SIZE - 1, age.CHUNK_SIZE, age.CHUNK_SIZE + 1, 3 * age.CHUNK_SIZE + 5]


@pytest.fixture(scope="module")
def keypair(tmp_path_factory):
    identity, recipient = agetool.keygen()
    key_file = tmp_path_factory.mktemp("keys") / "key.txt"
    key_file.write_text(identity + "\n")
    return identity, recipient, key_file


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
def test_age_tool_opens_what_we_seal_to_an_x25519_recipient(keypair, tmp_path, size, armor):
    _, recipient, key_file = keypair
    data = os.urandom(size)
    sealed = tmp_path / "sealed.age"
    sealed.write_bytes(age.encrypt(data, [age.X25519Recipient.parse(recipient)], armor=armor))

    opened = agetool.run("--decrypt", "-i", key_file, sealed)

    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == data


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
def test_we_open_what_the_age_tool_seals_to_an_x25519_recipient(keypair, tmp_path, size, armor):
    identity, recipient, _ = keypair
    data = os.urandom(size)
    args = ["--encrypt", "-r", recipient] + (["--armor"] if armor else [])
    sealed = agetool.run(*args, stdin=data)
    assert sealed.returncode == 0, sealed.stderr

    assert age.decrypt(sealed.stdout, [age.X25519Identity.parse(identity)]) == data


def test_identity_files_from_age_keygen_are_read(keypair, tmp_path):
    identity, recipient, key_file = keypair
    parsed = age.parse_identities(key_file.read_text())
    assert [str(i) for i in parsed] == [identity]
    assert str(parsed[0].recipient) == recipient


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
def test_age_tool_opens_what_we_seal_with_a_passphrase(tmp_path, armor):
    data = os.urandom(age.CHUNK_SIZE + 10)
    sealed = tmp_path / "sealed.age"
    recipient = age.ScryptRecipient(b"tres longue phrase de passe", work_factor=12)
    sealed.write_bytes(age.encrypt(data, [recipient], armor=armor))
    opened = tmp_path / "opened"

    status = agetool.run_with_passphrase(
        ["--decrypt", "-o", opened, sealed], "tres longue phrase de passe", prompts=1
    )

    assert status == 0
    assert opened.read_bytes() == data


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
def test_we_open_what_the_age_tool_seals_with_a_passphrase(tmp_path, armor):
    data = os.urandom(2 * age.CHUNK_SIZE)
    plain, sealed = tmp_path / "plain", tmp_path / "sealed.age"
    plain.write_bytes(data)
    args = ["--passphrase", "-o", sealed] + (["--armor"] if armor else []) + [plain]

    status = agetool.run_with_passphrase(args, "عبارة مرور طويلة جدا", prompts=2)

    assert status == 0
    identity = age.ScryptIdentity("عبارة مرور طويلة جدا".encode())
    assert age.decrypt(sealed.read_bytes(), [identity]) == data


def test_age_tool_opens_a_reissued_header(keypair, tmp_path):
    _, recipient, key_file = keypair
    ours = age.X25519Identity.generate()
    sealed = age.encrypt(b"shared with a partner", [ours.recipient])
    header = age.read_header(io.BytesIO(sealed))
    reissued = age.reissue_header(header, [ours], [age.X25519Recipient.parse(recipient)])
    moved = tmp_path / "moved.age"
    moved.write_bytes(reissued + sealed[len(header.raw) :])

    opened = agetool.run("--decrypt", "-i", key_file, moved)

    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == b"shared with a partner"
