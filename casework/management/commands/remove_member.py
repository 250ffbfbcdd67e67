from django.core.management.base import BaseCommand, CommandError

from casework import services
from casework.exceptions import KeyAccessDenied, LastKeyHolder
from casework.management.commands._recovery import membership, recovery_identity


class Command(BaseCommand):
    help = (
        "Remove a member and re-seal the organisation's key without her, with the "
        "operator's recovery identity: manage.py remove_member ORG USER --recovery-identity FILE"
    )

    def add_arguments(self, parser):
        parser.add_argument("organization", help="the organisation's short name (slug)")
        parser.add_argument("username")
        parser.add_argument("--recovery-identity", required=True, help="the recovery key file")

    def handle(self, *args, **options):
        member = membership(options["organization"], options["username"])
        try:
            services.remove_member(
                member, unlocked_by=recovery_identity(options["recovery_identity"])
            )
        except KeyAccessDenied:
            raise CommandError("this recovery key does not open the organisation's key") from None
        except LastKeyHolder:
            raise CommandError("she is the last key holder: nobody could open its cases") from None
        self.stdout.write(f"{member.user} removed; the key of {member.organization} re-sealed.")
