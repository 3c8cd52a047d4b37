"""Bring a store's schema to the version this code needs (Alembic, on PostgreSQL and SQLite)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from connectors.gather.errors import MigrationError

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(lambda cfg: command.upgrade(cfg, revision), engine)


def downgrade(engine: Engine, revision: str = "base") -> None:
    _run(lambda cfg: command.downgrade(cfg, revision), engine)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _run(action: Callable[[Config], None], engine: Engine) -> None:
    try:
        action(alembic_config(engine))
    except SQLAlchemyError as e:
        raise MigrationError(f"migration failed on {engine.url.render_as_string()}: {e}") from e
