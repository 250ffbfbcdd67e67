"""Keys that carry no order, and the per-parent order that replaces it (issue 16, item 3).

A sequence (1, 2, 3...) tells anyone holding a copy of the database in which order rows
were made.  Matched against rows with exact times (the staff's audit log), that order
bracketed a reporter's message in a 6.7 s window.  So every row she makes, or that is
made at her act (her report, its key, messages, evidence items, sealed objects, custody
events, consent questions, her case and its workflow steps), gets a random key instead:
``random_id()``.  Not a time-ordered scheme such as UUIDv7 or a snowflake id, whose top
bits are a clock: a random key says nothing about when, or after what, a row was made.

The key stays an integer so that URLs (``<int:pk>``), foreign keys and JSON keep their
shape, and stays below 2**53 so that browser code reading it as a JavaScript number gets
it exactly.  It starts at 2**32, above every id the old sequences handed out: a key
made now can never be mistaken for an old one still named in the append-only audit log
(casework/audit.py), and old case references keep their old form (Case.reference).

Collisions: keys are drawn from about 2**52.9 values, so with a million rows in a table
the next insert collides with probability about 1e-10 (it then fails like any other
integrity error, and nothing half-done is kept); the migration that renumbered existing
rows drew its keys without repetition.

Where order within a parent matters (a conversation, an item's chain of custody, the
files of a report, the questions put to her), a ``position`` counts up within that
parent only: it tells the people who read that parent the order they see on its page
anyway, and nothing about any other report.
"""

from __future__ import annotations

import secrets

from django.db.models import Max, QuerySet

# Above every id the sequences gave before this change; below JavaScript's exact limit.
RANDOM_ID_FLOOR = 2**32
RANDOM_ID_CEILING = 2**53


def random_id() -> int:
    """A primary key drawn uniformly from [2**32, 2**53): no order, no time."""
    return RANDOM_ID_FLOOR + secrets.randbelow(RANDOM_ID_CEILING - RANDOM_ID_FLOOR)


def next_position(siblings: QuerySet) -> int:
    """The position after the last of ``siblings`` (1 for the first).

    Call it inside the transaction that creates the row, with the parent row locked
    (``select_for_update``): two rows added at once to one parent would otherwise get
    the same position."""
    return (siblings.aggregate(last=Max("position"))["last"] or 0) + 1
