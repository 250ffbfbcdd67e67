from pathlib import Path

from django.core.management.base import CommandError

from casework.models import Membership
from evidence import age


def recovery_identity(path: str) -> age.X25519Identity:
    try:
        return age.parse_identities(Path(path).read_text(encoding="utf-8"))[0]
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    except age.InvalidKey as exc:
        raise CommandError(f"{path} holds no age identity: {exc}") from None


def membership(organization: str, username: str) -> Membership:
    found = Membership.objects.select_related("user", "organization").filter(
        organization__slug=organization, user__username=username
    )
    if not found:
        raise CommandError(f"{username} is not a member of {organization}")
    return found[0]
