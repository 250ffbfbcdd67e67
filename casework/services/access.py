"""What an act on a case needs of whoever does it, beyond seeing the case: the guards
every casework service shares, and the one key they all open.

The selectors hand a case only to those who may see it (casework/selectors.py); these
say what each act asks more, and refuse with the exceptions the pages and the API answer
in one place each (casework/views/refusals.py, casework/api.py): ``NotAllowed`` for a
role that does not allow the act, ``KeyLocked`` for a key this session does not hold
open, ``CaseErased`` for a case retention erased.
"""

from __future__ import annotations

from django.utils import timezone

from casework import selectors
from casework.exceptions import CaseErased, KeyAccessDenied, KeyLocked, NotAllowed
from casework.models import Case, Membership, Organization, User
from casework.services.members import organization_identity
from evidence import keys


def _membership(case: Case, actor: User) -> Membership:
    membership = Membership.objects.filter(user=actor, organization_id=case.organization_id).first()
    if membership is None:
        # The selectors never hand a case to an outsider; reaching this is a bug.
        raise NotAllowed("case", case.pk)
    return membership


def require_case_worker(case: Case, actor: User) -> Membership:
    """Her membership in the case's own organisation, in a role that works cases; a
    reader from another organisation (a referral, the coordination) is refused."""
    membership = _membership(case, actor)
    if not membership.can_work_cases:
        raise NotAllowed("work", case.pk)
    return membership


def require_case_reader(case: Case, actor: User) -> selectors.Access:
    """Her access to the case: as its organisation's member, or through a referral her
    organisation accepted, or as the coordination."""
    access = selectors.reading_access(actor, case)
    if access is None:
        # The selectors never hand a case to someone who may not read it; reaching this
        # is a bug.
        raise NotAllowed("case", case.pk)
    return access


def require_not_erased(case: Case) -> None:
    """Retention erased her words and her key: nothing of the case opens, and nothing
    new may be sealed about her."""
    if case.erased_at is not None:
        raise CaseErased(case.pk)


def open_organization_key(
    case: Case, identity: keys.Identity | None, *, organization: Organization | None = None
) -> keys.Identity:
    """The key of ``organization`` (by default the case's), opened with her key: a
    reader from another organisation reads with her own organisation's key, which the
    report's headers were re-issued to."""
    organization = organization or case.organization
    if identity is None:
        raise KeyLocked(organization.pk)
    try:
        return organization_identity(organization, identity)
    except KeyAccessDenied as exc:  # her key is not (yet) one the organisation's opens
        raise KeyLocked(organization.pk) from exc


def note_member_activity(case: Case) -> None:
    """A member acted on the case: beat's reminder counts from now (never from her acts,
    whose times stay to the hour)."""
    Case.objects.filter(pk=case.pk).update(last_activity_at=timezone.now())
