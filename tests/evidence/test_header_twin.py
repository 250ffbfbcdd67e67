"""Her browser re-issues the age headers of her report's sealed objects with her own key
(frontend/src/header.js); evidence/age does the same on the server.  The two are one
routine: the same inputs give the same bytes (the shared vectors, and fresh inputs), what
the browser writes opens with the reference age tool for the new reader and no longer
for a removed one, it re-issues headers the age tool and the browser's age library wrote,
and both sides refuse the same broken headers.

The browser's code runs here in node, from frontend/ (scripts/frontend.sh installs its
packages from the lockfile before the tests)."""

from __future__ import annotations

import base64
import io
import json
import os

import pytest

from evidence import age
from tests.evidence.agetool import keygen, run
from tests.support.node import FRONTEND, in_node

VECTORS = json.loads((FRONTEND / "test" / "vectors" / "header.json").read_text("utf-8"))
PLAIN = "Ce qu'elle a envoyé / ما أرسلته\n".encode() * 3000  # three 64 KiB chunks

_REISSUE = """
import { HeaderError, addStanzas, reissueHeader } from './src/header.js';
const bytes = (b64) => new Uint8Array(Buffer.from(b64, 'base64'));
const run = given.kind === 'add' ? addStanzas : reissueHeader;
const options = given.ephemeral
  ? { ephemeral: given.ephemeral.map((e) => new Uint8Array(Buffer.from(e, 'hex'))) } : {};
try {
  const made = await run(bytes(given.header), given.identities, given.recipients, options);
  console.log(JSON.stringify({ header: Buffer.from(made).toString('base64') }));
} catch (error) {
  if (!(error instanceof HeaderError)) throw error;
  console.log(JSON.stringify({ reason: error.reason, message: error.message }));
}
"""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def in_browser(kind: str, header: bytes, identities, recipients, ephemerals=None) -> dict:
    """What frontend/src/header.js answers: {"header": bytes} or {"reason", "message"}."""
    answer = in_node(
        _REISSUE,
        kind=kind,
        header=b64(header),
        identities=[str(i) for i in identities],
        recipients=[str(r) for r in recipients],
        ephemeral=None if ephemerals is None else [e.hex() for e in ephemerals],
    )
    if "header" in answer:
        answer["header"] = base64.b64decode(answer["header"])
    return answer


def header_of(sealed: bytes) -> bytes:
    return age.read_header(io.BytesIO(sealed)).raw


def opens_with_age_tool(sealed: bytes, identity: str, tmp_path) -> bytes | None:
    key = tmp_path / "key.txt"
    key.write_text(identity + "\n")
    (tmp_path / "sealed.age").write_bytes(sealed)
    done = run("-d", "-i", key, tmp_path / "sealed.age")
    return done.stdout if done.returncode == 0 else None


# --- The shared vectors: evidence/age still writes and refuses what the browser does ----


def _named(names, table, parse):
    return [parse(table[name]) for name in names]


@pytest.mark.parametrize("vector", VECTORS["cases"], ids=lambda v: f"{v['kind']}: {v['name']}")
def test_evidence_age_writes_the_bytes_the_browser_is_held_to(vector):
    reissue = age.reissue_header if vector["kind"] == "reissue" else age.add_stanzas
    made = reissue(
        base64.b64decode(vector["header"]),
        _named(vector["identities"], VECTORS["identities"], age.X25519Identity.parse),
        _named(vector["recipients"], VECTORS["recipients"], age.X25519Recipient.parse),
        ephemerals=[bytes.fromhex(e) for e in vector["ephemeral"]],
    )
    assert b64(made) == vector["expected"]


@pytest.mark.parametrize("vector", VECTORS["refuse"], ids=lambda v: v["name"])
def test_evidence_age_refuses_the_headers_the_browser_refuses(vector):
    referred = age.X25519Recipient.parse(VECTORS["recipients"]["referred"])
    identities = _named(vector["identities"], VECTORS["identities"], age.X25519Identity.parse)
    with pytest.raises(getattr(age, vector["python"])):
        age.reissue_header(base64.b64decode(vector["header"]), identities, [referred])


# --- (a) The same inputs give the same bytes on both sides -------------------------------


@pytest.mark.parametrize("kind", ["reissue", "add"])
def test_the_browser_and_the_server_write_the_same_header_from_the_same_inputs(kind):
    her, handler, referred, coordination = (age.X25519Identity.generate() for _ in range(4))
    sealed = age.encrypt(PLAIN, [handler.recipient, her.recipient])
    to = [her.recipient, referred.recipient, coordination.recipient]
    ephemerals = [os.urandom(32) for _ in to]

    python = (age.reissue_header if kind == "reissue" else age.add_stanzas)(
        header_of(sealed), [her], to, ephemerals=ephemerals
    )
    browser = in_browser(kind, header_of(sealed), [her], to, ephemerals)

    assert browser["header"] == python
    # Not the same bytes by accident (e.g. both returning the old header).
    assert python != header_of(sealed)
    assert age.read_header(io.BytesIO(python)).stanzas[-1].args[0] == b64(
        age.X25519Identity(ephemerals[-1]).recipient.public_key
    ).rstrip("=")


# --- (b) What the browser writes opens with the age tool, for exactly its readers --------


def test_a_header_her_browser_reissued_opens_for_the_new_reader_and_not_the_removed_one(
    tmp_path,
):
    her, handler, referred = (age.X25519Identity.generate() for _ in range(3))
    sealed = age.encrypt(PLAIN, [her.recipient, handler.recipient])
    header = header_of(sealed)

    made = in_browser("reissue", header, [her], [her.recipient, referred.recipient])["header"]
    reissued = made + sealed[len(header) :]

    assert opens_with_age_tool(reissued, str(referred), tmp_path) == PLAIN
    assert opens_with_age_tool(reissued, str(her), tmp_path) == PLAIN
    assert opens_with_age_tool(reissued, str(handler), tmp_path) is None
    # The payload was not touched: the old file still opens for the removed reader.
    assert opens_with_age_tool(sealed, str(handler), tmp_path) == PLAIN


def test_a_reader_her_browser_added_opens_it_and_every_earlier_reader_still_does(tmp_path):
    her, handler, referred = (age.X25519Identity.generate() for _ in range(3))
    sealed = age.encrypt(PLAIN, [her.recipient, handler.recipient])
    header = header_of(sealed)

    made = in_browser("add", header, [her], [referred.recipient])["header"]
    added = made + sealed[len(header) :]

    for reader in (referred, her, handler):
        assert opens_with_age_tool(added, str(reader), tmp_path) == PLAIN
    assert age.decrypt(added, [referred]) == PLAIN


# --- (c) Headers written by the age tool and by the browser's age library ----------------

_WHOLE_FILE = """
import { headerLength, reissueHeader } from './src/header.js';
const sealed = new Uint8Array(Buffer.from(given.sealed, 'base64'));
const length = headerLength(sealed.subarray(0, 4096));
const made = await reissueHeader(sealed.subarray(0, length), given.identities, given.recipients);
const out = new Uint8Array(made.length + sealed.length - length);
out.set(made);
out.set(sealed.subarray(length), made.length);
console.log(JSON.stringify({ length, sealed: Buffer.from(out).toString('base64') }));
"""


def reissued_in_browser(sealed: bytes, identity: str, recipients: list[str]) -> bytes:
    """The whole file with its header re-issued by the browser, the header found by
    headerLength() in the file's first 4 KiB, as the page does."""
    answer = in_node(_WHOLE_FILE, sealed=b64(sealed), identities=[identity], recipients=recipients)
    assert answer["length"] == len(header_of(sealed))
    return base64.b64decode(answer["sealed"])


def test_her_browser_reissues_a_header_the_age_tool_wrote(tmp_path):
    her, her_recipient = keygen()
    handler, handler_recipient = keygen()
    referred = age.X25519Identity.generate()
    (tmp_path / "plain").write_bytes(PLAIN)
    done = run(
        "-r", her_recipient, "-r", handler_recipient, "-o", tmp_path / "in.age", tmp_path / "plain"
    )
    assert done.returncode == 0, done.stderr

    reissued = reissued_in_browser(
        (tmp_path / "in.age").read_bytes(), her, [her_recipient, str(referred.recipient)]
    )

    assert opens_with_age_tool(reissued, str(referred), tmp_path) == PLAIN
    assert opens_with_age_tool(reissued, her, tmp_path) == PLAIN
    assert opens_with_age_tool(reissued, handler, tmp_path) is None


def test_her_browser_reissues_a_header_the_browsers_age_library_wrote(tmp_path):
    her, handler, referred = (age.X25519Identity.generate() for _ in range(3))
    made = in_node(
        "import { Encrypter } from 'age-encryption';"
        "const e = new Encrypter(); for (const r of given.recipients) e.addRecipient(r);"
        "const sealed = await e.encrypt(Buffer.from(given.plain, 'base64'));"
        "console.log(JSON.stringify(Buffer.from(sealed).toString('base64')));",
        recipients=[str(her.recipient), str(handler.recipient)],
        plain=b64(PLAIN),
    )

    reissued = reissued_in_browser(
        base64.b64decode(made), str(her), [str(referred.recipient), str(her.recipient)]
    )

    assert opens_with_age_tool(reissued, str(referred), tmp_path) == PLAIN
    assert age.decrypt(reissued, [her]) == PLAIN
    assert opens_with_age_tool(reissued, str(handler), tmp_path) is None


# --- (d) Refusals: a clear reason, and no header -----------------------------------------


def _spoilt_mac(header: bytes) -> bytes:
    parsed = age.read_header(io.BytesIO(header))
    mac = bytes([parsed.mac[0] ^ 0x80]) + parsed.mac[1:]
    return header[:-44] + base64.b64encode(mac).rstrip(b"=") + b"\n"


def _spoilt_base64(header: bytes) -> bytes:
    lines = header.split(b"\n")
    lines[2] = lines[2] + b"="  # her stanza's body, padded as age never writes it
    return b"\n".join(lines)


@pytest.mark.parametrize(
    ("spoil", "opened_by", "reason"),
    [
        (_spoilt_mac, "her", "mac"),
        (lambda header: header, "stranger", "no-identity"),
        (_spoilt_base64, "her", "malformed"),
        (lambda header: header.replace(b"-> X25519 ", b"-> X25519  ", 1), "her", "malformed"),
    ],
    ids=["wrong MAC", "no stanza of hers", "padded base64", "empty argument"],
)
def test_her_browser_refuses_a_broken_header_and_writes_none(spoil, opened_by, reason):
    her, stranger, referred = (age.X25519Identity.generate() for _ in range(3))
    header = spoil(header_of(age.encrypt(PLAIN, [her.recipient])))
    opener = {"her": her, "stranger": stranger}[opened_by]

    for kind in ("reissue", "add"):
        answer = in_browser(kind, header, [opener], [referred.recipient])
        assert answer["reason"] == reason
        assert answer["message"]
        assert "header" not in answer
    with pytest.raises(age.AgeError):
        age.reissue_header(header, [opener], [referred.recipient])


def test_her_browser_never_reissues_a_passphrase_file():
    her, referred = age.X25519Identity.generate(), age.X25519Identity.generate()
    passphrase_file = in_node(
        "import { Encrypter } from 'age-encryption';"
        "const e = new Encrypter(); e.setPassphrase(given.passphrase); e.setScryptWorkFactor(10);"
        "console.log(JSON.stringify(Buffer.from(await e.encrypt('x')).toString('base64')));",
        passphrase="correct horse battery staple",
    )
    file_key = os.urandom(16)
    mixed = age.Header.build(
        [*age.ScryptRecipient(b"pw", work_factor=10).wrap(file_key), *her.recipient.wrap(file_key)],
        file_key,
    ).raw

    for header in (header_of(base64.b64decode(passphrase_file)), mixed):
        answer = in_browser("add", header, [her], [referred.recipient])
        assert answer["reason"] == "scrypt"
        assert "header" not in answer


@pytest.mark.parametrize("vector", VECTORS["refuse"], ids=lambda v: v["name"])
def test_her_browser_refuses_each_broken_vector_for_its_reason(vector):
    answer = in_browser(
        "reissue",
        base64.b64decode(vector["header"]),
        _named(vector["identities"], VECTORS["identities"], str),
        [VECTORS["recipients"]["referred"]],
    )
    assert answer.get("reason") == vector["reason"]
