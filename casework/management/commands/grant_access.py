from django.core.management.base import CommandError

from casework import services
from casework.exceptions import KeyAccessDenied
from casework.management.commands._recovery import RecoveryCommand


class Command(RecoveryCommand):
    help = (
        "Seal an organisation's key to a member who waits for access, with the operator's "
        "offline recovery identity: manage.py grant_access ORG USER --recovery-identity FILE"
    )

    def handle(self, *args, **options):
        member, recovery_key = self.membership_and_key(options)
        try:
            services.grant_key_access(member, unlocked_by=recovery_key)
        except KeyAccessDenied:
            raise CommandError(
                "this recovery key does not open the organisation's key (was it sealed before "
                "EVIDENCE_RECOVERY_RECIPIENT was set?)"
            ) from None
        self.stdout.write(f"{member.user} now holds access to {member.organization}.")
