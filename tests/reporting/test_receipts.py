"""A reporter's receipt code opens her key; nothing stored opens it without the code."""

from __future__ import annotations

import re

import pytest

from reporting import services
from reporting.exceptions import ReceiptNotFound
from reporting.models import ReporterKey

pytestmark = pytest.mark.django_db

ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def test_a_receipt_code_opens_the_reporters_key():
    reporter, code = services.issue_receipt()
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", code)

    found, identity = services.open_receipt(code)

    assert found == reporter
    assert str(identity.recipient) == reporter.key_recipient


@pytest.mark.parametrize(
    "typed",
    [
        lambda code: code.lower(),
        lambda code: code.replace("-", ""),
        lambda code: code.replace("-", " "),
        lambda code: code.replace("0", "O").replace("1", "l"),
        lambda code: code.translate(ARABIC_DIGITS),
        lambda code: f"  {code}\n",
    ],
    ids=["lower case", "no dashes", "spaces", "letters for digits", "arabic digits", "padded"],
)
def test_a_code_typed_by_hand_still_opens(typed):
    reporter, code = services.issue_receipt()
    assert services.open_receipt(typed(code))[0] == reporter


@pytest.mark.parametrize("typed", ["", "1234", "ZZZZ-ZZZZ-ZZZZ-ZZZZ", "not a code at all!!"])
def test_a_wrong_code_finds_nothing(typed):
    services.issue_receipt()
    with pytest.raises(ReceiptNotFound):
        services.open_receipt(typed)


def test_the_code_itself_is_not_stored():
    reporter, code = services.issue_receipt()
    row = ReporterKey.objects.filter(pk=reporter.pk).values().get()
    stored = " ".join(str(value) for value in row.values())
    assert code not in stored
    assert code.replace("-", "") not in stored


def test_the_time_a_key_was_made_is_kept_to_the_hour_only():
    reporter, _ = services.issue_receipt()
    assert (reporter.created_at.minute, reporter.created_at.second) == (0, 0)
