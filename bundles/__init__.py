"""Court-ready evidence bundles (docs/BUNDLES.md, docs/CASEWORK.md "Evidence bundles"):
a legal partner asks, the case's organisation approves, a builder builds, she downloads.

Its models (Bundle, BundleBuilder, BundleRecipient) stay in casework/models.py and
casework's migrations for now: moving them means a migration that renames tables under
a running site, which is an issue of its own.  So this app has no models.py and no
migrations; it imports those models from casework, and casework's retention
(casework/services/lifecycle.py) keeps erasing bundle rows with a case.
"""
