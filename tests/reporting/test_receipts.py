"""A reporter's receipt code opens her key; nothing stored opens it without the code."""

from __future__ import annotations

import hashlib
import re

import pytest

from reporting import services
from reporting.exceptions import ReceiptNotFound
from reporting.models import ReporterKey

pytestmark = pytest.mark.django_db

ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def issue() -> tuple[ReporterKey, str]:
    """A saved reporter key and the code shown to her."""
    pending = services.new_receipt()
    return services.save_reporter(pending), pending.display


def test_a_receipt_code_is_sixteen_digits_and_opens_the_reporters_key():
    reporter, code = issue()
    assert re.fullmatch(r"\d{4}( \d{4}){3}", code)

    found, identity = services.open_receipt(code)

    assert found == reporter
    assert str(identity.recipient) == reporter.key_recipient


@pytest.mark.parametrize(
    "typed",
    [
        lambda code: code.replace(" ", ""),
        lambda code: code.replace(" ", "-"),
        lambda code: code.replace(" ", "."),
        lambda code: code.translate(ARABIC_DIGITS),
        lambda code: f"\u200f  {code}\n",
    ],
    ids=["run together", "dashes", "dots", "arabic digits", "padded with marks"],
)
def test_a_code_typed_by_hand_still_opens(typed):
    reporter, code = issue()
    assert services.open_receipt(typed(code))[0] == reporter


@pytest.mark.parametrize("typed", ["", "1234", "0000 0000 0000 0000", "not a code at all!!"])
def test_a_wrong_code_finds_nothing(typed):
    issue()
    with pytest.raises(ReceiptNotFound):
        services.open_receipt(typed)


def test_one_digit_off_finds_nothing():
    _, code = issue()
    digits = code.replace(" ", "")
    wrong = digits[:-1] + str((int(digits[-1]) + 1) % 10)
    with pytest.raises(ReceiptNotFound):
        services.open_receipt(wrong)


def test_neither_the_code_nor_a_fast_hash_of_it_is_stored():
    reporter, code = issue()
    digits = code.replace(" ", "")
    row = ReporterKey.objects.filter(pk=reporter.pk).values().get()
    stored = " ".join(str(value) for value in row.values())
    assert digits not in stored
    assert code not in stored
    for fast in (hashlib.sha256, hashlib.sha1, hashlib.md5):
        assert fast(digits.encode()).hexdigest() not in stored


def test_the_time_a_key_was_made_is_kept_to_the_hour_only():
    reporter, _ = issue()
    assert (reporter.created_at.minute, reporter.created_at.second) == (0, 0)
