from django.core.management.base import BaseCommand, CommandError

from casework import services
from casework.exceptions import KeyAccessDenied
from casework.management.commands._recovery import membership, recovery_identity


class Command(BaseCommand):
    help = (
        "Seal an organisation's key to a member who waits for access, with the operator's "
        "offline recovery identity: manage.py grant_access ORG USER --recovery-identity FILE"
    )

    def add_arguments(self, parser):
        parser.add_argument("organization", help="the organisation's short name (slug)")
        parser.add_argument("username")
        parser.add_argument("--recovery-identity", required=True, help="the recovery key file")

    def handle(self, *args, **options):
        member = membership(options["organization"], options["username"])
        try:
            services.grant_key_access(
                member, unlocked_by=recovery_identity(options["recovery_identity"])
            )
        except KeyAccessDenied:
            raise CommandError(
                "this recovery key does not open the organisation's key (was it sealed before "
                "EVIDENCE_RECOVERY_RECIPIENT was set?)"
            ) from None
        self.stdout.write(f"{member.user} now holds access to {member.organization}.")
