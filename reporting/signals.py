from django.dispatch import Signal

# Each is sent INSIDE the transaction that records what it announces, with ids only:
# a receiver's rows (casework opens the case, writes the workflow step that will tell a
# caseworker) commit or roll back with it, so nothing she sent is ever stored without
# what follows from it.  Receivers load what they need, and never see content.

# A new report and its evidence are written: report_id.
report_recorded = Signal()

# A return visit added evidence to her report: report_id, item_ids.
evidence_added = Signal()

# A message was posted on a report, by her or by a helper: report_id, message_id, author.
message_posted = Signal()

# She answered a consent request on her return visit: report_id, request_id, granted.
consent_answered = Signal()
