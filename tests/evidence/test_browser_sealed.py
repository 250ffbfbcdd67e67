"""The server's keyless check of what her browser sealed (evidence/browser_sealed.py),
on files made by the reference age tool and by the browser's own age library."""

from __future__ import annotations

import base64

import pytest

from evidence import age
from evidence.browser_sealed import MAX_HEADER_BYTES, check_browser_sealed, plaintext_size
from evidence.exceptions import NotAcceptable
from tests.evidence.agetool import keygen, run
from tests.support.node import in_node

MiB = 1024 * 1024


def age_tool_file(size: int, readers: int, tmp_path) -> bytes:
    plain = tmp_path / "plain"
    plain.write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
    recipients = [arg for _ in range(readers) for arg in ("-r", keygen()[1])]
    sealed = tmp_path / "sealed.age"
    done = run(*recipients, "-o", sealed, plain)
    assert done.returncode == 0, done.stderr
    return sealed.read_bytes()


def check(data: bytes, *, readers: int, max_size: int = 10 * MiB) -> age.Header:
    return check_browser_sealed(
        data[:MAX_HEADER_BYTES], len(data), readers=readers, max_size=max_size
    )


@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 65537, 3 * 65536 + 7])
def test_a_file_sealed_to_her_readers_passes_and_its_size_is_read_from_its_length(size, tmp_path):
    sealed = age_tool_file(size, 3, tmp_path)
    header = check(sealed, readers=3)
    assert plaintext_size(len(sealed) - len(header.raw)) == size


def test_a_file_sealed_by_the_browsers_age_library_passes(tmp_path):
    recipients = [keygen()[1] for _ in range(3)]
    made = in_node(
        "import { Encrypter } from 'age-encryption';"
        "const e = new Encrypter(); for (const r of given.recipients) e.addRecipient(r);"
        "const sealed = await e.encrypt(new Uint8Array(70000).fill(7));"
        "console.log(JSON.stringify(Buffer.from(sealed).toString('base64')));",
        recipients=recipients,
    )
    sealed = base64.b64decode(made)
    header = check(sealed, readers=3)
    assert plaintext_size(len(sealed) - len(header.raw)) == 70000


@pytest.mark.parametrize(
    ("size", "spoil", "readers", "reason"),
    [
        # One reader too few or too many in the header.
        (65541, lambda data: data, 2, "stanzas"),
        (65541, lambda data: data, 4, "stanzas"),
        # Not an age file; or only the start of a header.
        (65541, lambda data: b"PK\x03\x04" + data, 3, "header"),
        (65541, lambda data: data[:60], 3, "header"),
        # A payload STREAM cannot produce: a final chunk cut inside its tag, or an
        # empty final chunk after a full one.
        (65541, lambda data: data[:-6], 3, "payload"),
        (65536, lambda data: data + bytes(16), 3, "payload"),
    ],
)
def test_an_object_not_in_the_accepted_form_is_refused_with_its_reason(
    size, spoil, readers, reason, tmp_path
):
    sealed = age_tool_file(size, 3, tmp_path)
    with pytest.raises(NotAcceptable) as refused:
        check(spoil(sealed), readers=readers)
    assert refused.value.reason == reason


def test_a_passphrase_stanza_is_refused_it_would_open_without_the_readers_keys():
    sealed = age.encrypt(b"her words", [age.ScryptRecipient(b"guessable", work_factor=10)])
    with pytest.raises(NotAcceptable) as refused:
        check(sealed, readers=1)
    assert refused.value.reason == "stanzas"


def test_a_header_larger_than_any_her_readers_need_is_refused(tmp_path):
    # 50 readers: about 4.9 KiB of stanzas (98 bytes each), past the cap.
    sealed = age.encrypt(b"x", [age.X25519Identity.generate().recipient for _ in range(50)])
    with pytest.raises(NotAcceptable) as refused:
        check(sealed, readers=50)
    assert refused.value.reason == "header"


def test_a_file_over_the_size_limit_is_refused(tmp_path):
    sealed = age_tool_file(65537, 3, tmp_path)
    with pytest.raises(NotAcceptable) as refused:
        check(sealed, readers=3, max_size=65536)
    assert refused.value.reason == "size"
    assert check(sealed, readers=3, max_size=65537)
