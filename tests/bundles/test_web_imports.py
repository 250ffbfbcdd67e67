"""A web process never loads the PDF and font libraries the bundle summary needs: only
the builder runs bundles/build.py, which imports the summary (bundles/services.py says
why the build is apart).  Loading them in gunicorn would cost every web worker their
memory for nothing, and put a PDF library's code in the process facing the Internet.

Checked in a fresh Python, as a server starts: the WSGI application, then every URL
pattern with its view, so that a view module that imports the build, the summary or
the bidi helpers at import time fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.processes import REPO, child_env

LOADED = """
import json, sys
from config.wsgi import application
from django.urls import URLResolver, get_resolver

def views(patterns):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from views(entry.url_patterns)  # imports the included urls module
        else:
            yield entry.callback

print(json.dumps({"views": sum(1 for _ in views(get_resolver().url_patterns)),
                  "modules": sorted(sys.modules)}))
"""

# The summary's PDF library and its font reader, and our modules that import them.
BUILDER_ONLY = ("fpdf", "fontTools", "bundles.build", "bundles.content", "bundles.summary")
# Her text's bidirectional helpers: only the summary uses them.
SUMMARY_ONLY = ("bundles.bidi",)


def test_the_web_process_loads_no_pdf_or_font_library():
    done = subprocess.run(
        [sys.executable, "-c", LOADED],
        cwd=REPO,
        env=child_env(DJANGO_SETTINGS_MODULE="config.settings"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.splitlines()[-1])
    modules = set(loaded["modules"])
    # The walk reached the bundle pages (so it would have seen what they import).
    assert loaded["views"] > 30
    assert {"bundles.views.bundles", "bundles.views.keys", "bundles.services"} <= modules
    found = sorted(
        name
        for name in modules
        for top in (*BUILDER_ONLY, *SUMMARY_ONLY)
        if name == top or name.startswith(f"{top}.")
    )
    assert found == []
