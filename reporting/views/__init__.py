"""The victim's pages.  Thin: parse, call one service, render.

Her report, from the first question to her receipt (intake.py); her return visits with
scripts off, the server opening her key for each page (return_visit.py), and with
scripts on, her report opened on her device (visits.py); leaving and the quick exit
(leaving.py).  What more than one of them needs is in _common.py.  reporting/urls.py
names the views through this package.
"""

from reporting.views.intake import home, intake_done, intake_sealed, intake_step, intake_tell
from reporting.views.leaving import leave, quick_exit
from reporting.views.return_visit import (
    my_report,
    my_report_consent,
    my_report_evidence,
    my_report_message,
    return_visit,
)
from reporting.views.visits import (
    visit_consent,
    visit_evidence,
    visit_headers,
    visit_message,
    visit_object,
    visit_open,
    visit_prove,
    visit_report,
)

__all__ = [
    "home",
    "intake_done",
    "intake_sealed",
    "intake_step",
    "intake_tell",
    "leave",
    "my_report",
    "my_report_consent",
    "my_report_evidence",
    "my_report_message",
    "quick_exit",
    "return_visit",
    "visit_consent",
    "visit_evidence",
    "visit_headers",
    "visit_message",
    "visit_object",
    "visit_open",
    "visit_prove",
    "visit_report",
]
