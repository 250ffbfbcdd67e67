"""In Chromium: the lawyer asks for a bundle, the page follows its building by reloading
itself (no script), and she downloads the file once it is ready."""

from __future__ import annotations

import pytest

from bundles import build, builder
from bundles import services as bundle_services
from casework.models import Bundle
from tests.bundles.test_bundles import key_of, referred  # noqa: F401 - the fixture
from tests.evidence.agetool import keygen
from tests.support.cast import signed_in_client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_lawyer_follows_her_bundle_and_downloads_it(browser, live_server, cast, referred):  # noqa: F811 - the fixture
    builder.become_builder("pytest-browser-builder@localhost")
    try:
        client = signed_in_client(cast.users["leila"])
        lawyer = browser.new_context(java_script_enabled=False, accept_downloads=True)
        lawyer.add_cookies(
            [
                {"name": name, "value": morsel.value, "url": live_server.url}
                for name, morsel in client.cookies.items()
            ]
        )
        page = lawyer.new_page()
        page.goto(f"{live_server.url}/fr/staff/cases/{referred.pk}/")
        # Without a key of her own she is told before anything is asked, and sent to
        # the page where she registers one (what age-keygen printed, pasted whole).
        page.get_by_role("button", name="Demander un dossier de preuves").click()
        assert "aucune clé personnelle" in page.get_by_test_id("bundle-no-key").inner_text()
        assert not Bundle.objects.exists()
        page.get_by_test_id("register-key").click()
        _, recipient = keygen()
        page.get_by_label("Votre clé publique").fill(f"Public key: {recipient}")
        page.get_by_label("Un nom pour elle").fill("Portable")
        page.get_by_role("button", name="Enregistrer cette clé").click()
        assert recipient in page.get_by_test_id("my-key").inner_text()
        page.get_by_role("link", name="Retour au dossier").click()
        page.get_by_role("button", name="Demander un dossier de preuves").click()
        assert "En attente d'approbation" in page.get_by_test_id("bundle-state").inner_text()

        bundle = Bundle.objects.get()
        alice = cast.users["alice"]
        bundle_services.approve_bundle(bundle, actor=alice, identity=key_of(alice))
        page.reload()
        assert page.locator('meta[http-equiv="refresh"]').count() == 1
        assert build.build_bundle(bundle.pk) == "built"
        # No click: the page reloads itself and shows the file.
        page.get_by_test_id("bundle-download").wait_for(timeout=10_000)
        assert page.get_by_test_id("bundle-state").inner_text() == "Prêt"
        with page.expect_download() as download:
            page.get_by_test_id("bundle-download").click()
        bundle.refresh_from_db()
        path = download.value.path()
        assert path.stat().st_size == bundle.size
        assert download.value.suggested_filename == bundle.file_name
        assert "Portable" in page.get_by_test_id("bundle-sealed-to").inner_text()
        lawyer.close()
    finally:
        builder.stop_building()
