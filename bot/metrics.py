"""Prometheus metrics. One registry per bot instance, so tests can run several bots in one process."""

from __future__ import annotations

from functools import partial

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_GENERATION_BUCKETS = (10, 30, 60, 90, 120, 180, 300, 600, 1200, 3600)
_QUEUE_WAIT_BUCKETS = (1, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.jobs = Counter("klingbot_jobs", "Jobs by kind and outcome", ["kind", "outcome"], registry=r)
        self.generation_seconds = Histogram(
            "klingbot_generation_seconds",
            "Time from submission to the provider's result",
            ["kind"],
            buckets=_GENERATION_BUCKETS,
            registry=r,
        )
        self.callbacks = Counter(
            "klingbot_callbacks", "Callbacks received, by result", ["result"], registry=r
        )
        self.polls = Counter("klingbot_polls", "Provider status queries, by result", ["result"], registry=r)
        self.delivery_latency_seconds = Histogram(
            "klingbot_delivery_latency_seconds",
            "Time from the provider's result reaching the bot to the video being posted",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.discord_errors = Counter(
            "klingbot_discord_errors", "Discord API errors, by HTTP status", ["status"], registry=r
        )
        self.provider_errors = Counter(
            "klingbot_provider_errors", "Provider errors, by category", ["category"], registry=r
        )
        self.jobs_in_flight = Gauge(
            "klingbot_jobs_in_flight",
            "Jobs accepted and not yet finished (posted or failed), by state",
            ["state"],
            registry=r,
        )
        # Operator-facing series (alerts and the dashboard in deploy/ use them).
        self.deliveries_given_up = Counter(
            "klingbot_deliveries_given_up", "Finished videos the bot stopped trying to post", registry=r
        )
        gauge = partial(Gauge, registry=r)
        self.gateway_connected = gauge("klingbot_gateway_connected", "1 while the gateway is up, else 0")
        self.media_bytes = gauge("klingbot_media_bytes", "Bytes of job inputs and hosted results kept")
        self.inbox_backlog = gauge("klingbot_inbox_backlog", "Callbacks stored and not yet processed")
        self.disk_free_bytes = gauge("klingbot_disk_free_bytes", "Free bytes on the media disk")
        self.disk_size_bytes = gauge("klingbot_disk_size_bytes", "Size of the media disk")
        self._line_metrics(r)

    def _line_metrics(self, r: CollectorRegistry) -> None:
        """The line and the provider's slots (bot.jobs.queue)."""
        gauge = partial(Gauge, registry=r)
        self.queue_length = gauge("klingbot_queue_length", "Jobs waiting in the line for a provider slot")
        self.queue_oldest_timestamp = gauge(
            "klingbot_queue_oldest_timestamp_seconds",
            "When the longest-waiting job joined the line (Unix time; 0 when nobody waits)",
        )
        self.queue_wait_seconds = Histogram(
            "klingbot_queue_wait_seconds",
            "Time from acceptance to leaving the line for the provider",
            buckets=_QUEUE_WAIT_BUCKETS,
            registry=r,
        )
        self.slots_in_use = gauge("klingbot_provider_slots_in_use", "Jobs claimed or running at the provider")
        self.slot_limit = gauge(
            "klingbot_provider_slot_limit", "Slots the line fills now (lowered while the provider is full)"
        )
        self.jobs_cancelled = Counter(
            "klingbot_jobs_cancelled", "Jobs taken out of the line, by reason", ["reason"], registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
