"""Her answer to a referral's question (reporting announces it; it never imports us).

``consent_answered`` is sent inside the transaction of her answer, so the referral moves
(offered to the organisation, or refused) and its workflow step is written with her
answer, or not at all.
"""

from __future__ import annotations

from django.dispatch import receiver

from casework import services
from reporting.signals import consent_answered


@receiver(consent_answered)
def _consent_answered(sender, report_id: int, request_id: int, granted: bool, **kwargs) -> None:
    services.record_her_answer(request_id, granted=granted)
