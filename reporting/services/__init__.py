"""State changes on the reporter's side: her key and receipt, and filing a report.

Filing and her receipt (filing.py); what her browser sealed, at intake and on a return
visit with scripts on (sealed.py); her report after it is filed, as the server opens it
(conversation.py); who reads it, the questions put to her, and its erasure (sharing.py).
Callers use this package's names (``from reporting import services``), never a
submodule's."""

from reporting.services.conversation import (
    add_evidence,
    evidence_name,
    post_message,
    read_content,
    read_messages,
    report_recipients,
    set_status,
)
from reporting.services.filing import (
    PendingReceipt,
    RecipientResolver,
    ReportContent,
    ReportFacts,
    file_report,
    find_by_lookup,
    helper_recipients,
    new_receipt,
    open_receipt,
    recipients_for,
    register_recipient_resolver,
    report_facts,
    save_browser_receipt,
    save_reporter,
)
from reporting.services.sealed import (
    MESSAGE_MAX_BYTES,
    BrowserFile,
    add_browser_evidence,
    answer_browser_consent,
    browser_file,
    file_browser_report,
    post_browser_message,
    readers_after_yes,
)
from reporting.services.sharing import (
    add_reader,
    answer_consent,
    ask_consent,
    consent_questions,
    erase_report,
    remove_reader,
    sealed_objects,
)

__all__ = [
    "MESSAGE_MAX_BYTES",
    "BrowserFile",
    "PendingReceipt",
    "RecipientResolver",
    "ReportContent",
    "ReportFacts",
    "add_browser_evidence",
    "add_evidence",
    "add_reader",
    "answer_browser_consent",
    "answer_consent",
    "ask_consent",
    "browser_file",
    "consent_questions",
    "erase_report",
    "evidence_name",
    "file_browser_report",
    "file_report",
    "find_by_lookup",
    "helper_recipients",
    "new_receipt",
    "open_receipt",
    "post_browser_message",
    "post_message",
    "read_content",
    "read_messages",
    "readers_after_yes",
    "recipients_for",
    "register_recipient_resolver",
    "remove_reader",
    "report_facts",
    "report_recipients",
    "save_browser_receipt",
    "save_reporter",
    "sealed_objects",
    "set_status",
]
