"""The job engine's settings: intervals, limits and the retry schedules, all in one place."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.jobs.retention import RetentionConfig
from bot.retry import RetryPolicy


@dataclass(frozen=True, slots=True)
class EngineConfig:
    public_base_url: str | None
    poll_interval: float = 15.0
    job_timeout: float = 3600.0
    max_in_flight_per_user: int = 2  # running jobs per member; more wait in the line
    max_queued_per_user: int = 5  # waiting jobs per member; past that a job is refused
    max_concurrency: int = 5  # jobs at the provider at once (PROVIDER_MAX_CONCURRENCY)
    max_queue_wait: float = 6 * 3600.0  # a job waiting this long is cancelled and refunded
    # After the provider said it was full: one more slot each time it has been quiet this long.
    slot_recovery: float = 300.0
    full_hold: float = 30.0  # full with nothing of ours running: claims wait this long
    line_recheck: float = 30.0  # jobs waiting: look again this often (other processes free slots too)
    eta_sample: int = 20  # recent generation times the wait estimate is the median of
    max_poll_rate: float = 5.0  # provider status queries per second, across all jobs
    poll_concurrency: int = 4
    max_poll_backoff: float = 300.0
    # With callbacks, a job is polled only when its callback is this late.
    callback_grace: float = 180.0
    batch_size: int = 50
    # Submitting: a passing provider error is retried, waits doubling up to a minute.
    submit_retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(5, first_delay=2.0, max_delay=60.0))
    # Posting a finished video: any problem is retried, waits doubling up to two minutes.
    delivery_retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(8, first_delay=2.0, max_delay=120.0)
    )
    delivery_concurrency: int = 4  # downloads and re-encodes at once; more finishing at once wait their turn
    inbox_retry: float = 5.0  # seconds before a callback whose processing failed is tried again
    audit_retry: float = 30.0  # seconds before audit lines Discord did not take are posted again
    # False in a process without the worker role: it accepts jobs and callbacks into the store, and
    # the worker processes (woken through the store's notifications) submit, poll and deliver them.
    background_work: bool = True
    # What is kept and for how long: inputs, hosted results, processed callbacks, audit lines.
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    token_cache_size: int = 10_000  # callback tokens remembered (least recently used forgotten first)
    # Leases on background work (bot.jobs.leases): this process's name in them, and how long one lasts
    # unless renewed; a process that dies loses its work to another this long after its last renewal.
    instance_id: str = "klingbot"
    lease_seconds: float = 60.0
    # No other process shares the store (SQLite): leases found at start-up are a previous run's, dropped.
    sole_process: bool = False
