"""Evidence-bundle speed and memory: a case of --size-mib MiB of originals, bundled.

    .venv/bin/python bench/bundle.py [--size-mib 1024] [--files 4]

1. A first process seals --files originals of --size-mib MiB in all into a throw-away
   blob store (as intake does: chunk by chunk, to a case key), and notes their headers.
2. A second process builds the bundle (evidence/bundles.py): opens each original
   from its sealed object, streams it into the BagIt tar with SHA-256 and SHA-512 on
   the way, signs the tag manifest, and seals the whole tar to a legal partner's key,
   into a file in the same temporary directory.  This process is measured: wall time
   (MB/s of originals) and its peak RSS (VmHWM polled from /proc, as bench/seal.py does).
3. The bundle is opened with the Debian `age` tool and its tar listed, to show it is
   whole.

Needs no database (the sealed objects are not recorded).  Prints a Markdown block for
docs/BENCHMARKS.md.  Target (issue 7): peak RSS under 128 MiB for a 1 GiB case.
"""

from __future__ import annotations

import argparse
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

PREPARE = """
import json, os, sys
import django
django.setup()
from evidence import age
from evidence.services import BlobSealer
size, files, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
case_key = age.X25519Identity.generate()
block = os.urandom(1 << 20)
sealed = []
for number in range(files):
    sealer = BlobSealer([case_key.recipient])
    left = size // files
    while left > 0:
        sealer.write(block[: min(left, len(block))])
        left -= len(block)
    blob = sealer.finish()
    sealed.append({"key": blob.key, "header": blob.header.hex(), "payload_size":
                   blob.payload_size, "sha256": blob.sha256, "size": blob.size})
with open(out, "w") as f:
    json.dump({"case_key": str(case_key), "sealed": sealed}, f)
"""

BUILD = """
import json, sys
import django
django.setup()
from evidence import age, bundles
from evidence.models import SealedObject
from evidence.services import open_object
spec = json.load(open(sys.argv[1]))
case_key = age.X25519Identity.parse(spec["case_key"])
lawyer = age.X25519Recipient.parse(sys.argv[2])
with open(sys.argv[3], "wb") as sink:
    writer = bundles.BundleWriter(sink, recipients=[lawyer], bag_name="bundle-C-000001")
    for number, item in enumerate(spec["sealed"]):
        row = SealedObject(blob_key=item["key"], header=bytes.fromhex(item["header"]),
                           payload_size=item["payload_size"])
        writer.add(bundles.PayloadFile(
            f"data/originals/{item['sha256']}_video-{number}.mp4", item["size"],
            lambda row=row: open_object(row, [case_key]), expected_sha256=item["sha256"]))
    writer.add_bytes("data/custody.jsonl", b"{}\\n")
    writer.finish([("External-Identifier", "C-000001")])
"""


def measured(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and the child's own peak RSS (KiB), polled from /proc."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, env=env, cwd=REPO, stderr=subprocess.PIPE)
    peak, status = 0, Path(f"/proc/{child.pid}/status")
    while child.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.005)
    elapsed = time.perf_counter() - start
    if child.returncode:
        raise SystemExit(child.stderr.read().decode())
    return elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=4)
    args = parser.parse_args()
    age_tool = shutil.which("age")
    if not age_tool:
        raise SystemExit("the age tool is needed (make test installs it)")
    size = args.size_mib * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="bench-bundle-", dir=REPO / "var") as tmp:
        tmp_path = Path(tmp)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "EVIDENCE_BLOB_ROOT": str(tmp_path / "blobs"),
            "VAR_DIR": str(tmp_path / "var"),
        }
        env.pop("DATABASE_URL", None)  # no database is touched
        spec = tmp_path / "spec.json"
        python = sys.executable
        subprocess.run(
            [python, "-c", PREPARE, str(size), str(args.files), str(spec)], env=env, check=True
        )
        keygen = subprocess.run(["age-keygen"], capture_output=True, text=True, check=True)
        identity = next(line for line in keygen.stdout.splitlines() if line.startswith("AGE-"))
        recipient = subprocess.run(
            ["age-keygen", "-y"], input=identity, capture_output=True, text=True, check=True
        ).stdout.strip()
        bundle = tmp_path / "bundle.age"
        seconds, peak_kib = measured([python, "-c", BUILD, str(spec), recipient, str(bundle)], env)
        key_file = tmp_path / "lawyer.key"
        key_file.write_text(identity + "\n")
        opened = subprocess.Popen(
            [age_tool, "-d", "-i", str(key_file), str(bundle)], stdout=subprocess.PIPE
        )
        listing = subprocess.run(
            ["tar", "-t"], stdin=opened.stdout, capture_output=True, text=True, check=True
        )
        opened.wait()
        members = listing.stdout.splitlines()
        bundle_mib = bundle.stat().st_size / 2**20
    mb_s = size / 1e6 / seconds
    print(
        f"\n{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{args.files} originals, {args.size_mib} MiB in all\n"
    )
    print("| measure | value | target |")
    print("| --- | ---: | ---: |")
    print(
        "| bundle built (open, SHA-256 and SHA-512, tar, sign, seal) | "
        f"{seconds:.1f} s, {mb_s:.0f} MB/s | |"
    )
    print(f"| peak RSS of the building process | {peak_kib / 1024:.0f} MiB | < 128 MiB |")
    print(f"| bundle file | {bundle_mib:.0f} MiB, opened by `age -d`, {len(members)} members | |")


if __name__ == "__main__":
    main()
