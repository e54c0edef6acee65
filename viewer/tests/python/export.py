"""Exports a small nested trace, metrics and logs with the official Python OpenTelemetry SDK.

Usage: export.py GRPC_ENDPOINT HTTP_ENDPOINT
Sends one trace over OTLP/gRPC (service "py-grpc"), one over OTLP/HTTP protobuf
(service "py-http"), a counter over gRPC and a log record over HTTP, then flushes.
"""

import logging
import sys

from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpans
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpans
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

grpc_endpoint, http_endpoint = sys.argv[1], sys.argv[2]


def traced(service, exporter):
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("interop")
    with tracer.start_as_current_span("GET /py", kind=SpanKind.SERVER) as root:
        root.set_attribute("http.request.method", "GET")
        with tracer.start_as_current_span("query", kind=SpanKind.CLIENT) as child:
            child.add_event("retry", {"attempt": 2})
            child.set_status(Status(StatusCode.ERROR, "db down"))
    provider.shutdown()


traced("py-grpc", GrpcSpans(endpoint=grpc_endpoint, insecure=True))
traced("py-http", HttpSpans(endpoint=http_endpoint + "/v1/traces"))

reader = PeriodicExportingMetricReader(
    OTLPMetricExporter(endpoint=grpc_endpoint, insecure=True), export_interval_millis=60000
)
meters = MeterProvider(metric_readers=[reader], resource=Resource.create({"service.name": "py"}))
meters.get_meter("interop").create_counter("requests").add(3, {"endpoint": "x"})
meters.shutdown()

logs = LoggerProvider(resource=Resource.create({"service.name": "py"}))
logs.add_log_record_processor(
    BatchLogRecordProcessor(OTLPLogExporter(endpoint=http_endpoint + "/v1/logs"))
)
logger = logging.getLogger("interop")
logger.addHandler(LoggingHandler(logger_provider=logs))
logger.warning("hello from python")
logs.shutdown()
print("exported")
