from django.dispatch import Signal

# Sent after the transaction that filed a report has committed.  Carries the report's id
# only: receivers load what they need, and never see content.
report_filed = Signal()

# Sent after a return visit added evidence to a report: report_id and item_ids only.
evidence_added = Signal()

# Sent after a message was posted on a report (by her or by a helper): ids only.
message_posted = Signal()
