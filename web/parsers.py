"""The JSON parser of every API endpoint: nesting deeper than any answer of ours needs is
bad input (a 400 with a message in the visitor's language), never a server error.

Python's json module recurses once per bracket, so a body of a thousand ``[`` ends in a
RecursionError (a 500) before DRF's own parser can turn it into a ParseError; and a body
just shallow enough to parse would still recurse through every later walk of the data.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# No request of ours nests deeper than a list inside an object; 32 leaves room.
MAX_DEPTH = 32


def _too_deep() -> ParseError:
    return ParseError(_("The request is nested too deeply."))


def _depth_exceeds(data: Any, limit: int) -> bool:
    # Iterative on purpose: a recursive walk would fail the same way as the parser.
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return False


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise _too_deep() from None
        if _depth_exceeds(data, MAX_DEPTH):
            raise _too_deep()
        return data
