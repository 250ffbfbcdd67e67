"""Who sees which bundle, and what a bundle reads.  Reads only: every state change is in
bundles/services.py (the web's) or bundles/build.py (the builder's).

A bundle is seen through its case: the case's own organisation sees all of its bundles,
a legal partner the case was referred to (and that accepted) sees her organisation's,
and anyone else none, as if the bundle did not exist (a 404, as casework/selectors.py
does for cases).
"""

from __future__ import annotations

from casework.models import Bundle, Case, CaseNote, Membership, Organization, User
from casework.selectors import Access, reading_access

BundleState = Bundle.State
# A bundle on its way: while one is, her organisation cannot ask for another.
OPEN = [BundleState.REQUESTED, BundleState.PENDING, BundleState.BUILDING]


def lawyer_access(case: Case, user: User) -> Access | None:
    """Her access to the case as a member of a legal partner it was referred to (and
    accepted), in a role that asks for bundles; None otherwise."""
    access = reading_access(user, case)
    if access is None or access.via != Access.REFERRAL:
        return None
    membership = access.membership
    if membership.organization.kind != Organization.Kind.LEGAL_PARTNER:
        return None
    if membership.role not in (Membership.Role.LEGAL_PARTNER, Membership.Role.ORG_ADMIN):
        return None
    return access


def bundles_of(case: Case, user: User) -> list[Bundle]:
    """The bundles of this case she may see: all of them for the case's organisation,
    her own organisation's for a legal partner; none for anyone else."""
    access = reading_access(user, case)
    if access is None:
        return []
    found = Bundle.objects.filter(case=case).select_related("requested_by", "approved_by")
    if access.is_owner:
        return list(found)
    if lawyer_access(case, user) is not None:
        return list(found.filter(organization=access.organization))
    return []


def bundle_for(case: Case, user: User, bundle_uuid) -> Bundle:
    """One bundle of the case she may see, or Bundle.DoesNotExist (a 404)."""
    for bundle in bundles_of(case, user):
        if str(bundle.uuid) == str(bundle_uuid):
            return bundle
    raise Bundle.DoesNotExist(bundle_uuid)


def may_ask_again(case: Case, user: User, seen: list[Bundle]) -> bool:
    """Whether she may ask for a bundle of this case now (``seen``: the bundles of it she
    sees): a legal partner's, the case not erased, none of hers on its way."""
    return (
        lawyer_access(case, user) is not None
        and case.erased_at is None
        and not any(bundle.state in OPEN for bundle in seen)
    )


def lent_objects(bundle: Bundle) -> list:
    """Every sealed object the bundle reads: her words, each file's original, working
    copy and note, and the conversation and the notes if the approver included them.
    Approval lends the builder each of them; the build reads them and gives them back."""
    report = bundle.case.report
    objects = [report.content]
    for item in report.evidence.select_related("original", "working_copy", "note"):
        objects += [item.original, item.working_copy, item.note]
    if bundle.include_messages:
        objects += [m.body for m in report.messages.select_related("body")]
    if bundle.include_notes:
        objects += [
            n.body for n in CaseNote.objects.filter(case=bundle.case).select_related("body")
        ]
    return [obj for obj in objects if obj is not None and not obj.is_erased]


def bundle_files_in_use(keys: list[str]) -> list[str]:
    """Which of these blob keys are built bundles still waiting to be downloaded (the
    orphan sweep asks: a bundle file has no SealedObject row of its own)."""
    return list(
        Bundle.objects.filter(blob_key__in=keys, state=BundleState.READY).values_list(
            "blob_key", flat=True
        )
    )
