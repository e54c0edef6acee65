"""Exports traces, metrics and logs with the official Python OpenTelemetry SDK.

Usage: export.py GRPC_ENDPOINT HTTP_ENDPOINT

For each transport, OTLP/gRPC (service "py-grpc") and OTLP/HTTP protobuf, gzip-compressed
(service "py-http-gzip"), the scenario of viewer/tests/interop/mod.rs:
- a nested trace: "GET /interop" [server] with a child "query" [client] that fails ("db down");
- a `requests` counter: 3 then 4 with endpoint="a b", 5 with endpoint=x (a collection between
  the two adds; cumulative over gRPC, delta over HTTP, so both read 7 and 5);
- a `interop.latency` histogram in ms, bounds 10, 50, 100: 5, 20, 30, 40, 60, 70, 80, 200
  (count 8, sum 505; p50 in (10, 50]), split over the two collections;
- a warning log record, "order failed over <transport>", emitted inside the "GET /interop" span.

Prints one line per transport, `<transport> <trace id> <span id>`: the ids of "GET /interop", which
the log record must carry.
"""

import logging
import sys

from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogs
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
    OTLPMetricExporter as GrpcMetrics,
)
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogs
from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
    OTLPMetricExporter as HttpMetrics,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpans
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

grpc_endpoint, http_endpoint = sys.argv[1], sys.argv[2]

DELTA = {
    Counter: AggregationTemporality.DELTA,
    Histogram: AggregationTemporality.DELTA,
}


def export(transport, spans, metrics, logs):
    resource = Resource.create({"service.name": f"py-{transport}"})

    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(spans))
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(logs))
    reader = PeriodicExportingMetricReader(metrics, export_interval_millis=600000)
    meter_provider = MeterProvider(metric_readers=[reader], resource=resource)

    meter = meter_provider.get_meter("interop")
    requests = meter.create_counter("requests", unit="1", description="incoming requests")
    latency = meter.create_histogram(
        "interop.latency", unit="ms", explicit_bucket_boundaries_advisory=[10.0, 50.0, 100.0]
    )
    requests.add(3, {"endpoint": "a b"})
    requests.add(5, {"endpoint": "x"})
    for v in [5, 20, 30, 40]:
        latency.record(v, {"route": "/interop"})
    meter_provider.force_flush()
    requests.add(4, {"endpoint": "a b"})
    for v in [60, 70, 80, 200]:
        latency.record(v, {"route": "/interop"})

    logger = logging.getLogger(f"interop.{transport}")
    logger.propagate = False
    logger.addHandler(LoggingHandler(logger_provider=logger_provider))

    tracer = tracer_provider.get_tracer("interop")
    with tracer.start_as_current_span("GET /interop", kind=SpanKind.SERVER) as root:
        root.set_attribute("http.request.method", "GET")
        logger.warning("order failed over %s", transport)
        with tracer.start_as_current_span("query", kind=SpanKind.CLIENT) as child:
            child.add_event("retry", {"attempt": 2})
            child.set_status(Status(StatusCode.ERROR, "db down"))
        ctx = root.get_span_context()

    tracer_provider.shutdown()
    meter_provider.shutdown()
    logger_provider.shutdown()
    print(f"{transport} {ctx.trace_id:032x} {ctx.span_id:016x}", flush=True)


export(
    "grpc",
    GrpcSpans(endpoint=grpc_endpoint, insecure=True),
    GrpcMetrics(endpoint=grpc_endpoint, insecure=True),
    GrpcLogs(endpoint=grpc_endpoint, insecure=True),
)
export(
    "http-gzip",
    HttpSpans(endpoint=http_endpoint + "/v1/traces", compression=Compression.Gzip),
    HttpMetrics(
        endpoint=http_endpoint + "/v1/metrics",
        preferred_temporality=DELTA,
        compression=Compression.Gzip,
    ),
    HttpLogs(endpoint=http_endpoint + "/v1/logs", compression=Compression.Gzip),
)
