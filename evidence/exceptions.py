class SealedObjectErased(Exception):
    """The object was crypto-erased: nobody can open it any more."""


class CannotOpen(Exception):
    """None of the caller's keys opens this object."""


class UploadRefused(Exception):
    """An upload that passed the type check turned out unsafe to keep (an image that
    decodes to more pixels than anyone's photo: a decompression bomb)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(reason)
        self.name = name
        self.reason = reason


class NotAcceptable(Exception):
    """Something her browser sealed is not in the form the server accepts (checked
    without any key: the header, its stanzas, the sizes).  ``reason`` names what."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UploadNotFound(Exception):
    """No resumable upload at that address for this owner (unknown, someone else's,
    claimed, discarded or swept): the same answer for each, so none can be told apart."""


class UploadConflict(Exception):
    """A part of a resumable upload that does not start where the upload stands
    (``offset``: where it does), or that arrived while another part is being written."""

    def __init__(self, offset: int | None, reason: str = "offset") -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason


class TooManyUploads(Exception):
    """The owner already has as many uploads in progress as one person filing needs."""
