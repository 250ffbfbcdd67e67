class SealedObjectErased(Exception):
    """The object was crypto-erased: nobody can open it any more."""


class CannotOpen(Exception):
    """None of the caller's keys opens this object."""
