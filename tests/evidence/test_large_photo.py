"""A camera's 60-megapixel photo is evidence like any other: filed, its original sealed
as received, and a downscaled working copy for the caseworker to look at.  It used to be
refused whole, and her report with it."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from evidence.models import CustodyEvent
from tests.evidence.test_images import sixty_megapixels
from tests.support.cast import file_report

pytestmark = pytest.mark.django_db


def test_a_sixty_megapixel_photo_is_kept_and_shown_downscaled(cast):
    photo = sixty_megapixels().getvalue()

    report, _ = file_report(files=(("IMG_0042.jpg", photo),))

    (item,) = report.evidence.all()
    assert item.kind == "image"
    assert item.size == len(photo)
    assert item.sha256 == hashlib.sha256(photo).hexdigest()  # the original, every pixel
    assert item.working_copy_id is not None
    made = item.custody.get(action=CustodyEvent.Action.WORKING_COPY_MADE)
    assert (made.detail["width"], made.detail["height"]) == (4_500, 3_350)

    response = cast.client("alice").get(
        f"/fr/staff/cases/{report.case.pk}/evidence/{item.pk}/view/"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    shown = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert shown.size == (4_500, 3_350)


def test_a_large_png_is_kept_as_its_original_only(cast):
    large = io.BytesIO()
    Image.new("1", (8_000, 7_000)).save(large, "PNG")

    report, _ = file_report(files=(("capture.png", large.getvalue()),))

    (item,) = report.evidence.all()
    assert item.working_copy_id is None
    refused = item.custody.get(action=CustodyEvent.Action.WORKING_COPY_REFUSED)
    assert refused.detail == {"reason": "too_large_to_process"}
