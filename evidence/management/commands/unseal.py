import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from evidence import age


class Command(BaseCommand):
    help = (
        "Open an age file (binary or armored) from standard input to standard output: "
        "manage.py unseal -i key.txt < sealed.age > plain.  A non-zero exit means the "
        "output is incomplete and must not be trusted."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "-i", "--identity", action="append", required=True, help="an age identity file"
        )

    def handle(self, *args, **options):
        identities = []
        for name in options["identity"]:
            try:
                identities += age.parse_identities(Path(name).read_text(encoding="utf-8"))
            except OSError as exc:
                raise CommandError(f"cannot read {name}: {exc.strerror}") from None
            except age.InvalidKey as exc:
                raise CommandError(f"{name} holds no valid identity: {exc}") from None
        sink = sys.stdout.buffer
        try:
            reader = age.open_sealed(sys.stdin.buffer, identities)
            while block := reader.read(1 << 20):
                sink.write(block)
        except age.AgeError as exc:
            raise CommandError(f"{type(exc).__name__}: {exc}") from None
        sink.flush()
