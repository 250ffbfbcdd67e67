"""Form posts from a browser that hides where it came from (Referrer-Policy: no-referrer).

Such a browser posts with ``Origin: null`` and no ``Referer``; ``Sec-Fetch-Site``, which
no page can forge, tells whether the form was this site's own.  Over HTTPS, as in
production.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

STEP = "/fr/report/step/urgency/"


def post_step(**headers: str) -> int:
    client = Client(enforce_csrf_checks=True)
    page = client.get(STEP, secure=True).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(
        STEP,
        {"urgency": ["images_spreading"], "category": "threats", "csrfmiddlewaretoken": token},
        secure=True,
        **headers,
    )
    return response.status_code


def test_her_own_form_posted_with_a_hidden_origin_goes_through():
    assert post_step(HTTP_ORIGIN="null", HTTP_SEC_FETCH_SITE="same-origin") == 302


@pytest.mark.parametrize("fetch_site", ["cross-site", "same-site", "none"])
def test_a_hidden_origin_from_another_site_is_refused(fetch_site):
    assert post_step(HTTP_ORIGIN="null", HTTP_SEC_FETCH_SITE=fetch_site) == 403


def test_another_sites_form_is_refused_by_its_origin():
    assert post_step(HTTP_ORIGIN="https://evil.example", HTTP_SEC_FETCH_SITE="cross-site") == 403


def test_an_old_browser_sending_no_origin_header_at_all_is_judged_by_its_token():
    assert post_step() == 302
    assert post_step(HTTP_ORIGIN="null") == 302


def test_a_post_without_the_token_is_refused_even_from_the_same_origin():
    client = Client(enforce_csrf_checks=True)
    client.get(STEP, secure=True)
    response = client.post(
        STEP,
        {"urgency": ["images_spreading"]},
        secure=True,
        HTTP_ORIGIN="null",
        HTTP_SEC_FETCH_SITE="same-origin",
    )
    assert response.status_code == 403
