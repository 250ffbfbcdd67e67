import pytest

from casework import services as casework
from casework.models import Membership, Organization, User


@pytest.fixture
def coordinator_key(db):
    """The national coordination, holding a key, and that key opened by its member."""
    org = Organization.objects.create(
        name="Coordination", slug="coordination", kind=Organization.Kind.NATIONAL_COORDINATOR
    )
    member = User(username="coordinator")
    member.set_password("long enough password")
    member.save()
    casework.add_member(org, member, role=Membership.Role.TRIAGE_LEAD, unlocked_by=None)
    org.refresh_from_db()
    return casework.organization_identity(
        org, casework.unlock_member_key(member, "long enough password")
    )
