"""manage.py check_guide: check the guide's content files, list what is still to confirm."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from reporting.guide import GuideError, language_files, read_files


class Command(BaseCommand):
    help = (
        "Check the first-response guide's content files (reporting/guide/content/) and list "
        "the numbers and listening centres still marked to_confirm.  Exit status 1 if a "
        "file has a problem, each named with its file and node."
    )
    # Reads files only: staff editing the content can run it on a laptop with no database.
    requires_system_checks = []

    def handle(self, *args, **options):
        try:
            files = read_files()
        except GuideError as error:
            self.stdout.write("\n".join(error.problems))
            raise CommandError(
                f"{len(error.problems)} problem(s): nothing was changed on the site."
            ) from None
        names = ", ".join(path.name for path in language_files().values())
        self.stdout.write(f"{names}: the same tree in every language, every check passed.")
        for language, data in files.items():
            waiting = [
                f"emergency number {e['id']} ({e['number']})"
                for e in data["emergency_numbers"]
                if e["to_confirm"]
            ]
            waiting += [
                f"listening centre of {c['region']} ({c['name']})"
                for c in data["listening_centres"]
                if c["to_confirm"]
            ]
            if waiting:
                self.stdout.write(
                    f"\n{language}.json: {len(waiting)} still to confirm before launch:"
                )
                self.stdout.write("\n".join(f"  - {name}" for name in waiting))
