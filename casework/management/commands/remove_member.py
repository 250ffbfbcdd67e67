from django.core.management.base import CommandError

from casework import services
from casework.exceptions import KeyAccessDenied, LastKeyHolder
from casework.management.commands._recovery import RecoveryCommand


class Command(RecoveryCommand):
    help = (
        "Remove a member and re-seal the organisation's key without her, with the "
        "operator's recovery identity: manage.py remove_member ORG USER --recovery-identity FILE"
    )

    def handle(self, *args, **options):
        member, recovery_key = self.membership_and_key(options)
        try:
            services.remove_member(member, unlocked_by=recovery_key)
        except KeyAccessDenied:
            raise CommandError("this recovery key does not open the organisation's key") from None
        except LastKeyHolder:
            raise CommandError("she is the last key holder: nobody could open its cases") from None
        self.stdout.write(f"{member.user} removed; the key of {member.organization} re-sealed.")
