import re

from django.core.management.base import BaseCommand, CommandError

from casework import audit

_HASH = re.compile(r"[0-9a-f]{64}")


class Command(BaseCommand):
    help = (
        "Check the audit log's hash chain from its first row; name the first broken link. "
        "With --expect-head HASH, also check that a head written down earlier (verify_audit's "
        "last line, or audit_last_hash in a backup's manifest.txt) is still in the chain. "
        "Exit status 1 when the chain is broken or that head is gone."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--expect-head",
            metavar="HASH",
            help=(
                "the hash of the last row as noted earlier, elsewhere. The log may have grown "
                "since: the check passes when HASH is the hash of any row of an intact chain, "
                "and fails when no row has it (rows were cut from the end or rewritten)."
            ),
        )

    def handle(self, *args, **options):
        expected = options["expect_head"]
        if expected is not None:
            expected = expected.strip().lower()
            if not _HASH.fullmatch(expected):
                raise CommandError(
                    "--expect-head takes the 64 hexadecimal characters of a row's hash, as "
                    "verify_audit printed it (or audit_last_hash in a backup's manifest.txt)"
                )
        checked, broken = audit.verify()
        if broken is not None:
            raise CommandError(
                f"audit log BROKEN at {broken} ({checked} rows before it are intact)"
            )
        last = audit.AuditEvent.objects.order_by("-seq").only("seq", "hash").first()
        head = f"; last row {last.seq}, hash {last.hash}" if last else ""
        verdict = self._check_head(expected, last, checked) if expected is not None else None
        self.stdout.write(f"audit log intact: {checked} rows{head}")
        if verdict:
            self.stdout.write(verdict)
        else:
            # Removing the newest rows leaves a shorter chain that still verifies:
            # comparing this head with one written down earlier is what catches that.
            self.stdout.write(
                "Keep the last row's hash somewhere else to detect a cut tail "
                "(then: verify_audit --expect-head HASH)."
            )

    def _check_head(self, expected: str, last, checked: int) -> str:
        # The chain check cannot see rows cut from the end, nor a tail rewritten with hashes
        # recomputed; a head noted elsewhere can.  Every row after it chains back to it
        # (verified above), so finding it anywhere in an intact chain proves the rows up to
        # it are the ones that were there when it was noted.
        row = audit.AuditEvent.objects.filter(hash=expected).only("seq").first()
        now = f"now ends at row {last.seq}, hash {last.hash}" if last else "is now empty"
        if row is None:
            raise CommandError(
                f"audit log TRUNCATED OR REWRITTEN: no row has the head you noted ({expected}). "
                f"The chain itself is intact ({checked} rows) and {now}. "
                "Rows after some point were removed, or removed and written anew. Compare "
                "with the audit_last_seq and audit_last_hash of each backup's manifest.txt: "
                "the newest backup whose head is still in the log shows how far the log is "
                "genuine; the rows after it in that backup are what was removed. Keep this "
                "database and its backups as they are, and find who had the table owner's "
                "access (docs/DEPLOY.md, section 8)."
            )
        if row.seq == last.seq:
            return f"head as noted: row {row.seq} is still the last row"
        return (
            f"head as noted: row {row.seq} is in the chain, and {last.seq - row.seq} rows "
            f"were added after it (the log {now}); note the new head"
        )
