"""Where the Gather store lives. SQLite is the embedded default; PostgreSQL in production."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATHER_", frozen=True, extra="ignore")

    database_url: str = Field(
        default="sqlite:///.local/gather.db",
        description="GATHER_DATABASE_URL: SQLAlchemy URL, e.g. "
        "postgresql+psycopg://user@host:5432/gather or sqlite:///path/to/gather.db",
    )
    pool_size: int = Field(default=5, ge=1, description="GATHER_POOL_SIZE: PostgreSQL connections")
