"""Drive the reference ``age`` command line, including its passphrase prompts."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import time
from pathlib import Path


def age_binary() -> str:
    path = shutil.which("age")
    assert path, "the age tool is not installed (make test installs it)"
    return path


def run(*args: str | Path, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [age_binary(), *map(str, args)], input=stdin, capture_output=True, timeout=120
    )


def keygen() -> tuple[str, str]:
    """(identity, recipient) made by age-keygen."""
    made = subprocess.run(["age-keygen"], capture_output=True, text=True, check=True)
    identity = next(line for line in made.stdout.splitlines() if line.startswith("AGE-SECRET"))
    recipient = subprocess.run(
        ["age-keygen", "-y"], input=identity, capture_output=True, text=True, check=True
    ).stdout.strip()
    return identity, recipient


def run_with_passphrase(args: list[str | Path], passphrase: str, prompts: int) -> int:
    """Run age on a terminal of its own (it reads passphrases from /dev/tty only)."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child becomes age
        os.execv(age_binary(), ["age", *map(str, args)])  # noqa: S606 - no shell wanted
    seen = b""
    answered = 0
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1)
            if not ready:
                continue
            try:
                data = os.read(fd, 1024)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            seen += data
            while answered < prompts and seen.lower().count(b"passphrase") > answered:
                os.write(fd, passphrase.encode() + b"\n")
                answered += 1
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)
