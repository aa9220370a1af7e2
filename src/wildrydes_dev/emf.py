"""What CloudWatch does with an embedded-metric-format (EMF) log line, for emulators that do not.

On AWS, CloudWatch Logs turns every log line of a function that carries an ``_aws.CloudWatchMetrics``
directive (what Powertools Metrics prints) into metric data: for each directive, each dimension set and
each metric named, one datum in the directive's namespace with the dimension values and the metric value
read from the same line. LocalStack 4.14 stores those lines as plain log events and extracts nothing, so an
alarm on a function's own metric (``WildRydes/ModelRejects``) never sees data there. ``metric_data`` gives
the ``PutMetricData`` calls CloudWatch would have made for one line, so a LocalStack test can replay the
function's real log output into CloudWatch (docs/localstack.md).

Spec: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

EMF_METADATA_KEY = "_aws"
DIRECTIVES_KEY = "CloudWatchMetrics"
MILLIS_PER_SECOND = 1000


@dataclass(frozen=True)
class MetricPut:
    """One ``PutMetricData`` call: a namespace and its data (boto3's ``MetricData`` shape)."""

    namespace: str
    data: tuple[dict[str, Any], ...]

    def kwargs(self) -> dict[str, Any]:
        return {"Namespace": self.namespace, "MetricData": list(self.data)}


def parse_line(message: str) -> dict[str, Any] | None:
    """The EMF record in a log message, or None when the message is not an EMF line."""
    try:
        record = json.loads(message)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    metadata = record.get(EMF_METADATA_KEY)
    if not isinstance(metadata, dict) or not isinstance(metadata.get(DIRECTIVES_KEY), list):
        return None
    return record


def metric_data(record: dict[str, Any]) -> list[MetricPut]:
    """The metric data CloudWatch extracts from one EMF record (see the module docstring).

    A dimension or metric the record does not carry is skipped, as CloudWatch does; a list of several
    values becomes ``Values`` (EMF allows up to 100 values per metric)."""
    metadata = record[EMF_METADATA_KEY]
    timestamp = dt.datetime.fromtimestamp(metadata["Timestamp"] / MILLIS_PER_SECOND, tz=dt.UTC)
    puts: list[MetricPut] = []
    for directive in metadata[DIRECTIVES_KEY]:
        data: list[dict[str, Any]] = []
        for dimension_set in directive.get("Dimensions", []) or [[]]:
            if any(name not in record for name in dimension_set):
                continue
            dimensions = [{"Name": name, "Value": str(record[name])} for name in dimension_set]
            for metric in directive.get("Metrics", []):
                name = metric["Name"]
                if name not in record:
                    continue
                datum: dict[str, Any] = {"MetricName": name, "Dimensions": dimensions, "Timestamp": timestamp}
                value = record[name]
                if isinstance(value, list) and len(value) != 1:
                    datum["Values"] = [float(v) for v in value]
                else:  # Powertools writes one value as a one-item list: the same datum as a scalar
                    datum["Value"] = float(value[0] if isinstance(value, list) else value)
                if metric.get("Unit"):
                    datum["Unit"] = metric["Unit"]
                data.append(datum)
        if data:
            puts.append(MetricPut(directive["Namespace"], tuple(data)))
    return puts


def metric_puts(messages: Iterable[str], metric_names: frozenset[str] | None = None) -> list[MetricPut]:
    """Every ``PutMetricData`` call CloudWatch would make for these log messages (only the named metrics
    when ``metric_names`` is given)."""
    puts: list[MetricPut] = []
    for message in messages:
        record = parse_line(message)
        if record is None:
            continue
        for put in metric_data(record):
            data = tuple(d for d in put.data if metric_names is None or d["MetricName"] in metric_names)
            if data:
                puts.append(MetricPut(put.namespace, data))
    return puts
