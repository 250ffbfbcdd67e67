"""The demo data of a local run (``make run``): invented organisations, one account per
role with its authenticator, and a few invented reports.  Not the product: it uses
casework's and reporting's services as an installer would, and nothing imports it
(tests/test_layering.py).  Refused on a production site."""
