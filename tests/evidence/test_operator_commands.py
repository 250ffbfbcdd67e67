"""`manage.py seal` and `unseal` stream through stdin/stdout and speak age."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.evidence import agetool
from tests.support.processes import REPO, child_env


def manage(*args: str, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=child_env(),
        input=stdin,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def keypair(tmp_path_factory):
    identity, recipient = agetool.keygen()
    key_file = tmp_path_factory.mktemp("keys") / "key.txt"
    key_file.write_text(f"# created by age-keygen\n{identity}\n")
    return recipient, key_file


@pytest.mark.parametrize("armor", [[], ["--armor"]], ids=["binary", "armored"])
def test_what_seal_writes_the_age_tool_opens(keypair, tmp_path, armor):
    recipient, key_file = keypair
    data = os.urandom(3 * 65536 + 17)
    sealed = manage("seal", "-r", recipient, *armor, stdin=data)
    assert sealed.returncode == 0, sealed.stderr
    (tmp_path / "x.age").write_bytes(sealed.stdout)

    opened = agetool.run("--decrypt", "-i", key_file, tmp_path / "x.age")
    assert opened.stdout == data


@pytest.mark.parametrize("armor", [[], ["--armor"]], ids=["binary", "armored"])
def test_what_the_age_tool_seals_unseal_opens(keypair, armor):
    recipient, key_file = keypair
    data = os.urandom(200_000)
    sealed = agetool.run("--encrypt", "-r", recipient, *armor, stdin=data)

    opened = manage("unseal", "-i", str(key_file), stdin=sealed.stdout)

    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == data


def test_unseal_says_why_a_spoiled_file_is_refused(keypair):
    recipient, key_file = keypair
    sealed = bytearray(agetool.run("--encrypt", "-r", recipient, stdin=b"x" * 1000).stdout)
    sealed[-5] ^= 1

    opened = manage("unseal", "-i", str(key_file), stdin=bytes(sealed))

    assert opened.returncode != 0
    assert b"PayloadAuthenticationFailed" in opened.stderr
    assert opened.stdout == b""


def test_seal_refuses_a_mistyped_recipient():
    sealed = manage("seal", "-r", "age1notarecipient", stdin=b"x")
    assert sealed.returncode != 0
    assert b"not a valid recipient" in sealed.stderr
