class KeyAccessDenied(Exception):
    """The key offered does not open this organisation's key."""


class LastKeyHolder(Exception):
    """Removing this member would leave nobody (and no recovery key) able to open the
    organisation's key, and so its cases."""


class WrongPassword(Exception):
    """The current password given does not open the account's key."""
