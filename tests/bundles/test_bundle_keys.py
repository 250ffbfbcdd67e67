"""The lawyer opens her bundle with her own key (issue 15, item 15).

The bundle used to be sealed to her legal clinic's key only, which lives on the platform
sealed to its members' passwords: no page said how to get it, and no standard tool could
use it.  Now she registers the public half of a key she made with ``age-keygen`` on a
page of hers, and the bundles she asks for are sealed to it as well.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import shlex
import subprocess
import sys
import tarfile

import pytest

from bundles import build
from bundles import recipients as bundle_recipients
from bundles.recipients import RecipientRefused
from casework import services
from casework.audit import Action
from casework.exceptions import NotAllowed
from casework.models import AuditEvent, Bundle, BundleRecipient, Membership
from evidence.age import read_header
from evidence.blobstore import blob_store
from tests.bundles.test_bundles import (  # noqa: F401 - fixtures
    ask_and_approve,
    key_of,
    referred,
    running_builder,
)
from tests.evidence.agetool import keygen, run, run_with_passphrase
from tests.support.cast import PASSWORD, signed_in_client
from tests.support.processes import bundle_builder, wait_until

State = Bundle.State
YUBIKEY = "age1yubikey1qwt50d05nh5vutpdzmlg5wn80xq5negm4uj9ghv0snvdd3yysf5yw3rhl3t"
SSH = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsfYF2VxqbPcOdGqOw2nR3E7Ss0X1Uj3a1Xl8JY7V0k me@laptop"


def marked(page: str, name: str) -> str:
    """The text of the element the page marks ``data-testid=name`` (tags dropped)."""
    found = re.search(rf'data-testid="{name}"[^>]*>(.*?)</(?:code|a|p|span|dd)>', page, re.S)
    assert found, f"no {name} on the page"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def href(page: str, name: str) -> str:
    found = re.search(rf'<a [^>]*href="([^"]+)"[^>]*data-testid="{name}"', page)
    assert found, f"no link {name} on the page"
    return html.unescape(found.group(1))


def link_to(page: str, text: str) -> str:
    found = re.search(rf'<a href="([^"]+)"[^>]*>{re.escape(text)}</a>', page)
    assert found, f"no link {text!r} on the page"
    return html.unescape(found.group(1))


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_lawyer_opens_her_bundle_with_age_and_the_key_she_registered(
    cast,
    referred,  # noqa: F811 - the fixture
    settings,
    tmp_path,
):
    """End to end, through the pages only: age-keygen, register, ask, the association
    approves, a real builder builds, download, ``age -d -i``, the verifier says VALID."""
    home = tmp_path / "her-computer"
    home.mkdir()
    made = subprocess.run(
        ["age-keygen", "-o", "key.txt"], cwd=home, capture_output=True, text=True, check=True
    )
    public_line = made.stderr.strip()  # "Public key: age1…", as the terminal shows it
    assert public_line.startswith("Public key: age1")

    lawyer = signed_in_client(cast.users["leila"])
    case_url = f"/fr/staff/cases/{referred.pk}/"
    case_page = lawyer.get(case_url).content.decode()

    # She asks before having a key: she is told first, and nothing is asked yet.
    asked = lawyer.post(f"{case_url}bundles/")
    page = asked.content.decode()
    assert asked.status_code == 200
    assert "aucune clé" in marked(page, "bundle-no-key")
    assert not Bundle.objects.exists()

    # The page she is sent to (also in the menu of every staff page) registers her key.
    keys_url = href(page, "register-key")
    assert link_to(case_page, "Mes clés") == keys_url.split("?")[0]
    keys_page = lawyer.get(keys_url).content.decode()
    assert "age-keygen -o key.txt" in keys_page
    registered = lawyer.post(keys_url, {"recipient": public_line, "label": "Portable du cabinet"})
    assert registered.status_code == 302
    keys_page = lawyer.get(registered["Location"]).content.decode()
    assert public_line.removeprefix("Public key: ") in keys_page

    # Now the request goes straight through, and the bundle page names her key.
    asked = lawyer.post(f"{case_url}bundles/")
    assert asked.status_code == 302
    bundle = Bundle.objects.get()
    bundle_url = asked["Location"]
    assert "Portable du cabinet" in marked(
        lawyer.get(bundle_url).content.decode(), "bundle-will-seal"
    )

    with bundle_builder(settings, tmp_path) as (_, log):
        association = signed_in_client(cast.users["alice"])
        approved = association.post(f"{case_url}bundles/{bundle.uuid}/approve/")
        assert approved.status_code == 302
        wait_until(
            lambda: Bundle.objects.get(pk=bundle.pk).state in ("ready", "failed"),
            timeout=60,
            what="the bundle to be built",
        )
    bundle.refresh_from_db()
    assert bundle.state == State.READY, (bundle.failure, log.read_text()[-3000:])

    # What the page gives her: the file, its digest, the commands, the verifier and key.
    page = lawyer.get(bundle_url).content.decode()
    response = lawyer.get(href(page, "bundle-download"))
    sealed = home / bundle.file_name
    sealed.write_bytes(b"".join(response.streaming_content))
    assert hashlib.sha256(sealed.read_bytes()).hexdigest() == marked(page, "bundle-sha256")
    for name in ("verify_bundle.py", "signing-key.pem"):
        served = lawyer.get(link_to(page, name))
        body = b"".join(served.streaming_content) if served.streaming else served.content
        (home / name).write_bytes(body)

    open_command = shlex.split(marked(page, "bundle-open-command"))
    assert open_command[:3] == ["age", "-d", "-i"]
    opened = subprocess.run(open_command, cwd=home, capture_output=True, timeout=120)
    assert opened.returncode == 0, opened.stderr.decode()
    subprocess.run(["tar", "-xf", "bundle.tar"], cwd=home, check=True)
    (bag,) = [path for path in home.glob(f"bundle-{referred.reference}-*") if path.is_dir()]
    assert (bag / "data/case-summary.pdf").exists()

    verify_command = shlex.split(marked(page, "bundle-verify-command"))
    assert verify_command[:2] == ["python3", "verify_bundle.py"]
    verified = subprocess.run(
        [sys.executable, *verify_command[1:]], cwd=home, capture_output=True, text=True
    )
    assert verified.returncode == 0, verified.stdout[-2000:]
    assert verified.stdout.strip().splitlines()[-1].startswith("VALID")


@pytest.mark.django_db
def test_a_bundle_is_sealed_to_each_of_her_keys_and_still_to_her_organisation(
    cast,
    referred,  # noqa: F811 - the fixture
    running_builder,  # noqa: F811 - the fixture
    tmp_path,
):
    leila = cast.users["leila"]
    keys = [keygen(), keygen()]
    for number, (_, recipient) in enumerate(keys):
        bundle_recipients.add_recipient(actor=leila, text=recipient, label=f"clé {number}")
    bundle = ask_and_approve(cast, referred)
    assert build.build_bundle(bundle.pk) == "built"
    bundle.refresh_from_db()
    assert [r["recipient"] for r in bundle.sealed_to] == [r for _, r in keys]

    sealed = tmp_path / "bundle.age"
    with blob_store().open(bundle.blob_key) as stored:
        sealed.write_bytes(stored.read())
    assert len(read_header(io.BytesIO(sealed.read_bytes())).stanzas) == 3
    clinic = services.organization_identity(cast.orgs["clinic"], key_of(leila))
    for identity in [identity for identity, _ in keys] + [str(clinic)]:
        key_file = tmp_path / "key.txt"
        key_file.write_text(f"{identity}\n")
        assert run("-d", "-i", key_file, sealed).returncode == 0

    page = (
        signed_in_client(leila)
        .get(f"/fr/staff/cases/{referred.pk}/bundles/{bundle.uuid}/")
        .content.decode()
    )
    assert "clé 0" in marked(page, "bundle-sealed-to")
    # The association sees the state, not the names of the lawyer's computers.
    holder = signed_in_client(cast.users["alice"])
    seen = holder.get(f"/fr/staff/cases/{referred.pk}/bundles/{bundle.uuid}/").content.decode()
    assert "clé 0" not in seen
    assert 'data-testid="bundle-org-key-only"' not in page


@pytest.mark.django_db
def test_without_a_key_of_her_own_the_ready_page_says_she_cannot_open_it(
    cast,
    referred,  # noqa: F811 - the fixture
    running_builder,  # noqa: F811 - the fixture
):
    bundle = ask_and_approve(cast, referred)
    build.build_bundle(bundle.pk)
    page = (
        signed_in_client(cast.users["leila"])
        .get(f"/fr/staff/cases/{referred.pk}/bundles/{bundle.uuid}/")
        .content.decode()
    )
    assert "aucun outil standard" in marked(page, "bundle-org-key-only")
    assert "/fr/staff/my-keys/" in page


@pytest.mark.django_db
def test_a_key_registered_after_she_left_the_clinic_is_not_used(
    cast,
    referred,  # noqa: F811 - the fixture
    running_builder,  # noqa: F811 - the fixture
):
    leila = cast.users["leila"]
    bundle_recipients.add_recipient(actor=leila, text=keygen()[1])
    bundle = ask_and_approve(cast, referred)
    Membership.objects.filter(user=leila).delete()
    build.build_bundle(bundle.pk)
    bundle.refresh_from_db()
    assert bundle.state == State.READY
    assert bundle.sealed_to == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "pasted", "words"),
    [
        (
            "fr",
            "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
            "secrète",
        ),
        ("fr", YUBIKEY, "clés matérielles"),
        ("fr", SSH, "SSH"),
        ("fr", "age1notakey", "n'est pas une clé publique age"),
        ("ar", YUBIKEY, "المفاتيح المادية"),
        ("ar", "hello", "ليس مفتاحاً عاماً"),
        (
            "en",
            "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
            "secret half",
        ),
        # The whole key file pasted, longer than the field allows: still not shown again.
        (
            "fr",
            "# created: 2026-12-07T13:00:00Z\n# public key: age1qqqq\nAGE-SECRET-KEY-1" + "Q" * 300,
            "secrète",
        ),
    ],
)
def test_what_is_not_an_age_recipient_is_refused_in_her_language(cast, language, pasted, words):
    lawyer = signed_in_client(cast.users["leila"], language=language)
    response = lawyer.post(f"/{language}/staff/my-keys/", {"recipient": pasted})
    page = html.unescape(response.content.decode())
    assert response.status_code == 400
    assert words in page
    if "AGE-SECRET" in pasted:
        assert "AGE-SECRET-KEY-1Q" not in page  # her secret is not shown again, nor kept
    assert not BundleRecipient.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.BUNDLE_RECIPIENT_ADDED).exists()


@pytest.mark.django_db
def test_adding_and_removing_a_key_is_audited_and_only_she_can_remove_hers(cast):
    leila = cast.users["leila"]
    _, recipient = keygen()
    lawyer = signed_in_client(leila)
    # Pasted in capitals, with spaces: the same key.
    lawyer.post("/fr/staff/my-keys/", {"recipient": f"  {recipient.upper()} ", "label": "Bureau"})
    row = BundleRecipient.objects.get(user=leila)
    assert row.recipient == recipient
    again = lawyer.post("/fr/staff/my-keys/", {"recipient": recipient})
    assert "déjà enregistrée" in html.unescape(again.content.decode())

    added = AuditEvent.objects.get(action=Action.BUNDLE_RECIPIENT_ADDED)
    assert added.actor == "leila"
    assert added.organization_id == cast.orgs["clinic"].pk
    assert added.detail["recipient"] == recipient

    # Nobody else removes it; a caseworker has no such page at all.
    alice = signed_in_client(cast.users["alice"])
    assert alice.post(f"/fr/staff/my-keys/{row.pk}/remove/").status_code == 404
    assert alice.get("/fr/staff/my-keys/").status_code == 403
    assert "/fr/staff/my-keys/" not in alice.get("/fr/staff/").content.decode()
    assert BundleRecipient.objects.filter(pk=row.pk).exists()

    assert lawyer.post(f"/fr/staff/my-keys/{row.pk}/remove/").status_code == 302
    assert not BundleRecipient.objects.exists()
    removed = AuditEvent.objects.get(action=Action.BUNDLE_RECIPIENT_REMOVED)
    assert removed.detail["recipient"] == recipient


@pytest.mark.django_db
def test_at_most_ten_keys_and_a_caseworker_cannot_register_any(cast):
    leila = cast.users["leila"]
    for _ in range(bundle_recipients.MOST):
        bundle_recipients.add_recipient(actor=leila, text=keygen()[1])
    with pytest.raises(RecipientRefused, match="too_many"):
        bundle_recipients.add_recipient(actor=leila, text=keygen()[1])
    with pytest.raises(NotAllowed):
        bundle_recipients.add_recipient(actor=cast.users["alice"], text=keygen()[1])


@pytest.mark.django_db
def test_a_bundle_sealed_to_her_organisation_only_opens_with_its_key_taken_under_a_passphrase(
    cast,
    referred,  # noqa: F811 - the fixture
    running_builder,  # noqa: F811 - the fixture
    tmp_path,
):
    """The second way: her organisation's key as an age identity file under her own
    passphrase, which ``age -d -i`` asks for (a real terminal, as she would type it)."""
    bundle = ask_and_approve(cast, referred)
    build.build_bundle(bundle.pk)
    bundle.refresh_from_db()
    lawyer = signed_in_client(cast.users["leila"])
    page = lawyer.get(f"/fr/staff/cases/{referred.pk}/bundles/{bundle.uuid}/").content.decode()
    assert "#org-key" in page
    keys_page = lawyer.get("/fr/staff/my-keys/").content.decode()
    assert "clinic-key.age" in marked(keys_page, "org-key-command")

    url = "/fr/staff/my-keys/organisation-key/"
    refused = {
        "au moins 12": {"passphrase": "court", "again": "court"},
        "mot de passe de connexion": {"passphrase": PASSWORD, "again": PASSWORD},
        "diffèrent": {"passphrase": "une longue phrase", "again": "une autre phrase"},
    }
    for words, posted in refused.items():
        response = lawyer.post(url, posted)
        assert response.status_code == 400
        page = html.unescape(response.content.decode())
        assert words in page, words
    assert not AuditEvent.objects.filter(action=Action.ORGANIZATION_KEY_EXPORTED).exists()

    passphrase = "cèdre bleu sur la colline de Fès"
    response = lawyer.post(url, {"passphrase": passphrase, "again": passphrase})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="clinic-key.age"'
    assert response["Cache-Control"] == "no-store"
    key_file = tmp_path / "clinic-key.age"
    key_file.write_bytes(response.content)
    assert b"AGE-SECRET-KEY" not in response.content  # sealed, not the key in clear
    exported = AuditEvent.objects.get(action=Action.ORGANIZATION_KEY_EXPORTED)
    assert exported.actor == "leila"

    sealed = tmp_path / bundle.file_name
    with blob_store().open(bundle.blob_key) as stored:
        sealed.write_bytes(stored.read())
    out = tmp_path / "bundle.tar"
    status = run_with_passphrase(
        ["-d", "-i", key_file, "-o", out, sealed], passphrase=passphrase, prompts=1
    )
    assert status == 0
    with tarfile.open(out) as tar:
        assert any(name.endswith("data/case-summary.pdf") for name in tar.getnames())

    # A caseworker of the association has no such key to take.
    alice = signed_in_client(cast.users["alice"])
    assert alice.post(url, {"passphrase": passphrase, "again": passphrase}).status_code == 403
