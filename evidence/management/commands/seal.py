import sys

from django.core.management.base import BaseCommand, CommandError

from evidence import age


class Command(BaseCommand):
    help = (
        "Seal standard input to age recipients, streaming to standard output: "
        "manage.py seal -r age1... [-r age1...] [--armor] < plain > sealed.age"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "-r", "--recipient", action="append", required=True, help="an age1... recipient"
        )
        parser.add_argument("-a", "--armor", action="store_true", help="write ASCII armor")

    def handle(self, *args, **options):
        try:
            recipients = [age.X25519Recipient.parse(r) for r in options["recipient"]]
        except age.InvalidKey as exc:
            raise CommandError(f"not a valid recipient: {exc}") from None
        source, sink = sys.stdin.buffer, sys.stdout.buffer
        with age.Encryptor(recipients, sink, armor=options["armor"]) as writer:
            while block := source.read(1 << 20):
                writer.write(block)
        sink.flush()
