"""The triggers that make a record table append-only, for the migrations that create such tables.

PostgreSQL: one statement trigger calling `countersign_append_only()` (made by migration 0005),
which names the table and the refused operation. SQLite: one trigger per refused operation.
"""

from alembic import op


def protect(table: str) -> None:
    """Refuse every UPDATE and DELETE (and, on PostgreSQL, TRUNCATE) of `table`."""
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"""
            CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION countersign_append_only()
        """)
    else:
        for action in ('UPDATE', 'DELETE'):
            op.execute(f"""
                CREATE TRIGGER {table}_append_only_{action.lower()} BEFORE {action} ON {table}
                BEGIN SELECT RAISE(ABORT, '{table}: entries are append-only; {action} refused'); END
            """)


def unprotect(table: str) -> None:
    """Drop `protect`'s triggers (a downgrade that keeps the table)."""
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    else:
        for action in ('update', 'delete'):
            op.execute(f"DROP TRIGGER {table}_append_only_{action}")
