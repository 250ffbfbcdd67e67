"""Every way of spoiling an age file is refused with its own error, and no plaintext of a
spoiled part comes out."""

from __future__ import annotations

import io
import os

import pytest

from evidence import age
from evidence.age.encoding import b64encode
from evidence.age.header import Header, Stanza

CHUNK = age.CHUNK_SIZE
TAGGED = CHUNK + 16


@pytest.fixture(scope="module")
def identity() -> age.X25519Identity:
    return age.X25519Identity.generate()


@pytest.fixture(scope="module")
def sealed(identity) -> bytes:
    return age.encrypt(os.urandom(3 * CHUNK + 100), [identity.recipient])


def header_length(data: bytes) -> int:
    return len(age.read_header(io.BytesIO(data)).raw)


def open_all(data: bytes, identities) -> bytes:
    return age.decrypt(data, identities)


def replace_header(sealed: bytes, new_header: bytes) -> bytes:
    return new_header + sealed[header_length(sealed) :]


def forged_header(stanzas: list[Stanza]) -> bytes:
    return Header.build(stanzas, os.urandom(16)).raw


# --- header -----------------------------------------------------------------------------


def test_non_canonical_base64_in_a_stanza_body_is_refused(identity, sealed):
    lines = sealed.split(b"\n")
    body = lines[2]  # version, "-> X25519 share", body
    # 32 bytes in 43 characters leave the last character's two low bits unused: setting
    # one decodes to the same bytes, but is not the canonical encoding.
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    index = alphabet.index(body[-1:])
    assert index % 4 == 0
    lines[2] = body[:-1] + alphabet[index + 1 : index + 2]
    with pytest.raises(age.InvalidBase64):
        open_all(b"\n".join(lines), [identity])


def test_padded_base64_is_refused(identity, sealed):
    lines = sealed.split(b"\n")
    lines[1] += b"="
    with pytest.raises(age.MalformedHeader):
        open_all(b"\n".join(lines), [identity])


def test_a_wrong_version_line_is_refused(identity, sealed):
    with pytest.raises(age.MalformedHeader):
        open_all(sealed.replace(b"age-encryption.org/v1", b"age-encryption.org/v2", 1), [identity])


def test_a_cut_header_is_refused(identity, sealed):
    with pytest.raises(age.MalformedHeader):
        open_all(sealed[: header_length(sealed) - 10], [identity])


def test_an_unknown_stanza_opens_nothing(identity, sealed):
    renamed = sealed.replace(b"-> X25519 ", b"-> example.org/enigma ", 1)
    with pytest.raises(age.NoIdentityMatch):
        open_all(renamed, [identity])


def test_an_x25519_stanza_with_extra_arguments_is_refused(identity, sealed):
    stanza = age.read_header(io.BytesIO(sealed)).stanzas[0]
    bad = Stanza("X25519", (*stanza.args, "extra"), stanza.body)
    with pytest.raises(age.MalformedStanza):
        open_all(replace_header(sealed, forged_header([bad])), [identity])


def test_an_x25519_stanza_with_a_short_body_is_refused(identity, sealed):
    stanza = age.read_header(io.BytesIO(sealed)).stanzas[0]
    bad = Stanza("X25519", stanza.args, stanza.body[:-1])
    with pytest.raises(age.MalformedStanza):
        open_all(replace_header(sealed, forged_header([bad])), [identity])


def test_an_empty_stanza_argument_is_refused(identity, sealed):
    with pytest.raises(age.MalformedHeader):
        open_all(sealed.replace(b"-> X25519 ", b"-> X25519  ", 1), [identity])


def test_a_changed_mac_is_refused(identity, sealed):
    end = header_length(sealed)
    mac_line_start = sealed.rindex(b"--- ", 0, end)
    flipped = bytearray(sealed)
    position = mac_line_start + 10
    flipped[position] = ord("A") if flipped[position] != ord("A") else ord("B")
    with pytest.raises((age.HeaderMacMismatch, age.InvalidBase64)):
        open_all(bytes(flipped), [identity])


def test_a_stanza_added_without_the_file_key_breaks_the_mac(identity, sealed):
    header = age.read_header(io.BytesIO(sealed))
    intruder = age.X25519Identity.generate().recipient.wrap(os.urandom(16))[0]
    stanzas_text = b"".join(s.encode() for s in (*header.stanzas, intruder))
    mac_line = header.raw[header.raw.rindex(b"---") :]
    forged = b"age-encryption.org/v1\n" + stanzas_text + mac_line
    with pytest.raises(age.HeaderMacMismatch):
        open_all(replace_header(sealed, forged), [identity])


def test_a_low_order_x25519_share_is_refused(identity, sealed):
    zero_share = Stanza("X25519", (b64encode(bytes(32)).decode(),), os.urandom(32))
    with pytest.raises(age.LowOrderShare):
        open_all(replace_header(sealed, forged_header([zero_share])), [identity])


def test_an_scrypt_work_factor_above_the_limit_is_refused():
    sealed = age.encrypt(b"x", [age.ScryptRecipient(b"pw", work_factor=10)])
    with pytest.raises(age.ScryptWorkFactorOutOfBounds):
        age.decrypt(sealed, [age.ScryptIdentity(b"pw", max_work_factor=9)])


def test_an_scrypt_work_factor_with_a_leading_zero_is_refused():
    sealed = age.encrypt(b"x", [age.ScryptRecipient(b"pw", work_factor=10)])
    header = age.read_header(io.BytesIO(sealed))
    stanza = header.stanzas[0]
    bad = Stanza("scrypt", (stanza.args[0], "010"), stanza.body)
    with pytest.raises(age.MalformedStanza):
        age.decrypt(replace_header(sealed, forged_header([bad])), [age.ScryptIdentity(b"pw")])


@pytest.mark.parametrize("who", ["passphrase", "x25519"])
def test_an_scrypt_stanza_mixed_with_others_is_refused(identity, who):
    file_key = os.urandom(16)
    stanzas = [
        *age.ScryptRecipient(b"pw", work_factor=10).wrap(file_key),
        *identity.recipient.wrap(file_key),
    ]
    sealed = forged_header(stanzas) + b"\x00" * 40
    opener = age.ScryptIdentity(b"pw") if who == "passphrase" else identity
    with pytest.raises(age.ScryptNotAlone):
        age.decrypt(sealed, [opener])


# --- payload ----------------------------------------------------------------------------


def test_a_flipped_payload_byte_is_refused_and_its_chunk_never_released(identity, sealed):
    start = header_length(sealed) + 16  # after the nonce
    spoiled = bytearray(sealed)
    spoiled[start + TAGGED + 5] ^= 0x01  # inside the second chunk
    reader = age.open_sealed(io.BytesIO(bytes(spoiled)), [identity])
    chunks = reader.chunks()
    assert len(next(chunks)) == CHUNK  # the first chunk is intact and verified
    with pytest.raises(age.PayloadAuthenticationFailed):
        next(chunks)


def test_a_payload_cut_at_a_chunk_boundary_is_truncation(identity, sealed):
    start = header_length(sealed) + 16
    with pytest.raises(age.TruncatedPayload):
        open_all(sealed[: start + 2 * TAGGED], [identity])


def test_a_payload_cut_inside_a_chunk_is_refused(identity, sealed):
    start = header_length(sealed) + 16
    with pytest.raises(age.PayloadAuthenticationFailed):
        open_all(sealed[: start + TAGGED + 500], [identity])


def test_a_payload_without_its_nonce_is_truncation(identity, sealed):
    with pytest.raises(age.TruncatedPayload):
        open_all(sealed[: header_length(sealed) + 8], [identity])


def test_a_header_without_any_payload_is_truncation(identity, sealed):
    with pytest.raises(age.TruncatedPayload):
        open_all(sealed[: header_length(sealed) + 16], [identity])


@pytest.mark.parametrize("extra", [b"\x00", os.urandom(TAGGED)], ids=["one byte", "a chunk"])
def test_data_after_a_short_final_chunk_spoils_it(identity, sealed, extra):
    # The extra bytes read as part of the last chunk, so its tag fails: refused, and
    # the last chunk's plaintext never comes out.
    reader = age.open_sealed(io.BytesIO(sealed + extra), [identity])
    chunks = reader.chunks()
    for _ in range(3):
        assert len(next(chunks)) == CHUNK
    with pytest.raises(age.PayloadAuthenticationFailed):
        next(chunks)


def test_data_after_a_full_final_chunk_is_refused(identity):
    sealed = age.encrypt(os.urandom(2 * CHUNK), [identity.recipient])
    with pytest.raises(age.TrailingData):
        open_all(sealed + os.urandom(TAGGED), [identity])


def test_chunks_swapped_in_order_are_refused(identity, sealed):
    start = header_length(sealed) + 16
    first, second = sealed[start : start + TAGGED], sealed[start + TAGGED : start + 2 * TAGGED]
    swapped = sealed[:start] + second + first + sealed[start + 2 * TAGGED :]
    with pytest.raises(age.PayloadAuthenticationFailed):
        open_all(swapped, [identity])


# --- armor and keys ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def armored(identity) -> bytes:
    return age.encrypt(os.urandom(1000), [identity.recipient], armor=True)


def test_armor_with_surrounding_whitespace_opens(identity, armored):
    assert len(open_all(b"\n  " + armored + b"\n\n", [identity])) == 1000


@pytest.mark.parametrize(
    "spoil",
    [
        lambda a: b"junk" + a,
        lambda a: a + b"junk",
        lambda a: a.replace(b"\n", b"\n\n", 2),
        lambda a: a.replace(b"-----END AGE ENCRYPTED FILE-----", b""),
        lambda a: a.replace(b"AGE ENCRYPTED FILE", b"age encrypted file", 1),
    ],
    ids=["data before", "data after", "blank line inside", "no END line", "wrong label"],
)
def test_loose_armor_is_refused(identity, armored, spoil):
    with pytest.raises((age.InvalidArmor, age.MalformedHeader)):
        open_all(spoil(armored), [identity])


def test_a_recipient_with_a_bad_checksum_is_refused(identity):
    text = str(identity.recipient)
    spoiled = text[:-1] + ("q" if text[-1] != "q" else "p")
    with pytest.raises(age.InvalidKey):
        age.X25519Recipient.parse(spoiled)


def test_a_recipient_in_mixed_case_is_refused(identity):
    text = str(identity.recipient)
    with pytest.raises(age.InvalidKey):
        age.X25519Recipient.parse(text[:10] + text[10:].upper())
