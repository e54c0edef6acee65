// Exports traces, metrics and logs with the official OpenTelemetry Node.js SDK (npm
// @opentelemetry/sdk-node and the OTLP exporters; versions pinned by package-lock.json).
//
// Usage: node export.mjs GRPC_URL HTTP_URL
//
// For each transport the scenario of viewer/tests/interop/mod.rs, as service "node-<transport>":
// - "grpc": the -otlp-grpc exporters, metrics cumulative;
// - "http-proto-gzip": the -otlp-proto exporters (OTLP/HTTP protobuf), gzip, metrics delta;
// - "http-json": the -otlp-http exporters (OTLP/HTTP JSON), metrics delta.
// The scenario:
// - a nested trace: "GET /interop" [server] with a child "query" [client] that fails ("db down")
//   after an event "retry" (attempt = 2, an integer);
// - a `requests` counter: 3 then 4 with endpoint="a b", 5 with endpoint=x, a collection (the
//   metric reader's forceFlush) between the two adds;
// - an `interop.latency` histogram in ms, bounds 10, 50, 100 (advice): 5, 20, 30, 40, then after
//   the collection 60, 70, 80, 200;
// - a WARN log record, "order failed over <transport>", emitted while "GET /interop" is active.
//
// Prints one line per transport after shutting its providers down, `<transport> <trace id>
// <span id>`: the ids of "GET /interop", which the log record must carry. Exits 1 (with the
// reasons on stderr) if any export failed.

import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { SeverityNumber } from "@opentelemetry/api-logs";
import { api, logs, metrics, node, resources } from "@opentelemetry/sdk-node";
import { OTLPTraceExporter as GrpcSpans } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPMetricExporter as GrpcMetrics } from "@opentelemetry/exporter-metrics-otlp-grpc";
import { OTLPLogExporter as GrpcLogs } from "@opentelemetry/exporter-logs-otlp-grpc";
import { OTLPTraceExporter as ProtoSpans } from "@opentelemetry/exporter-trace-otlp-proto";
import { OTLPMetricExporter as ProtoMetrics } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPLogExporter as ProtoLogs } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPTraceExporter as JsonSpans } from "@opentelemetry/exporter-trace-otlp-http";
import {
  AggregationTemporalityPreference,
  OTLPMetricExporter as JsonMetrics,
} from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPLogExporter as JsonLogs } from "@opentelemetry/exporter-logs-otlp-http";

const { SpanKind, SpanStatusCode, context, diag, DiagConsoleLogger, DiagLogLevel } = api;

const [grpcUrl, httpUrl] = process.argv.slice(2);
if (!grpcUrl || !httpUrl) {
  console.error("usage: node export.mjs GRPC_URL HTTP_URL");
  process.exit(2);
}

// The SDK's own warnings and errors (console.warn / console.error: stderr).
diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);
// One context manager for the process, so startActiveSpan makes a span current and the logger
// picks it up (what NodeTracerProvider.register() would install, without a global provider).
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

// The exporters report failures only to their callbacks; remember them, so a refused export
// fails this client rather than showing up as missing data.
const failures = [];
function checked(what, exporter) {
  const send = exporter.export.bind(exporter);
  exporter.export = (items, done) =>
    send(items, (result) => {
      if (result.code !== 0) {
        failures.push(`${what}: ${result.error?.message ?? result.error ?? "failed"}`);
      }
      done(result);
    });
  return exporter;
}

async function send(transport, spanExporter, metricExporter, logExporter) {
  const resource = resources.resourceFromAttributes({ "service.name": `node-${transport}` });

  const tracerProvider = new node.NodeTracerProvider({
    resource,
    spanProcessors: [new node.BatchSpanProcessor(checked(`${transport} spans`, spanExporter))],
  });
  const reader = new metrics.PeriodicExportingMetricReader({
    exporter: checked(`${transport} metrics`, metricExporter),
    exportIntervalMillis: 600_000,
  });
  const meterProvider = new metrics.MeterProvider({ resource, readers: [reader] });
  const loggerProvider = new logs.LoggerProvider({
    resource,
    processors: [
      // sdk-logs 0.223 takes an options object (sdk-trace-base's span processor, the exporter).
      new logs.BatchLogRecordProcessor({ exporter: checked(`${transport} logs`, logExporter) }),
    ],
  });

  const meter = meterProvider.getMeter("interop");
  const requests = meter.createCounter("requests", {
    unit: "1",
    description: "incoming requests",
  });
  const latency = meter.createHistogram("interop.latency", {
    unit: "ms",
    advice: { explicitBucketBoundaries: [10, 50, 100] },
  });
  requests.add(3, { endpoint: "a b" });
  requests.add(5, { endpoint: "x" });
  for (const v of [5, 20, 30, 40]) latency.record(v, { route: "/interop" });
  await reader.forceFlush(); // the collection
  requests.add(4, { endpoint: "a b" });
  for (const v of [60, 70, 80, 200]) latency.record(v, { route: "/interop" });

  const logger = loggerProvider.getLogger("interop");
  const tracer = tracerProvider.getTracer("interop");
  const ids = tracer.startActiveSpan(
    "GET /interop",
    { kind: SpanKind.SERVER, attributes: { "http.request.method": "GET" } },
    (root) => {
      // No explicit context: the SDK takes the active one, where "GET /interop" is current.
      logger.emit({
        severityNumber: SeverityNumber.WARN,
        severityText: "WARN",
        body: `order failed over ${transport}`,
      });
      tracer.startActiveSpan("query", { kind: SpanKind.CLIENT }, (child) => {
        child.addEvent("retry", { attempt: 2 });
        child.setStatus({ code: SpanStatusCode.ERROR, message: "db down" });
        child.end();
      });
      root.end();
      return root.spanContext();
    },
  );

  await tracerProvider.shutdown();
  await meterProvider.shutdown();
  await loggerProvider.shutdown();
  console.log(`${transport} ${ids.traceId} ${ids.spanId}`);
}

await send(
  "grpc",
  new GrpcSpans({ url: grpcUrl }),
  new GrpcMetrics({ url: grpcUrl }), // cumulative, the default
  new GrpcLogs({ url: grpcUrl }),
);
await send(
  "http-proto-gzip",
  new ProtoSpans({ url: `${httpUrl}/v1/traces`, compression: "gzip" }),
  new ProtoMetrics({
    url: `${httpUrl}/v1/metrics`,
    compression: "gzip",
    temporalityPreference: AggregationTemporalityPreference.DELTA,
  }),
  new ProtoLogs({ url: `${httpUrl}/v1/logs`, compression: "gzip" }),
);
await send(
  "http-json",
  new JsonSpans({ url: `${httpUrl}/v1/traces` }),
  new JsonMetrics({
    url: `${httpUrl}/v1/metrics`,
    temporalityPreference: AggregationTemporalityPreference.DELTA,
  }),
  new JsonLogs({ url: `${httpUrl}/v1/logs` }),
);

if (failures.length > 0) {
  console.error(`exports failed:\n${failures.join("\n")}`);
  process.exit(1);
}
