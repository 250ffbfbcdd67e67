"""The triage queue on 100 000 cases in PostgreSQL: page times and query counts.

    .venv/bin/python bench/queue.py [--cases 100000] [--requests 100] [--rebuild]

Needs PostgreSQL on 127.0.0.1:5432 (as `make test` does).  Uses its own database,
`safe_report_queue_bench` (bench/intake.py drops `safe_report_bench` on every run, so
sharing it would reload 100 000 cases each time): creates it, migrates it and loads
--cases reports with their cases in bulk (INSERT ... SELECT over generate_series; the
sealed content is a placeholder, as only the plaintext routing facts reach the queue).
A later run with the same --cases reuses the data; --rebuild reloads it.

Four organisations share the cases, 65% of them in one; 30% of cases are open, 10%
urgent, with categories, regions, assignees and tags in realistic mixes.  A triage lead
of the big organisation, signed in with her second factor passed, then opens the queue
page (casework.views.cases.queue) through Django's test client, in-process:

1. --requests timed requests per page type (round robin over the types) after --warmup
   untimed ones: p50/p95/max wall time per page, and the time spent in SQL;
2. the number of queries per page type at page sizes 10, 50 and 200;
3. EXPLAIN (ANALYZE, BUFFERS) of the queries on cases behind the default page and a deep
   one (the scans and the execution time; --plans prints the whole plans).

Prints Markdown for docs/BENCHMARKS.md.  Talks to 127.0.0.1 only.
"""

from __future__ import annotations

import os
import sys

# This file shares its name with the standard library's `queue`, which logging.handlers
# (and so Django's logging set-up) and kombu import.  Python puts the script's own folder
# first on sys.path; drop it, or `import queue` anywhere would load this file instead.
sys.path.remove(os.path.dirname(os.path.abspath(__file__)))

import argparse
import platform
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DB_NAME = "safe_report_queue_bench"
ADMIN_URL = os.environ.get(
    "BENCH_ADMIN_DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/postgres"
)
DATABASE_URL = ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME
TARGET_P95_MS = 150
PAGE_SIZES = (10, 50, 200)
BENCH_USER = "queue-bench"

# (slug, name, kind, share of all cases, caseworkers).  The first one's queue is measured.
ORGANISATIONS = [
    ("qb-casablanca", "Association Casablanca (bench)", "partner_association", 0.65, 30),
    ("qb-fes", "Centre d'écoute Fès (bench)", "listening_centre", 0.15, 6),
    ("qb-marrakech", "Association Marrakech (bench)", "partner_association", 0.12, 5),
    ("qb-oujda", "Centre d'écoute Oujda (bench)", "listening_centre", 0.08, 4),
]
TAGS = ["awaiting platform", "court", "police", "follow-up", "takedown asked", "referred out"]
# 30% open: new 10%, acknowledged 6%, in progress 10%, referred 4%; closed 70%.
STATUSES = [
    ("new", 0.10),
    ("acknowledged", 0.06),
    ("in_progress", 0.10),
    ("referred", 0.04),
    ("closed", 0.70),
]
CATEGORIES = [
    ("cyberharassment", 0.30),
    ("intimate_images", 0.15),
    ("sextortion", 0.15),
    ("impersonation", 0.10),
    ("threats", 0.10),
    ("doxxing", 0.08),
    ("account_takeover", 0.07),
    ("other", 0.05),
]
REGIONS = [
    ("casablanca_settat", 0.30),
    ("rabat_sale_kenitra", 0.16),
    ("fes_meknes", 0.12),
    ("marrakech_safi", 0.11),
    ("tanger_tetouan_al_hoceima", 0.09),
    ("souss_massa", 0.06),
    ("oriental", 0.05),
    ("beni_mellal_khenifra", 0.04),
    ("draa_tafilalet", 0.02),
    ("not_said", 0.02),
    ("guelmim_oued_noun", 0.01),
    ("laayoune_sakia_el_hamra", 0.01),
    ("dakhla_oued_ed_dahab", 0.01),
]
LANGUAGES = [("ar", 0.60), ("fr", 0.30), ("zgh", 0.05), ("en", 0.05)]
AGE_BANDS = [
    ("18_24", 0.35),
    ("25_34", 0.30),
    ("35_49", 0.17),
    ("under_18", 0.08),
    ("50_plus", 0.05),
    ("not_said", 0.05),
]
SERVICES = [
    ('["listening"]', 0.35),
    ('["listening", "legal"]', 0.25),
    ('["takedown"]', 0.15),
    ('["psychological", "listening"]', 0.15),
    ('["legal", "takedown"]', 0.10),
]
# (label, GET parameters).  "page" of the deep page is filled in once the data is known.
PAGES = [
    ("default, page 1", {}),
    ("page 2", {"page": "2"}),
    ("deep page", {"page": "500"}),
    ("urgent=yes", {"urgent": "yes"}),
    ("status=new", {"status": "new"}),
    ("category + region", {"category": "cyberharassment", "region": "casablanca_settat"}),
    ("assignee=me", {"assignee": "me"}),
    ("breached=on", {"breached": "on"}),
    ("status=closed (largest set)", {"status": "closed"}),
]


def prepare_environment() -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": DATABASE_URL,
            "DJANGO_DEBUG": "false",  # as in production: no query log kept per request
            "CELERY_BROKER_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
            "CELERY_RESULT_BACKEND": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
        }
    )
    os.environ.pop("CASEWORK_QUEUE_PAGE_SIZE", None)  # the default, 50, is what is timed


def recreate_database(*, drop: bool) -> None:
    import psycopg2

    admin = psycopg2.connect(ADMIN_URL)
    admin.autocommit = True
    with admin.cursor() as cursor:
        if drop:
            cursor.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME])
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE DATABASE {DB_NAME}")
    admin.close()


def weighted(column: str, choices: list[tuple[str, float]]) -> tuple[str, list]:
    """A CASE picking a value by a uniform random ``column`` in [0, 1)."""
    parts, params, edge = [], [], 0.0
    for value, share in choices[:-1]:
        edge += share
        parts.append(f"WHEN {column} < %s THEN %s")
        params += [edge, value]
    return "CASE " + " ".join(parts) + " ELSE %s END", [*params, choices[-1][0]]


def insert_select(cursor, model, values: dict[str, str], source: str) -> int:
    """INSERT INTO the model's table SELECT ``values`` (field name -> an SQL expression
    without parameters) FROM ``source``.  Fields not named get their default, so a field
    added to a model later does not break the benchmark."""
    from django.db import connection, models

    from evidence.ids import RANDOM_ID_CEILING, RANDOM_ID_FLOOR

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    unknown = set(values) - {f.name for f in fields}
    if unknown:
        raise SystemExit(f"{model.__name__} has no field(s) {sorted(unknown)}: update bench")
    columns, expressions, defaults = [], [], []
    pk = model._meta.pk
    if not isinstance(pk, models.AutoField | models.BigAutoField):
        # A random key made in Python (evidence/ids.py): the same range, drawn by the
        # database here (bench data needs no cryptographic randomness, only no order).
        columns.append(connection.ops.quote_name(pk.column))
        expressions.append(
            f"({RANDOM_ID_FLOOR} + floor(random() * {RANDOM_ID_CEILING - RANDOM_ID_FLOOR}))::bigint"
        )
    for field in fields:
        columns.append(connection.ops.quote_name(field.column))
        if field.name in values:
            expressions.append(values[field.name])
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            expressions.append("now()")
        elif field.null and not field.has_default():
            expressions.append("NULL")
        else:
            expressions.append("%s")
            defaults.append(field.get_db_prep_save(field.get_default(), connection))
    table = connection.ops.quote_name(model._meta.db_table)
    # Identifiers come from the models and expressions from this file; values are params.
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(expressions)} "
    cursor.execute(sql + f"FROM {source}", defaults)
    return cursor.rowcount


def create_people():
    """The organisations, their tags and caseworkers, and the signed-in triage lead."""
    from django.contrib.auth.hashers import make_password
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from casework import services
    from casework.models import Membership, Organization, Tag, User

    orgs = [
        Organization.objects.create(name=name, slug=slug, kind=kind)
        for slug, name, kind, _, _ in ORGANISATIONS
    ]
    # One real account with a real key (the organisation's key is born sealed to her) and
    # a confirmed authenticator; the colleagues are only names to assign cases to.
    lead = User(username=BENCH_USER, email="queue-bench@example.org")
    lead.set_password("queue bench password, long enough")
    lead.save()
    services.add_member(orgs[0], lead, role=Membership.Role.TRIAGE_LEAD, unlocked_by=None)
    TOTPDevice.objects.create(user=lead, name="authenticator", confirmed=True)
    workers: dict[int, list[int]] = {}
    for org, (slug, _, _, _, count) in zip(orgs, ORGANISATIONS, strict=True):
        people = User.objects.bulk_create(
            User(username=f"{slug}-{i:02d}", password=make_password(None)) for i in range(count)
        )
        Membership.objects.bulk_create(
            Membership(user=u, organization=org, role=Membership.Role.CASEWORKER) for u in people
        )
        Tag.objects.bulk_create(Tag(organization=org, name=name) for name in TAGS)
        workers[org.pk] = [u.pk for u in people]
    # She takes her share of the big organisation's cases, like any caseworker there.
    workers[orgs[0].pk][0] = lead.pk
    return orgs, workers


def load_cases(cases: int) -> None:
    """Reports, their sealed-content placeholders, reporter keys, cases and tags."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from casework.models import Case, Tag
    from casework.states import REPORTER_STATUS
    from evidence.models import SealedObject
    from reporting import facts
    from reporting.models import Report, ReporterKey

    orgs, workers = create_people()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(
            "CREATE TEMP TABLE bench_org (idx int, org_id bigint, workers bigint[], tags bigint[])"
        )
        for idx, org in enumerate(orgs):
            tags = list(Tag.objects.filter(organization=org).values_list("pk", flat=True))
            cursor.execute(
                "INSERT INTO bench_org VALUES (%s, %s, %s, %s)",
                [idx, org.pk, workers[org.pk], tags],
            )
        org_case, org_params = weighted(
            "r_org", [(str(i), o[3]) for i, o in enumerate(ORGANISATIONS)]
        )
        status_case, status_params = weighted("r_status", STATUSES)
        columns, params = [], []
        for name, column, choices in [
            ("category", "r_category", CATEGORIES),
            ("region", "r_region", REGIONS),
            ("language", "r_language", LANGUAGES),
            ("age_band", "r_age", AGE_BANDS),
            ("services", "r_services", SERVICES),
        ]:
            expression, values = weighted(column, choices)
            columns.append(f"{expression} AS {name}")
            params += values
        gbvims = " ".join(f"WHEN '{c!s}' THEN '{t!s}'" for c, t in facts.GBVIMS_TYPE.items())
        reporter_status = " ".join(f"WHEN '{c!s}' THEN '{s!s}'" for c, s in REPORTER_STATUS.items())
        # Opened within the last week (new), four months (open) or two years (closed):
        # the hour only, like every reporter-side time.
        cursor.execute(
            f"""
            CREATE TEMP TABLE bench_case AS
            SELECT r.*, o.org_id,
                'qb' || lpad(r.g::text, 10, '0') AS blob_key,
                CASE WHEN r.urgent THEN '["physical_danger"]' ELSE '[]' END AS urgency,
                date_trunc('hour', %s::timestamptz - r.r_age_days * CASE r.status
                    WHEN 'new' THEN interval '7 days' WHEN 'closed' THEN interval '730 days'
                    ELSE interval '120 days' END) AS opened_at,
                CASE WHEN (r.status = 'new' AND r.r_assign < 0.8)
                       OR (r.status <> 'new' AND r.r_assign < 0.05) THEN NULL
                     ELSE o.workers[1 + floor(r.r_worker * cardinality(o.workers))::int]
                END AS assignee_id,
                CASE WHEN r.r_tag < 0.25 THEN o.tags[1 + r.tag_index] END AS tag1,
                CASE WHEN r.r_tag < 0.08
                     THEN o.tags[1 + (r.tag_index + 1) %% cardinality(o.tags)] END AS tag2
            FROM (
                SELECT g, ({org_case})::int AS org_index, {status_case} AS status,
                    random() < 0.10 AS urgent, {", ".join(columns)},
                    random() < 0.8 AS consent_share, random() < 0.9 AS consent_statistics,
                    random() AS r_age_days, random() AS r_assign, random() AS r_worker,
                    random() AS r_tag, floor(random() * %s)::int AS tag_index,
                    random() AS r_ack, random() AS r_close
                FROM (
                    SELECT g, random() AS r_org, random() AS r_status, random() AS r_category,
                        random() AS r_region, random() AS r_language, random() AS r_age,
                        random() AS r_services
                    FROM generate_series(1, %s) g
                ) picked
            ) r JOIN bench_org o ON o.idx = r.org_index
            """,  # noqa: S608 - the interpolated parts are built above from constants
            [timezone.now(), *org_params, *status_params, *params, len(TAGS), cases],
        )
        cursor.execute(
            f"""
            ALTER TABLE bench_case
                ADD COLUMN gbvims_type text, ADD COLUMN report_status text,
                ADD COLUMN sla_due_at timestamptz, ADD COLUMN acknowledged_at timestamptz,
                ADD COLUMN closed_at timestamptz;
            UPDATE bench_case SET
                gbvims_type = CASE category {gbvims} END,
                report_status = CASE status {reporter_status} END,
                sla_due_at = opened_at + interval '1 hour' * CASE WHEN urgent THEN %s ELSE %s END,
                acknowledged_at = CASE WHEN status <> 'new'
                    THEN least(now(), opened_at + interval '1 hour' * (1 + r_ack * 30)) END,
                closed_at = CASE WHEN status = 'closed'
                    THEN least(now(), opened_at + interval '1 day' * (2 + r_close * 90)) END;
            CREATE INDEX ON bench_case (blob_key);
            ANALYZE bench_case;
            """,  # noqa: S608 - the CASE branches come from the project's own constants
            [settings.CASEWORK_SLA_URGENT_HOURS, settings.CASEWORK_SLA_HOURS],
        )
        # Rows go in by opening time, as they would have arrived (their keys are random).
        ordered = "bench_case b ORDER BY b.opened_at, b.g"
        insert_select(
            cursor,
            SealedObject,
            {
                "blob_key": "b.blob_key",
                "header": "'\\x00'::bytea",
                "payload_size": "0",
                "created_at": "b.opened_at",
            },
            ordered,
        )
        insert_select(
            cursor,
            ReporterKey,
            {
                "lookup": "b.blob_key",
                "key_recipient": "'age1bench'",
                "sealed_key": "'\\x00'::bytea",
                "created_at": "b.opened_at",
            },
            ordered,
        )
        sealed = connection.ops.quote_name(SealedObject._meta.db_table)
        keys = connection.ops.quote_name(ReporterKey._meta.db_table)
        report_table = connection.ops.quote_name(Report._meta.db_table)
        insert_select(
            cursor,
            Report,
            {
                "reporter": "k.id",
                "urgency": "b.urgency::jsonb",
                "category": "b.category",
                "gbvims_type": "b.gbvims_type",
                "region": "b.region",
                "language": "b.language",
                "age_band": "b.age_band",
                "services": "b.services::jsonb",
                "consent_share": "b.consent_share",
                "consent_statistics": "b.consent_statistics",
                "content": "s.id",
                "sealed_to": "'[]'::jsonb",
                "status": "b.report_status",
                "created_at": "b.opened_at",
            },
            f"bench_case b JOIN {sealed} s ON s.blob_key = b.blob_key "
            f"JOIN {keys} k ON k.lookup = b.blob_key ORDER BY b.opened_at, b.g",
        )
        insert_select(
            cursor,
            Case,
            {
                "report": "rp.id",
                "organization": "b.org_id",
                "status": "b.status",
                "urgent": "b.urgent",
                "priority": "CASE WHEN b.urgent THEN 3 ELSE 1 END",
                "assignee": "b.assignee_id",
                "opened_at": "b.opened_at",
                "sla_due_at": "b.sla_due_at",
                "acknowledged_at": "b.acknowledged_at",
                "closed_at": "b.closed_at",
            },
            f"bench_case b JOIN {sealed} s ON s.blob_key = b.blob_key "
            f"JOIN {report_table} rp ON rp.content_id = s.id ORDER BY b.opened_at, b.g",
        )
        through = Case.tags.through
        case_table = connection.ops.quote_name(Case._meta.db_table)
        for tag in ("tag1", "tag2"):
            insert_select(
                cursor,
                through,
                {"case": "c.id", "tag": f"b.{tag}"},
                f"bench_case b JOIN {sealed} s ON s.blob_key = b.blob_key "
                f"JOIN {report_table} rp ON rp.content_id = s.id "
                f"JOIN {case_table} c ON c.report_id = rp.id WHERE b.{tag} IS NOT NULL",
            )
        cursor.execute("DROP TABLE bench_org, bench_case")
    # A settled database: statistics current and the visibility map set, as autovacuum
    # leaves it on a server that has been running for a while, and the load written out
    # so that the checkpointer does not compete with the first timed requests.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")
    print(f"loaded {cases:,} cases in {time.perf_counter() - started:.1f} s")


def ensure_data(cases: int, *, rebuild: bool) -> None:
    import django
    from django.core.management import call_command
    from django.db import connection

    recreate_database(drop=rebuild)
    django.setup()
    call_command("migrate", verbosity=0)
    from casework.models import Case, Organization, User

    ready = (
        User.objects.filter(username=BENCH_USER).exists()
        and Organization.objects.filter(slug=ORGANISATIONS[0][0]).exists()
        and Case.objects.count() == cases
    )
    if ready:
        print(f"reusing the {cases:,} cases already in {DB_NAME} (--rebuild reloads them)")
        return
    connection.close()
    recreate_database(drop=True)
    call_command("migrate", verbosity=0)
    load_cases(cases)


def signed_in_client():
    from django.contrib.sessions.backends.base import SessionBase
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from casework.models import User

    user = User.objects.get(username=BENCH_USER)
    # "localhost" is in the development ALLOWED_HOSTS.  "testserver" is allowed only by
    # setup_test_environment(), whose template instrumentation would slow the pages.
    client = Client(headers={"host": "localhost"})
    client.force_login(user)
    session: SessionBase = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user).persistent_id
    session.save()
    return client, user


class SqlTimer:
    """Time spent inside the database driver, per request (connection.execute_wrapper)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start


@contextmanager
def page_size(size: int):
    from django.test import override_settings

    with override_settings(CASEWORK_QUEUE_PAGE_SIZE=size):
        yield


def get_page(client, params: dict[str, str]):
    response = client.get("/fr/staff/", params)
    if response.status_code != 200:
        raise SystemExit(f"the queue answered {response.status_code} for {params}")
    return response


def rows_on(response) -> int:
    return response.content.count(b'<th scope="row"><a href="/fr/staff/cases/')


def matching(user, params: dict[str, str]) -> int:
    from casework import selectors
    from casework.models import Organization

    org = Organization.objects.get(slug=ORGANISATIONS[0][0])
    filters = selectors.QueueFilters(
        status=params.get("status", ""),
        category=params.get("category", ""),
        region=params.get("region", ""),
        urgent=params.get("urgent", ""),
        assignee=params.get("assignee", ""),
        breached=params.get("breached") == "on",
    )
    return selectors.triage_queue(user, org, filters).count()


def time_pages(client, pages, *, requests: int, warmup: int) -> list[dict]:
    """Round robin over the page types, so that a slow moment of the machine falls on all
    of them rather than on whichever page was being timed."""
    from django.db import connection

    for _ in range(warmup):
        for _, params in pages:
            get_page(client, params)
    walls: dict[str, list[float]] = {label: [] for label, _ in pages}
    sqls: dict[str, list[float]] = {label: [] for label, _ in pages}
    for _ in range(requests):
        for label, params in pages:
            timer = SqlTimer()
            with connection.execute_wrapper(timer):
                start = time.perf_counter()
                get_page(client, params)
                walls[label].append((time.perf_counter() - start) * 1000)
            sqls[label].append(timer.seconds * 1000)
    results = []
    for label, _ in pages:
        ms = sorted(walls[label])
        results.append(
            {
                "label": label,
                "p50": statistics.median(ms),
                "p95": statistics.quantiles(ms, n=20, method="inclusive")[18],
                "max": ms[-1],
                "sql_p50": statistics.median(sqls[label]),
            }
        )
    return results


def count_queries(client, pages) -> dict[str, dict[int, tuple[int, int]]]:
    """(queries, rows shown) per page type and page size."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts: dict[str, dict[int, tuple[int, int]]] = {}
    for label, params in pages:
        counts[label] = {}
        for size in PAGE_SIZES:
            with page_size(size):
                get_page(client, params)  # the same session state as the counted one
                with CaptureQueriesContext(connection) as captured:
                    response = get_page(client, params)
            counts[label][size] = (len(captured), rows_on(response))
    return counts


def explain(client, params: dict[str, str]) -> list[tuple[str, list[str]]]:
    """(SQL, EXPLAIN ANALYZE lines) for each of the page's queries on cases."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        get_page(client, params)
    plans = []
    for query in captured.captured_queries:
        sql = query["sql"]
        if not sql.startswith("SELECT") or '"casework_case"' not in sql:
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plans.append((sql, [row[0] for row in cursor.fetchall()]))
    return plans


def machine() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone()
        cursor.execute("SHOW shared_buffers")
        (buffers,) = cursor.fetchone()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        int(line.split()[1]) // 1024 // 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory} GiB, Python {platform.python_version()}, "
        f"PostgreSQL {version} (shared_buffers {buffers}) on loopback"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per page")
    parser.add_argument("--rebuild", action="store_true", help="reload the data")
    parser.add_argument("--plans", action="store_true", help="print every query's plan")
    options = parser.parse_args()

    prepare_environment()
    ensure_data(options.cases, rebuild=options.rebuild)
    from django.conf import settings

    from casework.models import Case, Organization

    client, user = signed_in_client()
    big = Organization.objects.get(slug=ORGANISATIONS[0][0])
    size = settings.CASEWORK_QUEUE_PAGE_SIZE
    open_cases = matching(user, {})
    deep = max(1, min(500, -(-open_cases // size)))
    pages = [
        (f"page {deep} (deep)", {"page": str(deep)}) if label == "deep page" else (label, params)
        for label, params in PAGES
    ]
    matches = {label: matching(user, params) for label, params in pages}
    print(
        f"\n{machine()}\n{Case.objects.count():,} cases; {big.name}: "
        f"{Case.objects.filter(organization=big).count():,} cases, {open_cases:,} open; "
        f"page size {size}; {options.requests} timed requests per page after "
        f"{options.warmup} untimed, round robin, Django test client in-process, DEBUG off"
    )
    # Two cores are easily shared: another process running meanwhile shows in the tail.
    print(f"load average before timing (1 min): {os.getloadavg()[0]:.2f}\n")
    timings = time_pages(client, pages, requests=options.requests, warmup=options.warmup)
    counts = count_queries(client, pages)

    print(f"| page | matching cases | p50 | p95 | max | SQL (p50) | p95 < {TARGET_P95_MS} ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | :---: |")
    for row in timings:
        print(
            f"| {row['label']} | {matches[row['label']]:,} | {row['p50']:.1f} ms | "
            f"{row['p95']:.1f} ms | {row['max']:.1f} ms | {row['sql_p50']:.1f} ms | "
            f"{'yes' if row['p95'] < TARGET_P95_MS else '**no**'} |"
        )
    print("\nQueries per request (rows shown) by page size:\n")
    print("| page | " + " | ".join(f"size {s}" for s in PAGE_SIZES) + " | same |")
    print("| --- |" + " ---: |" * len(PAGE_SIZES) + " :---: |")
    for label, by_size in counts.items():
        cells = " | ".join(f"{q} ({rows})" for q, rows in by_size.values())
        same = len({q for q, _ in by_size.values()}) == 1
        print(f"| {label} | {cells} | {'yes' if same else '**no**'} |")

    for label, params in (pages[0], pages[2]):
        print(f"\nEXPLAIN ANALYZE of the queries on cases behind '{label}':")
        for sql, lines in explain(client, params):
            print(f"\n{sql[:150]}{'...' if len(sql) > 150 else ''}")
            scans = [line for line in lines if "Scan" in line or "Sort Method" in line]
            shown = lines if options.plans else [*scans, lines[-1]]
            print("\n".join("    " + line.strip() for line in shown))


if __name__ == "__main__":
    main()
