"""Her receipt made by her browser (frontend/src/receipt.js, receipt-worker.js) and by
the server (reporting/receipts.py, evidence/keys.py) are one format: the same vectors
pass on both sides, a code her browser made opens her report on a scripts-off visit,
and a code the server made opens her key in the browser's code.

The browser's routines run here in node, from frontend/ (scripts/frontend.sh installs
its packages from the lockfile before the tests)."""

from __future__ import annotations

import base64
import json

import pytest
from django.conf import settings

from evidence import age, keys
from evidence.exceptions import NotAcceptable
from reporting import receipts, services
from reporting.models import ReporterKey
from tests.support.node import FRONTEND, in_node

VECTORS = json.loads((FRONTEND / "test" / "vectors" / "receipt.json").read_text("utf-8"))


@pytest.mark.parametrize(
    "vector", VECTORS["stretch"], ids=lambda v: f"{v['code']}-{v['workFactor']}"
)
def test_the_server_derives_what_the_vectors_say(vector):
    stretched = keys.stretch_code(vector["code"], work_factor=vector["workFactor"])
    assert (stretched.lookup, stretched.passphrase) == (vector["lookup"], vector["passphrase"])


@pytest.mark.parametrize("vector", VECTORS["normalise"], ids=lambda v: repr(v["text"]))
def test_the_server_reads_a_copied_code_as_the_vectors_say(vector):
    assert receipts.normalise(vector["text"]) == vector["digits"]


@pytest.mark.django_db
def test_a_code_her_browser_made_opens_her_report_on_a_scripts_off_visit():
    made = in_node(
        "import { makeReceipt } from './src/receipt-worker.js';"
        "console.log(JSON.stringify(await makeReceipt(given)));",
        workFactor=settings.EVIDENCE_RECEIPT_WORK_FACTOR,
    )
    assert receipts.normalise(made["code"]) == made["code"]
    # All the server receives from her browser: the lookup value, her recipient, her
    # identity sealed under the secret from the code.
    reporter = services.save_browser_receipt(
        made["lookup"], made["recipient"], base64.b64decode(made["sealedIdentity"])
    )

    found, identity = services.open_receipt(receipts.display(made["code"]))

    assert found == reporter
    assert str(identity.recipient) == made["recipient"]


@pytest.mark.django_db
def test_a_code_the_server_made_opens_her_key_in_the_browsers_code():
    pending = services.new_receipt()
    reporter = services.save_reporter(pending)

    opened = in_node(
        "import { Decrypter, identityToRecipient } from 'age-encryption';"
        "import { normalise, stretchCode } from './src/receipt.js';"
        "const { lookup, passphrase } = stretchCode(normalise(given.code), given.workFactor);"
        "const opener = new Decrypter(); opener.addPassphrase(passphrase);"
        "const identity = await opener.decrypt("
        "  Uint8Array.from(atob(given.sealed), (c) => c.charCodeAt(0)), 'text');"
        "console.log(JSON.stringify({ lookup, recipient: await identityToRecipient(identity) }));",
        code=pending.display,
        workFactor=settings.EVIDENCE_RECEIPT_WORK_FACTOR,
        sealed=base64.b64encode(bytes(reporter.sealed_key)).decode(),
    )

    assert opened == {"lookup": reporter.lookup, "recipient": reporter.key_recipient}


def _sealed(recipients) -> bytes:
    return age.encrypt(str(keys.new_identity()).encode(), recipients)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"lookup": "4821093755261048"}, "lookup"),  # the code itself, never accepted
        ({"lookup": "AB" * 32}, "lookup"),
        ({"recipient": "AGE-SECRET-KEY-1QQQ"}, "recipient"),
        ({"sealed": lambda: b"age-encryption.org/v1\n-> nonsense"}, "header"),
        ({"sealed": lambda: b"x" * 2000}, "size"),
        # Sealed to a key, not under the secret from her code.
        ({"sealed": lambda: _sealed([keys.new_identity().recipient])}, "stanzas"),
        (
            {"sealed": lambda: _sealed([age.ScryptRecipient(b"s" * 64, work_factor=13)])},
            "work_factor",
        ),
    ],
)
def test_a_browser_receipt_not_in_the_stored_form_is_refused_and_nothing_kept(change, reason):
    pending = services.new_receipt()
    sent = {
        "lookup": pending.stretched.lookup,
        "recipient": str(pending.recipient),
        "sealed": lambda: keys.seal_identity_under_strong_secret(
            pending.identity, pending.stretched.passphrase
        ),
    } | change
    with pytest.raises(NotAcceptable) as refused:
        services.save_browser_receipt(sent["lookup"], sent["recipient"], sent["sealed"]())
    assert refused.value.reason == reason
    assert not ReporterKey.objects.exists()
