// Command go-client exports traces, metrics and logs with the official OpenTelemetry Go SDK.
//
// Usage: go-client GRPC_HOSTPORT HTTP_HOSTPORT
//
// For each transport, OTLP/gRPC gzip-compressed with cumulative metrics (service
// "go-grpc-gzip") and OTLP/HTTP protobuf uncompressed with delta metrics (service "go-http"),
// the scenario of viewer/tests/interop/mod.rs:
//   - a nested trace: "GET /interop" [server] with a child "query" [client] that fails ("db down");
//   - a `requests` counter: 3 then 4 with endpoint="a b", 5 with endpoint=x (a collection, the
//     MeterProvider's ForceFlush, between the two adds), so both transports read 7 and 5;
//   - an `interop.latency` histogram in ms, bounds 10, 50, 100: 5, 20, 30, 40, then 60, 70, 80,
//     200 (count 8, sum 505), split over the two collections;
//   - a WARN log record, "order failed over <transport>", emitted through the Logs API with the
//     context of the "GET /interop" span, so it carries that span's ids.
//
// Prints one line per transport, `<transport> <trace id> <span id>`: the ids of "GET /interop",
// which the log record must carry.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// exporters are one transport's three exporters.
type exporters struct {
	spans   sdktrace.SpanExporter
	metrics sdkmetric.Exporter
	logs    sdklog.Exporter
}

// delta asks for delta temporality for counters and histograms (the OpenTelemetry "delta"
// preference); up-down counters stay cumulative.
func delta(kind sdkmetric.InstrumentKind) metricdata.Temporality {
	switch kind {
	case sdkmetric.InstrumentKindUpDownCounter, sdkmetric.InstrumentKindObservableUpDownCounter:
		return metricdata.CumulativeTemporality
	default:
		return metricdata.DeltaTemporality
	}
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go-client GRPC_HOSTPORT HTTP_HOSTPORT")
		os.Exit(2)
	}
	grpcEndpoint, httpEndpoint := os.Args[1], os.Args[2]
	ctx := context.Background()

	spans, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(grpcEndpoint),
		otlptracegrpc.WithInsecure(), otlptracegrpc.WithCompressor("gzip"))
	check(err)
	metrics, err := otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(grpcEndpoint),
		otlpmetricgrpc.WithInsecure(), otlpmetricgrpc.WithCompressor("gzip"),
		otlpmetricgrpc.WithTemporalitySelector(sdkmetric.DefaultTemporalitySelector))
	check(err)
	logs, err := otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(grpcEndpoint),
		otlploggrpc.WithInsecure(), otlploggrpc.WithCompressor("gzip"))
	check(err)
	export(ctx, "grpc-gzip", exporters{spans, metrics, logs})

	hspans, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(httpEndpoint),
		otlptracehttp.WithInsecure(), otlptracehttp.WithCompression(otlptracehttp.NoCompression))
	check(err)
	hmetrics, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpoint(httpEndpoint),
		otlpmetrichttp.WithInsecure(), otlpmetrichttp.WithCompression(otlpmetrichttp.NoCompression),
		otlpmetrichttp.WithTemporalitySelector(delta))
	check(err)
	hlogs, err := otlploghttp.New(ctx, otlploghttp.WithEndpoint(httpEndpoint),
		otlploghttp.WithInsecure(), otlploghttp.WithCompression(otlploghttp.NoCompression))
	check(err)
	export(ctx, "http", exporters{hspans, hmetrics, hlogs})
}

func export(ctx context.Context, transport string, e exporters) {
	res, err := resource.Merge(resource.Default(),
		resource.NewSchemaless(attribute.String("service.name", "go-"+transport)))
	check(err)

	tracerProvider := sdktrace.NewTracerProvider(sdktrace.WithResource(res),
		sdktrace.WithBatcher(e.spans))
	loggerProvider := sdklog.NewLoggerProvider(sdklog.WithResource(res),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(e.logs)))
	// Exports only when asked to (ForceFlush, Shutdown): the collections are the scenario's.
	reader := sdkmetric.NewPeriodicReader(e.metrics, sdkmetric.WithInterval(10*time.Minute))
	meterProvider := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res),
		sdkmetric.WithReader(reader))

	meter := meterProvider.Meter("interop")
	requests, err := meter.Int64Counter("requests", metric.WithUnit("1"),
		metric.WithDescription("incoming requests"))
	check(err)
	latency, err := meter.Float64Histogram("interop.latency", metric.WithUnit("ms"),
		metric.WithExplicitBucketBoundaries(10, 50, 100))
	check(err)
	ab := metric.WithAttributes(attribute.String("endpoint", "a b"))
	x := metric.WithAttributes(attribute.String("endpoint", "x"))
	route := metric.WithAttributes(attribute.String("route", "/interop"))
	requests.Add(ctx, 3, ab)
	requests.Add(ctx, 5, x)
	for _, v := range []float64{5, 20, 30, 40} {
		latency.Record(ctx, v, route)
	}
	check(meterProvider.ForceFlush(ctx))
	requests.Add(ctx, 4, ab)
	for _, v := range []float64{60, 70, 80, 200} {
		latency.Record(ctx, v, route)
	}

	logger := loggerProvider.Logger("interop." + transport)
	tracer := tracerProvider.Tracer("interop")
	rootCtx, root := tracer.Start(ctx, "GET /interop", trace.WithSpanKind(trace.SpanKindServer))
	root.SetAttributes(attribute.String("http.request.method", "GET"))
	var record otellog.Record
	record.SetTimestamp(time.Now())
	record.SetSeverity(otellog.SeverityWarn)
	record.SetSeverityText("WARN")
	record.SetBody(attribute.StringValue("order failed over " + transport))
	logger.Emit(rootCtx, record)
	_, child := tracer.Start(rootCtx, "query", trace.WithSpanKind(trace.SpanKindClient))
	child.AddEvent("retry", trace.WithAttributes(attribute.Int("attempt", 2)))
	child.SetStatus(codes.Error, "db down")
	child.End()
	sc := root.SpanContext()
	root.End()

	check(tracerProvider.Shutdown(ctx))
	check(meterProvider.Shutdown(ctx))
	check(loggerProvider.Shutdown(ctx))
	fmt.Printf("%s %s %s\n", transport, sc.TraceID(), sc.SpanID())
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-client:", err)
		os.Exit(1)
	}
}
