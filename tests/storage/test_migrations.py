"""Alembic migrations, on a fresh database of each kind: upgrade from empty,
downgrade to nothing, step by step both ways, and the migrated schema equal
to what the models declare (a model changed without a migration fails here)."""

from __future__ import annotations

import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import countersign.storage.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from countersign.storage.db import alembic_config, downgrade, migrate
from countersign.storage.tables import compared_by_alembic

MODEL_TABLES = set(SQLModel.metadata.tables)


def tables(engine) -> set[str]:
    return set(sqlalchemy.inspect(engine).get_table_names()) - {"alembic_version"}


def current_revision(engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def enum_types(engine) -> set[str]:
    """PostgreSQL's named types that `CREATE TABLE` made for enum columns."""
    if engine.dialect.name != "postgresql":
        return set()
    with engine.connect() as conn:
        return set(conn.exec_driver_sql("SELECT typname FROM pg_type WHERE typtype = 'e'").scalars())


def script(engine) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(engine))


def revisions_in_order(engine) -> list[str]:
    """Base first, head last."""
    return [rev.revision for rev in reversed(list(script(engine).walk_revisions()))]


def test_one_head_only(empty_engine):
    """Two engineers' migrations on one base must be merged before release."""
    assert len(script(empty_engine).get_heads()) == 1


def test_upgrade_from_empty_to_head(empty_engine):
    assert tables(empty_engine) == set()
    migrate(empty_engine)
    assert tables(empty_engine) == MODEL_TABLES
    assert current_revision(empty_engine) == script(empty_engine).get_current_head()


def test_downgrade_to_base_leaves_nothing(empty_engine):
    migrate(empty_engine)
    downgrade(empty_engine)
    assert tables(empty_engine) == set()
    assert enum_types(empty_engine) == set()
    assert current_revision(empty_engine) is None


def test_every_revision_steps_up_and_down(empty_engine):
    revisions = revisions_in_order(empty_engine)
    for revision in revisions:
        migrate(empty_engine, revision)
        assert current_revision(empty_engine) == revision
    for expected in [*reversed(revisions[:-1]), None]:
        downgrade(empty_engine, "-1")
        assert current_revision(empty_engine) == expected
    migrate(empty_engine)  # and up again, over what the downgrades left
    assert tables(empty_engine) == MODEL_TABLES


def differences(engine, metadata: sqlalchemy.MetaData = SQLModel.metadata) -> list:
    """What `alembic revision --autogenerate` would put in a new migration."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True,
                                                         "include_object": compared_by_alembic(conn.dialect.name)})
        return compare_metadata(context, metadata)


def test_migrated_schema_matches_the_models(empty_engine):
    migrate(empty_engine)
    found = differences(empty_engine)
    assert found == [], (
        "the models and the migrations disagree; add a migration with\n"
        "  alembic revision --autogenerate (see src/countersign/migrations)\n"
        f"differences: {found}"
    )


def test_a_model_change_without_a_migration_is_caught(empty_engine):
    """The comparison above is not blind: a new column, a dropped index and a
    changed type in the models all show up."""
    migrate(empty_engine)
    changed = sqlalchemy.MetaData()
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["proposal"].append_column(sqlalchemy.Column("launch_market", sqlalchemy.String(2)))
    audit = changed.tables["audit_entry"]
    audit.indexes.remove(next(index for index in audit.indexes if index.name == "ix_audit_entry_kind"))
    changed.tables["decision"].c.party.type = sqlalchemy.Integer()
    kinds = {(diff[0] if isinstance(diff, tuple) else diff[0][0]) for diff in differences(empty_engine, changed)}
    assert {"add_column", "remove_index", "modify_type"} <= kinds
