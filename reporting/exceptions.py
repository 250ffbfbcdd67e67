class ReceiptNotFound(Exception):
    """No report answers to this receipt code (mistyped, or erased)."""


class IntakeUnavailable(Exception):
    """No organisation can receive a report yet (none holds a key): the operator must
    set one up before reports can be accepted."""


class ReportChanged(Exception):
    """What her browser re-issued was for her report as it was: something was added to
    it, or someone else now reads it, since (her page fetches it again)."""
