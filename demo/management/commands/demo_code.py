from django.core.management.base import BaseCommand, CommandError

from demo.seed import DemoRefused, current_code


class Command(BaseCommand):
    help = "Print the current sign-in code of a demo account (never on a production site)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        try:
            self.stdout.write(current_code(username))
        except DemoRefused as exc:
            raise CommandError(str(exc)) from None
        except Exception as exc:
            raise CommandError(f"{username} is not a demo account with an authenticator") from exc
