"""What we seal opens again, byte for byte, at every size around the chunk boundary."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from evidence import age

CHUNK = age.CHUNK_SIZE
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 5 * CHUNK + 7, 17 * CHUNK + 3]


@pytest.fixture(scope="module")
def identity() -> age.X25519Identity:
    return age.X25519Identity.generate()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
def test_sealed_data_opens_unchanged(identity, size, armor):
    data = os.urandom(size)
    sealed = age.encrypt(data, [identity.recipient], armor=armor)
    assert age.decrypt(sealed, [identity]) == data


@pytest.mark.parametrize("size", SIZES)
def test_header_and_payload_stored_apart_open_together(identity, size):
    data = os.urandom(size)
    payload, header = io.BytesIO(), io.BytesIO()
    with age.Encryptor([identity.recipient], payload, header_sink=header) as writer:
        writer.write(data)
    assert payload.getvalue()[:3] != b"age"  # no header in the payload store
    reader = age.open_sealed(io.BytesIO(payload.getvalue()), [identity], header=header.getvalue())
    assert reader.read() == data
    assert writer.sha256 == hashlib.sha256(data).hexdigest()
    assert writer.size == size


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
def test_a_stream_without_peek_is_recognised_as_binary_or_armored(identity, armor):
    sealed = age.encrypt(b"from a plain BytesIO", [identity.recipient], armor=armor)
    assert age.open_sealed(io.BytesIO(sealed), [identity]).read() == b"from a plain BytesIO"


def test_every_recipient_can_open_and_others_cannot(identity):
    colleague = age.X25519Identity.generate()
    outsider = age.X25519Identity.generate()
    sealed = age.encrypt(b"narrative", [identity.recipient, colleague.recipient])
    assert age.decrypt(sealed, [identity]) == b"narrative"
    assert age.decrypt(sealed, [colleague]) == b"narrative"
    with pytest.raises(age.NoIdentityMatch):
        age.decrypt(sealed, [outsider])


def test_reissued_header_opens_the_same_payload_for_new_recipients_only(identity):
    partner = age.X25519Identity.generate()
    payload, header = io.BytesIO(), io.BytesIO()
    with age.Encryptor([identity.recipient], payload, header_sink=header) as writer:
        writer.write(b"evidence" * 10_000)
    before = payload.getvalue()

    new_header = age.reissue_header(header.getvalue(), [identity], [partner.recipient])

    assert payload.getvalue() == before  # the payload was neither read into nor rewritten
    opened = age.open_sealed(io.BytesIO(before), [partner], header=new_header).read()
    assert opened == b"evidence" * 10_000
    with pytest.raises(age.NoIdentityMatch):
        age.open_sealed(io.BytesIO(before), [identity], header=new_header)


def test_passphrase_sealed_data_opens_with_the_passphrase_only():
    sealed = age.encrypt(b"identity", [age.ScryptRecipient(b"correct horse", work_factor=10)])
    assert age.decrypt(sealed, [age.ScryptIdentity(b"correct horse")]) == b"identity"
    with pytest.raises(age.NoIdentityMatch):
        age.decrypt(sealed, [age.ScryptIdentity(b"wrong horse")])


def test_keys_read_back_from_their_text_forms(identity):
    text = str(identity)
    assert text.startswith("AGE-SECRET-KEY-1")
    assert age.X25519Identity.parse(text) == identity
    assert str(identity.recipient).startswith("age1")
    assert age.X25519Recipient.parse(str(identity.recipient)) == identity.recipient


def test_a_failing_sink_stops_the_writer_with_its_error(identity):
    class DiskFull(io.RawIOBase):
        written = 0

        def writable(self):
            return True

        def write(self, data):
            self.written += len(data)
            if self.written > 3 * 1024 * 1024:
                raise OSError(28, "No space left on device")
            return len(data)

    def seal_four_mib():
        with age.Encryptor([identity.recipient], DiskFull()) as writer:
            for _ in range(64):
                writer.write(os.urandom(CHUNK))

    with pytest.raises(OSError, match="No space left"):
        seal_four_mib()
