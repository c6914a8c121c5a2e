"""Pure logic of the read models' row changes (kernel.readmodel): the one statement each shape
of change is written with where events are written, built once per shape, and a computed value
folded from the row as it was before the change, as SQL's SET reads it. (That the statements
and the fold build the same tables is shown against PostgreSQL by
tests/dossiers/test_register_rebuild.)"""

from __future__ import annotations

from uuid import UUID

from psycopg.sql import Identifier

from motcua.kernel.readmodel import Computed, RowChange, RowsChange, _fold, change_statement

TABLE = Identifier("public", "things")
ID = UUID(int=1)


def test_an_insert_leaves_an_existing_row_alone_and_an_upsert_replaces_its_values():
    text, params = change_statement(RowChange(TABLE, {"id": ID}, {"name": "Đào", "n": 1}, insert=True))
    assert text.as_string() == ('INSERT INTO "public"."things" ("id", "name", "n") VALUES (%(_key_id)s, %(name)s, '
                                '%(n)s) ON CONFLICT ("id") DO NOTHING')
    assert params == {"_key_id": ID, "name": "Đào", "n": 1}
    text, _ = change_statement(RowChange(TABLE, {"id": ID}, {"name": "Đào"}, insert=True, upsert=True))
    assert text.as_string().endswith('ON CONFLICT ("id") DO UPDATE SET "name" = EXCLUDED."name"')


def test_an_update_sets_values_and_computed_expressions_by_key_its_sql_built_once_per_shape():
    change = RowChange(TABLE, {"id": ID, "at": 3}, {"name": "Ánh", "n": Computed("n + %(_by)s", {"_by": 2},
                                                                                  lambda row: row["n"] + 2)})
    text, params = change_statement(change)
    assert text.as_string() == ('UPDATE "public"."things" SET "name" = %(name)s, "n" = n + %(_by)s '
                                'WHERE "id" = %(_key_id)s AND "at" = %(_key_at)s')
    assert params == {"_key_id": ID, "_key_at": 3, "name": "Ánh", "_by": 2}
    again, _ = change_statement(RowChange(TABLE, {"id": UUID(int=2), "at": 4}, {"name": "Huy", "n": Computed(
        "n + %(_by)s", {"_by": 5}, lambda row: row["n"] + 5)}))
    assert again is text


def test_a_change_of_every_row_with_a_value_updates_where_that_column_has_it():
    text, params = change_statement(RowsChange(TABLE, "subject", "person:1", {"name": "[đã xóa]"}))
    assert text.as_string() == 'UPDATE "public"."things" SET "name" = %(name)s WHERE "subject" = %(_where)s'
    assert params == {"_where": "person:1", "name": "[đã xóa]"}


def test_computed_values_are_folded_from_the_row_as_it_was():
    row = {"n": 1, "m": 10, "name": "x"}
    _fold(row, {"n": Computed("m", {}, lambda r: r["m"]), "m": Computed("n", {}, lambda r: r["n"]), "name": "y"})
    assert row == {"n": 10, "m": 1, "name": "y"}  # swapped, as SET n = m, m = n swaps them
