from django.conf import settings
from django.core import checks

from evidence import age


@checks.register(checks.Tags.security)
def recovery_recipient_is_valid(app_configs, **kwargs):
    value = settings.EVIDENCE_RECOVERY_RECIPIENT
    if value is None:
        return []
    try:
        age.X25519Recipient.parse(value)
    except age.InvalidKey:
        return [
            checks.Error(
                "EVIDENCE_RECOVERY_RECIPIENT is not an age1... recipient.",
                hint="Print the recipient of the offline key with: age-keygen -y recovery.txt",
                id="evidence.E001",
            )
        ]
    return []
