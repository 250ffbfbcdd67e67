from django.dispatch import Signal

# Sent inside the transaction that files a report, once the report and its evidence are
# written: a receiver's rows (casework opens the case) commit or roll back with it, so no
# report is ever stored without its case.  Carries the report's id only.
report_recorded = Signal()

# Sent after the transaction that filed a report has committed.  Carries the report's id
# only: receivers load what they need, and never see content.
report_filed = Signal()

# Sent after a return visit added evidence to a report: report_id and item_ids only.
evidence_added = Signal()

# Sent after a message was posted on a report (by her or by a helper): ids only.
message_posted = Signal()
