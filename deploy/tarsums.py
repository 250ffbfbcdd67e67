#!/usr/bin/env python3
"""The SHA-256 of every file in a backup's blobs.tar, made and checked in one read.

deploy/backup.sh lists them when it writes a backup; deploy/restore-drill.sh checks
them, so that a blob damaged after the backup was written is named, not only "the
archive changed".  The payloads are ciphertext: without a key nothing else can tell a
flipped byte.  Standard library only, so Debian's python3 runs it.

    python3 tarsums.py list ARCHIVE > blobs.sha256
    python3 tarsums.py check ARCHIVE blobs.sha256      exit status 1 naming each problem
"""

from __future__ import annotations

import hashlib
import sys
import tarfile
from collections.abc import Iterator
from pathlib import PurePosixPath

_BLOCK = 1024 * 1024


def digests(archive: str) -> Iterator[tuple[str, str]]:
    # Stream mode ("r|"): one sequential read, whatever the archive's size.
    with tarfile.open(archive, mode="r|") as tar:
        for member in tar:
            if not member.isfile():
                continue
            digest = hashlib.sha256()
            source = tar.extractfile(member)
            while block := source.read(_BLOCK):
                digest.update(block)
            yield digest.hexdigest(), _clean(member.name)


def _clean(name: str) -> str:
    return str(PurePosixPath(name.removeprefix("./")))


def _blob(path: str) -> str:
    return f"blob {PurePosixPath(path).name} ({path})"


def check(archive: str, sums: str) -> list[str]:
    expected = {}
    with open(sums, encoding="utf-8") as listing:
        for line in listing:
            digest, _, path = line.rstrip("\n").partition("  ")
            expected[_clean(path)] = digest
    problems = []
    try:
        for digest, path in digests(archive):
            if path not in expected:
                problems.append(f"UNLISTED {_blob(path)} is in the archive but was not listed")
            elif expected.pop(path) != digest:
                problems.append(f"CORRUPTED {_blob(path)}: changed since the backup was made")
    except (tarfile.TarError, OSError, EOFError) as exc:
        problems.append(f"UNREADABLE {archive}: {exc}")
        return problems
    problems += [
        f"NOT IN ARCHIVE {_blob(path)}: listed when the backup was made" for path in expected
    ]
    return problems


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "list":
        for digest, path in digests(argv[1]):
            print(f"{digest}  {path}")
        return 0
    if len(argv) == 3 and argv[0] == "check":
        problems = check(argv[1], argv[2])
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
