import io
import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from evidence import age
from evidence.blobstore import blob_store
from evidence.models import SealedObject

# The smallest payload age writes: a 16-byte nonce and one (empty) chunk's 16-byte tag.
_SMALLEST_PAYLOAD = 32


class Command(BaseCommand):
    help = (
        "Check that every sealed object still held has its payload in the blob store, of "
        "the size recorded, and a header that parses as age v1 (what a restore drill asks "
        "of a restored database and blob store; no key is needed and nothing is opened). "
        "Exit status 1 naming each problem."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--also",
            metavar="FILE",
            help="more payloads that must be there, one 'KEY SIZE LABEL' per line (the "
            "evidence bundles the database says are ready, which evidence/ knows nothing of)",
        )
        parser.add_argument(
            "--may-be-missing",
            metavar="FILE",
            help="blob keys whose absence is expected, one per line: objects erased while "
            "the backup was being taken (deploy/backup.sh lists them)",
        )

    def handle(self, *args, **options):
        store = blob_store()
        excused = set(_words(options["may_be_missing"], 1))
        problems: list[str] = []
        live: set[str] = set()
        checked = erased = total_bytes = excused_seen = 0

        def payload_size(key: str) -> int | None:
            try:
                with store.open(key) as payload:
                    return payload.seek(0, os.SEEK_END)
            except FileNotFoundError:
                return None

        def expect(key: str, size: int, what: str) -> None:
            nonlocal checked, total_bytes, excused_seen
            live.add(key)
            found = payload_size(key)
            if found is None and key in excused:
                excused_seen += 1
            elif found is None:
                problems.append(f"MISSING blob {key} of {what} ({size} bytes expected)")
            elif found != size:
                problems.append(f"WRONG SIZE blob {key} of {what}: {found} bytes, {size} expected")
            else:
                checked += 1
                total_bytes += found

        rows = SealedObject.objects.order_by("pk").values_list(
            "pk", "blob_key", "header", "payload_size", "erased_at"
        )
        for pk, key, header, size, erased_at in rows.iterator(chunk_size=2000):
            if erased_at is not None:
                erased += 1  # crypto-erased: its payload is meant to be gone
                continue
            what = f"sealed object {pk}"
            problem = _header_problem(bytes(header))
            if problem:
                problems.append(f"BAD HEADER of {what}: {problem}")
            if size < _SMALLEST_PAYLOAD:
                problems.append(f"BAD SIZE of {what}: {size} bytes is shorter than any age payload")
            expect(key, size, what)
        for key, size, label in _words(options["also"], 3):
            expect(key, int(size), label)

        # Payloads no row points at are normal in a backup (written after the database
        # copy was taken; the hourly sweep removes them): counted, not a problem.
        orphans = sum(1 for key, _ in store.listing() if key not in live)
        for line in problems:
            self.stdout.write(line)
        summary = (
            f"{checked} payloads present with the right size ({total_bytes} bytes); "
            f"{erased} erased objects; {orphans} files no row points at"
        )
        if excused_seen:
            summary += f"; {excused_seen} absent because erased while the backup ran"
        if problems:
            self.stdout.write(f"blob store NOT OK: {len(problems)} problem(s); {summary}")
            self.stdout.flush()
            sys.exit(1)
        self.stdout.write(f"blob store OK: {summary}")


def _header_problem(header: bytes) -> str:
    source = io.BytesIO(header)
    try:
        age.read_header(source)
    except age.AgeError as exc:
        return str(exc)
    if source.read(1):
        return "bytes after the header's MAC line"
    return ""


def _words(path: str | None, count: int) -> list:
    """The non-blank, non-comment lines of ``path``, each split in ``count`` words."""
    if not path:
        return []
    rows = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        words = line.split(maxsplit=count - 1)
        if len(words) != count:
            raise CommandError(f"{path}:{number}: expected {count} word(s): {line!r}")
        rows.append(words if count > 1 else words[0])
    return rows
