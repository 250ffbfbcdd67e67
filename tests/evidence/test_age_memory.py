"""300 MiB go through sealing and opening with memory bounded by a few chunks."""

from __future__ import annotations

import subprocess
import sys

from tests.support.processes import REPO

SIZE = 300 * 1024 * 1024
LIMIT_MIB = 64

# Peak memory is read from VmHWM: ru_maxrss would report the pytest process we were
# forked from, because Linux carries it across exec.
PEAK = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"

SEAL = """
import hashlib, sys
from evidence import age
recipient = age.X25519Recipient.parse(sys.argv[1])
block = hashlib.sha512(b"seed").digest() * 16384  # 1 MiB, made once
with age.Encryptor([recipient], sys.stdout.buffer) as writer:
    for i in range({size} // len(block)):
        writer.write(i.to_bytes(8, "big") + block[8:])
print(writer.sha256, writer.size, {peak}, file=sys.stderr)
"""

OPEN = """
import hashlib, sys
from evidence import age
reader = age.open_sealed(sys.stdin.buffer, [age.X25519Identity.parse(sys.argv[1])])
digest, size = hashlib.sha256(), 0
while chunk := reader.read(1 << 20):
    digest.update(chunk)
    size += len(chunk)
print(digest.hexdigest(), size, {peak})
"""


def test_300_mib_stream_through_seal_and_open_in_bounded_memory():
    from evidence import age

    identity = age.X25519Identity.generate()
    sealer = subprocess.Popen(
        [sys.executable, "-c", SEAL.format(size=SIZE, peak=PEAK), str(identity.recipient)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    opener = subprocess.run(
        [sys.executable, "-c", OPEN.format(peak=PEAK), str(identity)],
        cwd=REPO,
        stdin=sealer.stdout,
        capture_output=True,
        text=True,
        timeout=300,
    )
    sealer.stdout.close()
    seal_report = sealer.communicate(timeout=300)[1].decode()
    assert sealer.returncode == 0, seal_report
    assert opener.returncode == 0, opener.stderr

    sealed_sha, sealed_size, seal_kib = seal_report.split()
    opened_sha, opened_size, open_kib = opener.stdout.split()
    assert (opened_sha, int(opened_size)) == (sealed_sha, SIZE)
    assert int(sealed_size) == SIZE
    assert int(seal_kib) < LIMIT_MIB * 1024, f"sealing peaked at {int(seal_kib) // 1024} MiB"
    assert int(open_kib) < LIMIT_MIB * 1024, f"opening peaked at {int(open_kib) // 1024} MiB"
