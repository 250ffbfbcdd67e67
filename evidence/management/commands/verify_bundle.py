import sys

from django.core.management.base import BaseCommand, CommandError

from evidence import verify_bundle


class Command(BaseCommand):
    help = (
        "Check an evidence bundle (docs/BUNDLES.md) with the same code as the standalone "
        "verifier: manage.py verify_bundle FILE [--identity KEYFILE] [--public-key PEM].  "
        "FILE is the .age file, an opened .tar, or an unpacked bag.  Exit status 0 only "
        "for a valid bundle, 1 for one that is not valid, 2 when it cannot be checked."
    )
    # Nothing here reads the database or the settings: run even on a half-configured box.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .age file, an opened .tar, or an unpacked bag")
        parser.add_argument(
            "-i", "--identity", metavar="KEYFILE", help="age identity file (AGE-SECRET-KEY-1...)"
        )
        parser.add_argument(
            "--public-key", metavar="PEM", help="the platform's published signing key"
        )

    def handle(self, *args, **options):
        try:
            report = verify_bundle.verify(
                options["file"],
                identity_file=options["identity"],
                public_key_file=options["public_key"],
            )
        except verify_bundle.UsageError as exc:
            raise CommandError(str(exc), returncode=verify_bundle.EXIT_USAGE) from None
        for line in report.render():
            self.stdout.write(line)
        if not report.valid:
            # The verdict is already printed, as the standalone script prints it; a
            # CommandError would print it again, on stderr, with its class name.
            self.stdout.flush()
            sys.exit(verify_bundle.EXIT_NOT_VALID)
