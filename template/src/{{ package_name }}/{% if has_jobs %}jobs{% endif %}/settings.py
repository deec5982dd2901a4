"""The worker's settings (part of the service's ``Settings``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class JobsSettings(BaseSettings):
    #: Jobs one worker process runs at once (``worker --concurrency`` overrides it).
    jobs_concurrency: int = Field(default=10, ge=1, le=500)
    #: A failed job waits this long before its second run, twice as long before each next.
    jobs_retry_base_seconds: float = Field(default=2.0, ge=0)
    #: The longest wait between two runs of a failing job.
    jobs_retry_max_seconds: float = Field(default=600.0, ge=0)
    #: How often a job of a suspended (or still provisioning) tenant is tried again.
    jobs_unavailable_retry_seconds: float = Field(default=300.0, ge=1)
    #: On SIGTERM, running jobs get this long to finish; then they are handed back.
    jobs_shutdown_grace_seconds: float = Field(default=30.0, ge=0)
    #: A worker silent (no heartbeat) this long is dead: its jobs are queued again.
    jobs_stalled_after_seconds: float = Field(default=60.0, ge=3)
    #: Succeeded jobs are deleted after this many hours (failed ones are kept).
    jobs_keep_finished_hours: int = Field(default=168, ge=1)
