"""Properties over sizes near chunk boundaries and arbitrary write and read patterns."""

from __future__ import annotations

import hashlib
import io
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence import age

CHUNK = age.CHUNK_SIZE
IDENTITY = age.X25519Identity.generate()

sizes = st.one_of(
    st.integers(min_value=0, max_value=3 * CHUNK + 5),
    st.sampled_from(
        [k * CHUNK + d for k in range(4) for d in (-2, -1, 0, 1, 2) if k * CHUNK + d >= 0]
    ),
)
patterns = st.lists(st.integers(min_value=1, max_value=2 * CHUNK + 3), max_size=12)


def plaintext(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def seal_in_pieces(data: bytes, pieces: list[int]) -> tuple[bytes, age.Encryptor]:
    out = io.BytesIO()
    writer = age.Encryptor([IDENTITY.recipient], out)
    position = 0
    for n, size in enumerate(pieces):
        piece = data[position : position + size]
        # Alternate immutable and mutable buffers: both must be sealed as given.
        writer.write(bytearray(piece) if n % 2 else piece)
        position += len(piece)
    writer.write(data[position:])
    writer.close()
    return out.getvalue(), writer


@settings(max_examples=60, deadline=None)
@given(size=sizes, seed=st.integers(0, 2**32), writes=patterns, reads=patterns)
def test_any_write_pattern_opens_to_the_same_bytes_with_any_read_pattern(size, seed, writes, reads):
    data = plaintext(size, seed)
    sealed, writer = seal_in_pieces(data, writes)

    reader = age.open_sealed(io.BytesIO(sealed), [IDENTITY])
    got = bytearray()
    for n in reads:
        got += reader.read(n)
    got += reader.read()

    assert bytes(got) == data
    assert writer.sha256 == hashlib.sha256(data).hexdigest()
    assert writer.size == size


@settings(max_examples=40, deadline=None)
@given(size=sizes, seed=st.integers(0, 2**32))
def test_the_payload_is_nonce_plus_each_chunk_and_its_tag(size, seed):
    sealed, _ = seal_in_pieces(plaintext(size, seed), [])
    header = age.read_header(io.BytesIO(sealed))
    chunks = max(1, -(-size // CHUNK))
    assert len(sealed) - len(header.raw) == 16 + size + 16 * chunks


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=3 * CHUNK),
    seed=st.integers(0, 2**32),
    cut=st.floats(0, 1),
)
def test_a_file_cut_anywhere_is_refused_whole(size, seed, cut):
    sealed, _ = seal_in_pieces(plaintext(size, seed), [])
    at = int((len(sealed) - 1) * cut)
    with pytest.raises(age.AgeError):
        age.decrypt(sealed[:at], [IDENTITY])
