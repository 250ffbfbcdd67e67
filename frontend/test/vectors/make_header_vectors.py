"""Write header.json: the shared vectors of the header re-issue routine, made by
evidence/age (the Python side) for frontend/src/header.js (the browser side).

    .venv/bin/python frontend/test/vectors/make_header_vectors.py

Keys and ephemeral secrets come from fixed labels; the sealed file does not (its file key
and nonce are random), so each run writes other bytes that are just as valid.
frontend/test/header.test.js checks that the browser writes exactly the expected headers;
tests/evidence/test_header_twin.py checks that evidence/age still writes them too.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from evidence import age  # noqa: E402 - after the path to the repository is known
from evidence.age.header import Header, Stanza, read_header  # noqa: E402
from evidence.age.stream import unwrap_file_key  # noqa: E402

OUT = Path(__file__).with_name("header.json")
PLAINTEXT = "Ce qu'elle a envoyé / ما أرسلته\n"
READERS = ("her", "handler", "coordination", "referred", "stranger")


def secret(label: str) -> bytes:
    return hashlib.sha256(f"safe-report/header-vectors/{label}".encode()).digest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def main() -> None:
    identities = {name: age.X25519Identity(secret(name)) for name in READERS}
    recipients = {name: identity.recipient for name, identity in identities.items()}
    sealed = age.encrypt(
        PLAINTEXT.encode(), [recipients[n] for n in ("her", "handler", "coordination")]
    )
    header = read_header(io.BytesIO(sealed))
    file_key = unwrap_file_key(header, [identities["her"]])

    # A stanza of a kind the browser does not know, with a 48-byte body: its encoding fills
    # one whole line, so it ends with an empty line; kept exactly by an addition.
    grease = Stanza("example.org/grease", ("a=b", "c"), secret("grease")[:24] * 2)
    with_grease = Header.build([grease, *recipients["her"].wrap(file_key)], file_key).raw
    # Someone adds a stanza without the file key: the old MAC no longer matches.
    intruder = age.X25519Identity(secret("intruder")).recipient.wrap(secret("k")[:16])[0]
    covered = header.raw[: header.raw.rindex(b"---")]
    added_stanza = covered + intruder.encode() + header.raw[len(covered) :]
    scrypt_only = age.encrypt(b"x", [age.ScryptRecipient(b"passphrase", work_factor=10)])
    scrypt_header = read_header(io.BytesIO(scrypt_only)).raw
    scrypt_mixed = Header.build(
        [
            *age.ScryptRecipient(b"passphrase", work_factor=10).wrap(file_key),
            *recipients["her"].wrap(file_key),
        ],
        file_key,
    ).raw
    mac_flipped = bytearray(header.mac)
    mac_flipped[0] ^= 1
    wrong_mac = header.raw[:-44] + base64.b64encode(bytes(mac_flipped)).rstrip(b"=") + b"\n"
    lines = header.raw.split(b"\n")
    body = lines[2]  # her stanza's body: 43 characters of base64
    last = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    # 43 characters carry 258 bits for 256: the last character's two low bits must be 0.
    non_canonical = last[last.index(body[-1:]) + 1 : last.index(body[-1:]) + 2]

    def spoil(index: int, line: bytes) -> bytes:
        return b"\n".join([*lines[:index], line, *lines[index + 1 :]])

    cases = []
    next_ephemeral = iter(range(1000))

    def case(kind: str, name: str, source: bytes, opened_by: list[str], to: list[str]) -> None:
        ephemerals = [secret(f"ephemeral-{next(next_ephemeral)}") for _ in to]
        reissue = age.reissue_header if kind == "reissue" else age.add_stanzas
        expected = reissue(
            source,
            [identities[n] for n in opened_by],
            [recipients[n] for n in to],
            ephemerals=ephemerals,
        )
        cases.append(
            {
                "kind": kind,
                "name": name,
                "header": b64(source),
                "identities": opened_by,
                "recipients": to,
                "ephemeral": [e.hex() for e in ephemerals],
                "expected": b64(expected),
            }
        )

    case(
        "reissue",
        "she says yes to a referral",
        header.raw,
        ["her"],
        ["her", "handler", "coordination", "referred"],
    )
    case("reissue", "a reader removed", header.raw, ["her"], ["her", "coordination"])
    case("reissue", "her key second in the list", header.raw, ["stranger", "her"], ["referred"])
    case("reissue", "a header with an unknown stanza", with_grease, ["her"], ["her", "referred"])
    case("add", "one reader added", header.raw, ["her"], ["referred"])
    case("add", "added beside an unknown stanza", with_grease, ["her"], ["referred", "stranger"])
    case("add", "nothing added", header.raw, ["her"], [])

    refusals = [
        ("the MAC is wrong", wrong_mac, "mac", "HeaderMacMismatch"),
        ("a stanza added without the file key", added_stanza, "mac", "HeaderMacMismatch"),
        ("a passphrase header", scrypt_header, "scrypt", "NoIdentityMatch"),
        ("a passphrase stanza beside hers", scrypt_mixed, "scrypt", "ScryptNotAlone"),
        ("padded base64", spoil(2, body + b"="), "malformed", "MalformedHeader"),
        ("non-canonical base64", spoil(2, body[:-1] + non_canonical), "malformed", "InvalidBase64"),
        ("a body line of 65 columns", spoil(2, b"A" * 65), "malformed", "MalformedHeader"),
        (
            "a foreign character in a body",
            spoil(2, body[:-1] + b"-"),
            "malformed",
            "MalformedHeader",
        ),
        (
            "an empty argument",
            spoil(1, lines[1].replace(b" ", b"  ", 1)),
            "malformed",
            "MalformedHeader",
        ),
        ("no version line", spoil(0, b"age-encryption.org/v2"), "malformed", "MalformedHeader"),
        ("a short MAC", header.raw[:-6] + b"\n", "malformed", "MalformedHeader"),
        ("the header cut short", header.raw[:-49], "malformed", "MalformedHeader"),
    ]
    refuse = [
        {
            "name": name,
            "header": b64(data),
            "identities": ["her"],
            "reason": reason,
            "python": error,
        }
        for name, data, reason, error in refusals
    ]
    refuse.append(
        {
            "name": "no key of hers opens it",
            "header": b64(header.raw),
            "identities": ["stranger"],
            "reason": "no-identity",
            "python": "NoIdentityMatch",
        }
    )

    vectors = {
        "about": "Made by make_header_vectors.py with evidence/age; test keys only.",
        "identities": {name: str(identity) for name, identity in identities.items()},
        "recipients": {name: str(recipient) for name, recipient in recipients.items()},
        "plaintext": PLAINTEXT,
        "file": b64(sealed),
        "headerLength": len(header.raw),
        "cases": cases,
        "refuse": refuse,
    }
    OUT.write_text(json.dumps(vectors, indent=1, ensure_ascii=False) + "\n", "utf-8")


if __name__ == "__main__":
    main()
