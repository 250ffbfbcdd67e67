"""The two public files anyone checking an evidence bundle needs, at stable addresses
with no language prefix (config/urls.py): the platform's public signing key and the
standalone verifier.  Nothing here reads a report or a case: a court's expert fetches
them with no account, and they are the same for every bundle the platform signed."""

from __future__ import annotations

from pathlib import Path

from django.http import FileResponse, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from evidence import bundles

VERIFIER = Path(__file__).resolve().parent / "verify_bundle.py"


@require_GET
def signing_key(request: HttpRequest) -> HttpResponse:
    """The platform's public signing key: what a bundle's signature is checked against."""
    return HttpResponse(bundles.public_key_pem(), content_type="text/plain; charset=utf-8")


@require_GET
def verifier(request: HttpRequest) -> HttpResponse:
    """The standalone verifier (Python 3 and `cryptography`), to check a bundle anywhere."""
    return FileResponse(
        VERIFIER.open("rb"),
        as_attachment=True,
        filename="verify_bundle.py",
        content_type="text/x-python",
    )
