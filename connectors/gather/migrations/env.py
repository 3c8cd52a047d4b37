"""Alembic environment: runs on the engine handed over by `connectors.gather.migrate`."""

from __future__ import annotations

from alembic import context

from connectors.gather.schema import exists_on, metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
        include_object=lambda _obj, name, kind, _reflected, _other: exists_on(
            connection.dialect.name, kind, name
        ),
    )
    context.run_migrations()
