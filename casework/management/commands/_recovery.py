from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from casework.models import Membership
from evidence import age


class RecoveryCommand(BaseCommand):
    """A command about one membership, run with the operator's offline recovery key."""

    def add_arguments(self, parser):
        parser.add_argument("organization", help="the organisation's short name (slug)")
        parser.add_argument("username")
        parser.add_argument("--recovery-identity", required=True, help="the recovery key file")

    def membership_and_key(self, options) -> tuple[Membership, age.X25519Identity]:
        found = Membership.objects.select_related("user", "organization").filter(
            organization__slug=options["organization"], user__username=options["username"]
        )
        if not found:
            raise CommandError(
                f"{options['username']} is not a member of {options['organization']}"
            )
        path = options["recovery_identity"]
        try:
            key = age.parse_identities(Path(path).read_text(encoding="utf-8"))[0]
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        except age.InvalidKey as exc:
            raise CommandError(f"{path} holds no age identity: {exc}") from None
        return found[0], key
