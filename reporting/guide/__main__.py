"""Check the guide's content files and list what is still to confirm before launch.

    .venv/bin/python -m reporting.guide

Exit status 1 if a file has a problem (each named with its file and node); the numbers,
addresses and listening centres still marked "to_confirm" are listed either way.
"""

from __future__ import annotations

import sys

from reporting.guide import GuideError, language_files, read_files


def main() -> int:
    try:
        files = read_files()
    except GuideError as error:
        print("\n".join(error.problems))
        print(f"\n{len(error.problems)} problem(s): nothing was changed on the site.")
        return 1
    names = ", ".join(path.name for path in language_files().values())
    print(f"{names}: the same tree in every language, every check passed.")
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
            print(f"\n{language}.json: {len(waiting)} still to confirm before launch:")
            print("\n".join(f"  - {name}" for name in waiting))
    return 0


if __name__ == "__main__":
    sys.exit(main())
