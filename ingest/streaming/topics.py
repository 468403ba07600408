"""Create the event topics before producing or consuming, the same way from both sides."""

from __future__ import annotations

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

DEFAULT_PARTITIONS = 4
# The Tansu development broker answers DescribeConfigs with only the settings a topic was
# created with; giving these keeps clients that read them working (harmless on Kafka).
_TOPIC_CONFIG = {"retention.ms": "604800000", "retention.bytes": "-1"}


class KafkaUnavailable(RuntimeError):
    """The brokers in KAFKA_BOOTSTRAP cannot be reached."""


def client_config(bootstrap: str) -> dict[str, str | int]:
    """librdkafka settings every client here uses. A 6 s session timeout makes group joins
    on the Tansu broker take 3 s instead of 23 s; it is also fine on Kafka and Redpanda."""
    return {
        "bootstrap.servers": bootstrap,
        "session.timeout.ms": 6000,
        "max.poll.interval.ms": 20000,
    }


def ensure_topics(bootstrap: str, names: list[str], partitions: int = DEFAULT_PARTITIONS) -> None:
    """Create missing topics; existing ones keep their partition count."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        existing = set(admin.list_topics(timeout=10).topics)
    except KafkaException as exc:
        raise KafkaUnavailable(
            f"cannot reach Kafka at KAFKA_BOOTSTRAP={bootstrap} within 10s ({exc.args[0]}): "
            "start a broker (`python -m ingest broker` for local development)"
        ) from exc
    missing = [name for name in names if name not in existing]
    if not missing:
        return
    futures = admin.create_topics(
        [NewTopic(name, partitions, 1, config=_TOPIC_CONFIG) for name in missing],
        operation_timeout=10,
    )
    for name, future in futures.items():
        try:
            future.result()
        except Exception as exc:  # TOPIC_ALREADY_EXISTS from a concurrent creator is fine
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise RuntimeError(f"cannot create topic {name!r}: {exc}") from exc
