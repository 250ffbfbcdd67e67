class ReceiptNotFound(Exception):
    """No report answers to this receipt code (mistyped, or erased)."""
