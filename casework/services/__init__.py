"""Every state change on the NGO side (CONVENTIONS.md): members and their keys, then
cases.  Views, the API, tasks and commands call these; none of them saves a model."""

from casework.services.cases import (
    CaseFile,
    add_note,
    assign_case,
    change_status,
    open_case,
    open_evidence,
    read_case_file,
    reply_to_reporter,
    set_tags,
)
from casework.services.members import (
    add_member,
    change_password,
    grant_key_access,
    grant_waiting_member,
    invite_member,
    organization_identity,
    remove_member,
    unlock_member_key,
)

__all__ = [
    "CaseFile",
    "add_member",
    "add_note",
    "assign_case",
    "change_password",
    "change_status",
    "grant_key_access",
    "grant_waiting_member",
    "invite_member",
    "open_case",
    "open_evidence",
    "organization_identity",
    "read_case_file",
    "remove_member",
    "reply_to_reporter",
    "set_tags",
    "unlock_member_key",
]
