from django.dispatch import Signal

# Sent after the transaction that filed a report has committed.  Carries the report's id
# only: receivers load what they need, and never see content.
report_filed = Signal()
