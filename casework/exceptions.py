class KeyAccessDenied(Exception):
    """The key offered does not open this organisation's key."""


class LastKeyHolder(Exception):
    """Removing this member would leave nobody (and no recovery key) able to open the
    organisation's key, and so its cases."""


class WrongPassword(Exception):
    """The current password given does not open the account's key."""


class NotAllowed(Exception):
    """The member's role does not allow this act on this organisation's case."""


class TransitionRefused(Exception):
    """The case cannot move from its current status to the one asked for."""


class CaseErased(Exception):
    """Retention erased what was sealed of this case: nobody can open it any more."""


class KeyLocked(Exception):
    """The act needs the member's key, and this session does not hold it open."""


class OutcomeMissing(Exception):
    """A case is closed with one of ``Case.Outcome``'s reasons, and none was given."""
