"""The API answers what its schema says, whatever it is sent (issue 9).

Schemathesis reads the schema the site serves at /api/schema/ and sends every operation
requests made from it, valid and invalid (its coverage and fuzzing phases).  No answer
may be a server error, and each answer's status, media type, body and headers must be
ones the schema describes: a client generated from the schema relies on exactly that.
Every operation is tried by whoever may call it and by whoever may not: the reporter's
API with no code, a made-up code and her real one; the staff API by a caseworker signed
in with her password, her second factor and her key cookie, and by nobody.

The requests run in-process through Django's WSGI handler, inside each test's
transaction: the database is rolled back afterwards, on-commit work (emails, tasks)
never starts, and what is sealed goes to the test's own blob store (tests/conftest.py).
Generation is derandomized and keeps no example database, so every run sends the same
requests and writes nothing into the working tree.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from datetime import timedelta

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from casework import services
from casework.auth import COOKIE_NAME
from casework.models import Case
from reporting import guide
from tests.support.cast import file_report
from tests.support.uploading import jpeg, text_bytes

# Even with no example database, Hypothesis caches what it reads of our modules and of
# Unicode under .hypothesis/ in the working directory, and the coverage phase already
# generates while this module is collected.  Unless told otherwise, it keeps them in a
# directory of its own for this run, removed at exit: nothing lands in the working tree.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    _storage = tempfile.mkdtemp(prefix="safe-report-hypothesis-")
    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = _storage
    atexit.register(shutil.rmtree, _storage, ignore_errors=True)

SCHEMA_URL = "/api/schema/"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Per operation and way of calling it, on top of the coverage phase's own cases (which
# are deterministic: boundaries, each enum value, each missing or mistyped field).
# Bounded so that the whole file runs in about a minute on two busy cores.
FUZZED_EXAMPLES = 100
THROTTLED_EXAMPLES = 8
LOCKED_EXAMPLES = 10
WRONG_CODE = "0000 0000 0000 0000"


class InTestTransaction:
    """Django's WSGI application, as schemathesis's WSGI transport calls it, answering
    inside the test's transaction.

    Django closes a connection at the start and end of each request when it is not in
    autocommit, which inside a test's transaction would break it; its test client stops
    that around each request, and so does this.  An exception the view raised is
    raised again, with its traceback, rather than only seen as a 500 page."""

    def __init__(self) -> None:
        self.handler = WSGIHandler()

    def __call__(self, environ, start_response):
        raised: list[BaseException] = []

        def note_exception(sender, **kwargs) -> None:
            raised.append(sys.exception())

        signals.got_request_exception.connect(note_exception)
        closed_at_start = signals.request_started.disconnect(close_old_connections)
        closed_at_end = signals.request_finished.disconnect(close_old_connections)
        try:
            response = self.handler(environ, start_response)
            try:
                body = b"".join(response)  # streamed files too, while the signals are off
            finally:
                response.close()  # sends request_finished
        finally:
            signals.got_request_exception.disconnect(note_exception)
            if closed_at_start:
                signals.request_started.connect(close_old_connections)
            if closed_at_end:
                signals.request_finished.connect(close_old_connections)
        if raised:
            raise raised[0]
        return [body]


APP = InTestTransaction()


def _config() -> schemathesis.Config:
    # Written out in full, so that no schemathesis.toml found on the way changes the run.
    return schemathesis.Config.from_dict(
        {
            "cache": {"enabled": False},  # nothing written into the working tree
            # Each test's examples share its world (cast, cases, receipt) on purpose, and
            # generation speed is not under test.
            "suppress-health-check": ["all"],
            "generation": {
                "mode": "all",
                "max-examples": FUZZED_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            # Each operation on its own: a chain of calls is what the unit tests do.
            "phases": {"stateful": {"enabled": False}},
        }
    )


def _served_schema():
    """The schema as a client gets it: from the site, not from drf-spectacular's API."""
    return schemathesis.openapi.from_wsgi(
        SCHEMA_URL,
        APP,
        config=_config(),
        headers={"Accept": "application/vnd.oai.openapi+json"},
    )


_SCHEMA = _served_schema()
reporters_api = _SCHEMA.exclude(path_regex="^/api/staff/")
receipt_api = _SCHEMA.include(path_regex="^/api/reports/(evidence|mine)/$")
throttled_api = _SCHEMA.include(path_regex="^/api/reports/")
staff_api = _SCHEMA.include(path_regex="^/api/staff/")

# Ids of what the staff test's world holds, filled in by its fixture before any example
# is drawn: made-up ids alone would almost never name a case that exists.
KNOWN_IDS: dict[str, list[int]] = {}


@reporters_api.hook("flatmap_path_parameters")
def guide_nodes(context, path_parameters):
    """Half the time, a node of the guide (made-up ids alone would only ever be
    refused): questions and advice pages, with their cards, blocks and links."""
    if not path_parameters or "node_id" not in path_parameters:
        return st.just(path_parameters)
    nodes = sorted(guide.for_language("fr").nodes)  # every language holds the same tree
    known = st.fixed_dictionaries(
        {"lang": st.sampled_from(sorted(guide.language_files())), "node_id": st.sampled_from(nodes)}
    )
    return st.one_of(st.just(path_parameters), known)


@staff_api.hook
def flatmap_path_parameters(context, path_parameters):
    """Half the time, a case and a file that exist: hers, an erased one, another
    organisation's (with its own files)."""
    if not path_parameters or not KNOWN_IDS:
        return st.just(path_parameters)
    known = st.fixed_dictionaries(
        {name: st.sampled_from(KNOWN_IDS[name]) for name in path_parameters if name in KNOWN_IDS}
    )
    return st.one_of(st.just(path_parameters), known.map(lambda ids: {**path_parameters, **ids}))


def answers_as_described(case, **credentials) -> None:
    """Send the case; its answer must be one the schema describes, even at an address
    that matches no URL (a case id of -1, a node id with a slash): the API's 404 is JSON
    there too (web/errors.py)."""
    case.call_and_validate(app=APP, checks=CHECKS, **credentials)


@pytest.fixture
def generous_limits(settings) -> None:
    """Rate limits out of the way, so the fuzzing reaches the code behind them (their
    answers are tried in test_rate_limited_answers_are_described)."""
    settings.RATE_LIMIT_INTAKE_PER_MINUTE = 1_000_000
    settings.RECEIPT_FAILURES_PER_MINUTE = 1_000_000


@pytest.fixture
def her_receipt(cast) -> str:
    """A report filed to Association A, with a photo and a chat export."""
    _report, pending = file_report(files=(("photo.jpg", jpeg()), ("chat.txt", text_bytes(500))))
    return pending.display


@pytest.fixture
def alices_world(cast, settings):
    """Alice's session cookies and CSRF token; her organisation's case with files, a
    note and a reply; an erased case of hers; a case of another organisation."""
    alice = cast.users["alice"]
    report, _ = file_report(files=(("photo.jpg", jpeg()), ("chat.txt", text_bytes(500))))
    services.add_note(report.case, "Rappeler lundi.", actor=alice)
    services.reply_to_reporter(report.case, "Nous avons bien reçu.", actor=alice)
    erased, _ = file_report(files=(("capture.jpg", jpeg()),))
    services.change_status(erased.case, Case.Status.ACKNOWLEDGED, actor=alice)
    closed = services.change_status(erased.case, Case.Status.CLOSED, actor=alice, outcome="helped")
    later = closed.closed_at + timedelta(days=settings.CASEWORK_RETENTION_DAYS + 1)
    assert services.apply_retention(now=later) == 1
    elsewhere, _ = file_report(region="fes_meknes", files=(("photo.jpg", jpeg()),))
    reports = [report, erased, elsewhere]
    KNOWN_IDS.clear()
    KNOWN_IDS["case_id"] = [r.case.pk for r in reports]
    KNOWN_IDS["item_id"] = [item.pk for r in reports for item in r.evidence.all()]
    browser = cast.client("alice")  # password, then the second factor: her key is open
    cookies = {name: browser.cookies[name].value for name in ("sessionid", COOKIE_NAME)}
    token = browser.cookies["csrftoken"].value
    yield {"cookies": {**cookies, "csrftoken": token}, "headers": {"X-CSRFToken": token}}
    KNOWN_IDS.clear()


def without_key_cookie(credentials: dict) -> dict:
    """Her browser was closed: its half of her key is gone, the session remains."""
    cookies = {k: v for k, v in credentials["cookies"].items() if k != COOKIE_NAME}
    return {**credentials, "cookies": cookies}


@reporters_api.parametrize()
def test_anyone_gets_only_described_answers_from_the_reporters_api(case, cast, generous_limits):
    # Filing, the guide, and her operations with whatever code the generator made up.
    answers_as_described(case)


@receipt_api.parametrize()
def test_her_receipt_code_gets_only_described_answers(case, her_receipt, generous_limits):
    answers_as_described(case, headers={"Authorization": f"Receipt {her_receipt}"})


@staff_api.parametrize()
def test_a_signed_in_caseworker_gets_only_described_answers(case, alices_world):
    answers_as_described(case, **alices_world)


@staff_api.parametrize()
@hypothesis.settings(max_examples=LOCKED_EXAMPLES)
def test_a_caseworker_whose_key_is_locked_gets_only_described_answers(case, alices_world):
    answers_as_described(case, **without_key_cookie(alices_world))


@staff_api.parametrize()
def test_nobody_signed_in_gets_only_described_answers_from_the_staff_api(case, db):
    answers_as_described(case)


@throttled_api.parametrize()
@hypothesis.settings(max_examples=THROTTLED_EXAMPLES)
def test_rate_limited_answers_are_described(case, cast, settings):
    # One report and one wrong code per minute: nearly every answer is the 429.
    settings.RATE_LIMIT_INTAKE_PER_MINUTE = 1
    settings.RECEIPT_FAILURES_PER_MINUTE = 1
    answers_as_described(case, headers={"Authorization": f"Receipt {WRONG_CODE}"})
