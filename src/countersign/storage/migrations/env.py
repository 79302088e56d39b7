"""Alembic environment: the engine comes from `countersign.storage.db.alembic_config`."""

from alembic import context
from sqlmodel import SQLModel

from countersign.storage.tables import compared_by_alembic  # (and registers the tables on SQLModel.metadata)
from countersign.storage.db import WRITE

config = context.config
engine = config.attributes["engine"]

# One write transaction (countersign.storage.db.WRITE): on SQLite it holds the write lock
# from its start, so processes that migrate at once take turns.
with engine.execution_options(**WRITE).begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=True,  # SQLite needs batch mode to alter tables
        include_object=compared_by_alembic(connection.dialect.name),
    )
    context.run_migrations()
