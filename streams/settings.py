"""The Faust worker's settings (one frozen class for the deployable); Kafka's are KafkaSettings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WORKER_", frozen=True, extra="ignore")

    app_id: str = Field(
        default="gather-sync-worker",
        description="WORKER_APP_ID: the consumer group, and the prefix of the tables' changelogs",
    )
    web_port: int = Field(default=6066, description="WORKER_WEB_PORT: Faust's web server")
    datadir: str = Field(default=".local/faust", description="WORKER_DATADIR: Faust's local state")
    store: Literal["memory://", "rocksdb://"] = Field(
        default="memory://",
        description="WORKER_STORE: where tables live between restarts; memory:// rebuilds them "
        "from their changelogs at start, rocksdb:// keeps them on disk under WORKER_DATADIR",
    )

    commit_interval: float = Field(
        default=2.8,
        gt=0,
        description="WORKER_COMMIT_INTERVAL: seconds between offset commits (Faust's default); "
        "a crash replays at most this much, which the merge absorbs",
    )

    batch_size: int = Field(
        default=1000,
        gt=0,
        description="WORKER_BATCH_SIZE: most changes (or deal moves) handled as one batch: "
        "merged, evaluated, sent and acknowledged together, each record's state written once",
    )
    batch_seconds: float = Field(
        default=0.05,
        gt=0,
        description="WORKER_BATCH_SECONDS: how long a batch waits to fill before it is handled "
        "with what came; the most a change waits on an idle worker",
    )

    retry_base: float = Field(
        default=0.5,
        gt=0,
        description="WORKER_RETRY_BASE: first wait, in seconds, before sending again what the "
        "broker did not acknowledge (doubling per attempt up to WORKER_RETRY_CAP, with jitter)",
    )
    retry_cap: float = Field(
        default=30.0, gt=0, description="WORKER_RETRY_CAP: the longest wait between two sends"
    )

    def changelog(self, table: str) -> str:
        """Faust's name for a table's changelog topic (faust/tables/base.py)."""
        return f"{self.app_id}-{table}-changelog"
