"""What the API answers besides each operation's own answers, added to the OpenAPI
schema that drf-spectacular writes (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``).

drf-spectacular describes what a view says it answers.  Some answers come from Django
REST framework itself, before or around the view's code, and are the same for every
operation of a kind: a body that is not JSON (or not a form) is refused with
``{"detail": ...}``, a body of another media type with 415, and the intake and the
receipt code are rate-limited (reporting/throttle.py) with 429 and ``Retry-After``.
A client generated from the schema, and the schema fuzzing in tests/test_api_schema.py,
rely on every answer being described: they are described here, once.
"""

from __future__ import annotations

import copy
from typing import Any

ERROR = "Error"  # reporting.serializers.ErrorSerializer: {"detail": "..."}
VALIDATION_ERRORS_NAME = "ValidationErrors"
# DRF's validation errors, for a view's ``400`` (OpenApiResponse takes a raw schema).
VALIDATION_ERRORS = {"$ref": f"#/components/schemas/{VALIDATION_ERRORS_NAME}"}

_ERROR_REF = {"$ref": f"#/components/schemas/{ERROR}"}
_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, in the request's language."}
    },
    "required": ["detail"],
}
_VALIDATION_ERRORS_SCHEMA = {
    "type": "object",
    "description": "Each field in error, named, with its messages in the request's "
    "language.  Errors inside a list are named by the item's index, in the same shape: "
    '`{"tags": {"2": ["..."]}}`.  `non_field_errors` holds what is wrong with the body '
    "as a whole (not an object, say).",
    "additionalProperties": {
        "oneOf": [
            {"type": "array", "items": {"type": "string"}},
            VALIDATION_ERRORS,
        ]
    },
}

# Rate-limited operations (reporting/throttle.py): filing, and everything that tries a
# receipt code.  Never by address: across the whole site.
THROTTLED = {"reports_file", "reports_evidence_add", "reports_mine"}

_METHODS = {"get", "put", "post", "patch", "delete"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _with_parse_error(response: dict[str, Any]) -> dict[str, Any]:
    """The view's 400, or DRF's answer to a body it could not read at all."""
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    alternatives = [schema or VALIDATION_ERRORS, _ERROR_REF]
    # Copies: a YAML rendering would otherwise write shared objects as anchors.
    return copy.deepcopy(
        {
            "description": (response.get("description") or "The request was refused.")
            + " A body that could not be read at all (not JSON, not a form) is refused "
            "with `detail` instead.",
            "content": _json({"oneOf": alternatives}),
        }
    )


UNSUPPORTED_MEDIA_TYPE = {
    "description": "The body is not of the media type this operation reads.",
    "content": _json(_ERROR_REF),
}
TOO_MANY_REQUESTS = {
    "description": "Too many attempts across the site for now (never counted by "
    "address): nothing was done.  Try again after `Retry-After` seconds.",
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
    },
    "content": _json(_ERROR_REF),
}


def document_error_answers(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: add the answers DRF gives for every
    operation of a kind, and the shapes of its error bodies."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(ERROR, copy.deepcopy(_ERROR_SCHEMA))
    schemas[VALIDATION_ERRORS_NAME] = copy.deepcopy(_VALIDATION_ERRORS_SCHEMA)
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation:
                responses["400"] = _with_parse_error(responses.get("400", {}))
                responses["415"] = copy.deepcopy(UNSUPPORTED_MEDIA_TYPE)
            if operation.get("operationId") in THROTTLED:
                responses["429"] = copy.deepcopy(TOO_MANY_REQUESTS)
            operation["responses"] = dict(sorted(responses.items()))
    return result
