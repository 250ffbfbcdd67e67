"""Sealing throughput and memory, beside the age CLI and gpg, on the same file.

    .venv/bin/python bench/seal.py [--size-mib 1024] [--rounds 3]

Seals one file (one X25519 recipient, SHA-256 of the plaintext on the way) with our
kernel, with `age -r`, and with `gpg -e`, each writing to /dev/null so that the disk's
speed does not decide the race, in interleaved rounds; keeps each tool's best round.
The input lives in /dev/shm when there is room.  Peak RSS is each process's own
(wait4), at the full size and at smaller ones.  Prints a Markdown table for
docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

OURS = """
import sys
from evidence import age
recipient = age.X25519Recipient.parse(sys.argv[2])
with open(sys.argv[1], "rb") as source, open("/dev/null", "wb") as sink:
    with age.Encryptor([recipient], sink) as writer:
        while block := source.read(1 << 20):
            writer.write(block)
print(writer.sha256)
"""


def run(argv: list[str], **kwargs) -> tuple[float, int]:
    """Wall seconds and the child's own peak RSS in KiB.

    The peak is VmHWM, polled from /proc while the child runs: rusage's ru_maxrss would
    report this (larger) benchmark process, because Linux carries it across fork+exec.
    """
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
    peak = 0
    status_file = Path(f"/proc/{child.pid}/status")
    while child.poll() is None:
        try:
            for line in status_file.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.002)
    elapsed = time.perf_counter() - start
    error = child.stderr.read().decode()
    child.stderr.close()
    if child.returncode != 0:
        raise SystemExit(f"{argv[0]} failed: {error[-500:]}")
    return elapsed, peak


def make_input(size: int) -> Path:
    shm = Path("/dev/shm")  # noqa: S108 - only a place for the input file, made private below
    room = shutil.disk_usage(shm).free if shm.is_dir() else 0
    folder = Path(tempfile.mkdtemp(dir=shm if room > 3 * size else None, prefix="seal-bench-"))
    folder.chmod(0o700)
    path = folder / "input.bin"
    with open(path, "wb") as out:
        for _ in range(size // (1 << 20)):
            out.write(os.urandom(1 << 20))
    return path


def gpg_setup(home: Path) -> str | None:
    gpg = shutil.which("gpg")
    if gpg is None:
        return None
    home.mkdir(mode=0o700)
    subprocess.run(
        [
            gpg,
            "--homedir",
            str(home),
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--quick-generate-key",
            "Bench <bench@example.invalid>",
            "default",
            "default",
            "never",
        ],
        check=True,
        capture_output=True,
    )
    return gpg


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    size = options.size_mib << 20

    from evidence import age

    recipient = str(age.X25519Identity.generate().recipient)
    age_cli = shutil.which("age")
    source = make_input(size)
    work = Path(tempfile.mkdtemp(prefix="seal-bench-gpg-"))
    gpg = gpg_setup(work / "gnupg")
    tools = {"ours": [sys.executable, "-c", OURS, str(source), recipient]}
    if age_cli:
        tools["age CLI"] = [age_cli, "-r", recipient, "-o", "/dev/null", str(source)]
    if gpg:
        tools["gpg -e"] = [
            gpg,
            "--homedir",
            str(work / "gnupg"),
            "--batch",
            "--yes",
            "--trust-model",
            "always",
            "-r",
            "bench@example.invalid",
            "-o",
            "/dev/null",
            "-e",
            str(source),
        ]
    best: dict[str, tuple[float, int]] = {}
    try:
        for round_number in range(options.rounds):
            for name, argv in tools.items():
                elapsed, rss = run(argv, cwd=REPO)
                print(
                    f"round {round_number + 1}: {name:8} {size / elapsed / 2**20:8.0f} MiB/s  "
                    f"{rss / 1024:6.1f} MiB",
                    file=sys.stderr,
                )
                if name not in best or elapsed < best[name][0]:
                    best[name] = (elapsed, max(rss, best.get(name, (0, 0))[1]))
        sha_start = time.perf_counter()
        digest = hashlib.sha256()
        with open(source, "rb") as data:
            while block := data.read(1 << 20):
                digest.update(block)
        sha_rate = size / (time.perf_counter() - sha_start)
        small = {}
        for mib in (1, 64):
            path = source.with_name(f"small-{mib}.bin")
            path.write_bytes(os.urandom(mib << 20))
            small[mib] = run([sys.executable, "-c", OURS, str(path), recipient], cwd=REPO)[1]
    finally:
        shutil.rmtree(source.parent, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    ours = size / best["ours"][0]
    cpu = platform.processor() or platform.machine()
    where = "tmpfs" if source.parent.parent == Path("/dev/shm") else "a temporary directory"  # noqa: S108
    print(f"\n{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, ", end="")
    print(f"{options.size_mib} MiB input in {where}, best of {options.rounds} interleaved rounds\n")
    print("| tool | MiB/s | ours ÷ tool | peak RSS |")
    print("| --- | ---: | ---: | ---: |")
    for name, (elapsed, rss) in best.items():
        rate = size / elapsed
        print(f"| {name} | {rate / 2**20:,.0f} | {ours / rate:.2f}x | {rss / 1024:.1f} MiB |")
    sizes = {1: small[1], 64: small[64], options.size_mib: best["ours"][1]}
    peaks = ", ".join(f"{mib} MiB in: {rss / 1024:.1f} MiB" for mib, rss in sizes.items())
    print(f"\nOur peak RSS by input size: {peaks}")
    print(
        f"SHA-256 alone over the same file, one core: {sha_rate / 2**20:,.0f} MiB/s "
        f"(ours ÷ that: {ours / sha_rate:.2f}x)"
    )


if __name__ == "__main__":
    main()
