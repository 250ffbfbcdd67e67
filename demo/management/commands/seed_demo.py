from django.core.management.base import BaseCommand, CommandError

from demo.seed import DemoRefused, demo_receipt, seed_demo


class Command(BaseCommand):
    help = "Create demo organisations and one account per role; print their passwords."

    def handle(self, *args: object, **options: object) -> None:
        try:
            accounts = seed_demo()
        except DemoRefused as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write("Demo accounts (passwords kept in var/demo-accounts.json):")
        width = max(len(a.username) for a in accounts)
        for account in accounts:
            where = f" — {account.organization}" if account.organization else ""
            self.stdout.write(
                f"  {account.username:<{width}}  {account.password}  {account.does}{where}"
            )
        self.stdout.write(
            "Second factor: every account has an authenticator; "
            "`python manage.py demo_code USERNAME` prints its current code."
        )
        self.stdout.write(f"A demo report's receipt code, for the return visit: {demo_receipt()}")
