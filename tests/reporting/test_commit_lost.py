"""The database commits her report but its answer is lost on the way back: the site
cannot know the report is stored, so it must not delete the sealed files it names.

Before, the view treated any failure as "nothing was kept" and deleted her payloads:
the report was in the database, pointing at files that were gone.  Now they stay, for
the rows that may name them or, if none does, for the hourly orphan sweep.
"""

from __future__ import annotations

import urllib.parse

import pytest
from django.conf import settings

from evidence.blobstore import blob_store
from evidence.models import SealedObject
from reporting.models import Report
from tests.reporting.test_disk_full import STEPS, Browser
from tests.support import processes
from tests.support.pgproxy import commit_losing_proxy
from tests.support.processes import child_env, gunicorn
from tests.support.uploading import jpeg

pytestmark = pytest.mark.django_db(transaction=True)


def through(proxy_port: int) -> str:
    """The test database as the site's role, by way of the proxy."""
    parts = urllib.parse.urlsplit(processes.site_database_url())
    userinfo = parts.netloc.rsplit("@", 1)[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{userinfo}@127.0.0.1:{proxy_port}"))


def test_a_lost_commit_answer_keeps_the_payloads_of_the_report_it_stored(
    coordinator_key, blob_root, tmp_path
):
    db = settings.DATABASES["default"]
    upstream = (db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    with commit_losing_proxy(upstream) as proxy:
        env = child_env(DATABASE_URL=through(proxy.port), EVIDENCE_BLOB_ROOT=str(blob_root))
        with gunicorn(env, tmp_path) as site:
            her = Browser(site)
            her.send("/ar/report/step/urgency/")
            for name, answers in STEPS:
                her.post(f"/ar/report/step/{name}/", answers)
            proxy.arm("reporting_report")
            from django.core.files.uploadedfile import SimpleUploadedFile

            her.post(
                "/ar/report/your-words/",
                {
                    "narrative": "يهددني على إنستغرام.",
                    "evidence": SimpleUploadedFile("a.jpg", jpeg()),
                },
                multipart=True,
            )

    assert proxy.cut.is_set(), "the proxy never saw the report's COMMIT"
    assert her.status == 503  # she is told to try again; nothing says it was lost
    [report] = Report.objects.all()  # ...and it was kept
    item = report.evidence.get()
    sealed = SealedObject.objects.filter(pk__in=[report.content_id, item.original_id])
    assert len(sealed) == 2
    store = blob_store()
    for obj in sealed:  # the header is in the row, the payload on disk, whole
        with store.open(obj.blob_key) as payload:
            assert len(payload.read()) == obj.payload_size
