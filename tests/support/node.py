"""Run the browser code (frontend/) in node, for the tests that check it against the
Python side.  scripts/frontend.sh installs its packages from the lockfile first."""

from __future__ import annotations

import json
import subprocess

from tests.support.processes import REPO

FRONTEND = REPO / "frontend"
_GIVEN = "import { readFileSync } from 'node:fs';const given = JSON.parse(readFileSync(0, 'utf8'));"


def in_node(script: str, **values) -> object:
    """Run ES module ``script`` in frontend/, where ``given`` holds ``values``; it prints
    its answer as JSON."""
    done = subprocess.run(
        ["node", "--input-type=module", "-e", _GIVEN + script],
        cwd=FRONTEND,
        input=json.dumps(values),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
