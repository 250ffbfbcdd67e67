"""The staff pages: sign-in (signin.py), cases (cases.py), members (members.py)."""
