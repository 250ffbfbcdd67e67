"""What the random-keys migrations share (evidence 0004, reporting 0003, casework 0012).

Not a migration itself: the loader skips modules whose name starts with "_".  Kept here,
in the lowest layer, because it names no app: it finds the columns to rewrite from the
historical models it is given.
"""

from __future__ import annotations

from collections import defaultdict

from evidence.ids import RANDOM_ID_FLOOR, random_id

_BATCH = 1000


def number_within(model, parent: str) -> None:
    """Set ``position`` to 1, 2, ... within each parent, in the order of the old
    sequential keys: the order the rows were made, which the keys are about to lose."""
    rows = model.objects.order_by(parent, "pk").values_list("pk", parent)
    seen: dict[int, int] = defaultdict(int)
    changed = []
    for pk, parent_id in rows.iterator(chunk_size=_BATCH):
        seen[parent_id] += 1
        changed.append(model(pk=pk, position=seen[parent_id]))
        if len(changed) >= _BATCH:
            model.objects.bulk_update(changed, ["position"])
            changed = []
    if changed:
        model.objects.bulk_update(changed, ["position"])


def _pointers(apps, target) -> list[tuple[str, str]]:
    """(table, column) of every foreign key, one-to-one and many-to-many link that
    points at ``target``'s primary key, in any app."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.local_fields:
            related = field.remote_field
            if related is None or not field.concrete:
                continue
            if related.model._meta.concrete_model is not target._meta.concrete_model:
                continue
            if not field.target_field.primary_key:
                continue  # points at another column (a unique slug, say): untouched
            found.append((model._meta.db_table, field.column))
    return found


def renumber(apps, schema_editor, labels: list[str]) -> dict[str, int]:
    """Give every row of each model a random key (evidence/ids.py), rewriting every
    column that points at it, in the migration's one transaction.

    Rows that already have a random key are left alone, so running it twice changes
    nothing.  No map from old to new keys is kept anywhere: the temporary table that
    carries it lives only for this transaction (and is not written to the WAL), since a
    kept map would keep the very order this removes.  Returns how many rows each model
    had renumbered.

    Foreign keys are checked at the end of the transaction (PostgreSQL's are created
    DEFERRABLE INITIALLY DEFERRED; SQLite's migrations run with them off and check them
    on the way out), so parents and children can be rewritten one after the other.
    Because new keys start above every old one, no row ever collides on the way.
    """
    connection = schema_editor.connection
    quote = schema_editor.quote_name
    counts = {}
    with connection.cursor() as cursor:
        for label in labels:
            model = apps.get_model(label)
            table, pk = model._meta.db_table, model._meta.pk.column
            cursor.execute(
                f"SELECT {quote(pk)} FROM {quote(table)} WHERE {quote(pk)} < %s",  # noqa: S608
                [RANDOM_ID_FLOOR],
            )
            old = [row[0] for row in cursor.fetchall()]
            counts[label] = len(old)
            if not old:
                continue
            cursor.execute(
                f"SELECT {quote(pk)} FROM {quote(table)} WHERE {quote(pk)} >= %s",  # noqa: S608
                [RANDOM_ID_FLOOR],
            )
            taken = {row[0] for row in cursor.fetchall()}
            new: set[int] = set()
            while len(new) < len(old):
                candidate = random_id()
                if candidate not in taken:
                    new.add(candidate)
            cursor.execute(
                "CREATE TEMPORARY TABLE random_key_map"
                " (old bigint PRIMARY KEY, new bigint NOT NULL)"
            )
            pairs = list(zip(old, new, strict=True))
            for start in range(0, len(pairs), _BATCH):
                cursor.executemany(
                    "INSERT INTO random_key_map (old, new) VALUES (%s, %s)",
                    pairs[start : start + _BATCH],
                )
            for child_table, column in [*_pointers(apps, model), (table, pk)]:
                child, col = quote(child_table), quote(column)
                cursor.execute(
                    f"UPDATE {child} SET {col} = "  # noqa: S608 (names come from the models)
                    f"(SELECT new FROM random_key_map WHERE old = {child}.{col}) "
                    f"WHERE {col} IN (SELECT old FROM random_key_map)"
                )
            cursor.execute("DROP TABLE random_key_map")
    return counts
