//! api_v3 over gRPC: `jaeger.api_v3.QueryService` (the query service's gRPC port, 16685). The
//! few request messages are declared here (from jaeger-idl's `api_v3/query_service.proto`); the
//! answers are streams of OTLP `TracesData`, which decode straight into our model through the
//! receivers' direct decoder (the same wire shape as an export request).
//!
//! A stream's messages are counted against the search's limit as they arrive (one message may
//! be no larger than what is left of it), and the whole call, stream included, has one deadline
//! (tonic's own timeout covers only the answer's headers).

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use bytes::{Buf as _, Bytes};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http;

use super::{Budget, JaegerError, Options, Search, answer, within};
use crate::format::{redact_url, safe_capped};
use crate::ingest::Payload;
use crate::receiver::Limits;

#[derive(Clone, PartialEq, prost::Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoDuration {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetTraceRequest {
    #[prost(string, tag = "1")]
    pub trace_id: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TraceQueryParameters {
    #[prost(string, tag = "1")]
    pub service_name: String,
    #[prost(string, tag = "2")]
    pub operation_name: String,
    #[prost(map = "string, string", tag = "3")]
    pub attributes: HashMap<String, String>,
    #[prost(message, optional, tag = "4")]
    pub start_time_min: Option<Timestamp>,
    #[prost(message, optional, tag = "5")]
    pub start_time_max: Option<Timestamp>,
    #[prost(message, optional, tag = "6")]
    pub duration_min: Option<ProtoDuration>,
    #[prost(message, optional, tag = "7")]
    pub duration_max: Option<ProtoDuration>,
    #[prost(int32, tag = "8")]
    pub search_depth: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct FindTracesRequest {
    #[prost(message, optional, tag = "1")]
    pub query: Option<TraceQueryParameters>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetServicesRequest {}

const SERVICE: &str = "/jaeger.api_v3.QueryService/";

fn timestamp(t: SystemTime) -> Timestamp {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    Timestamp {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

fn duration(ns: u64) -> ProtoDuration {
    let d = Duration::from_nanos(ns);
    ProtoDuration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

/// Encodes requests with prost; hands each answer message over as its bytes.
struct Raw<T>(std::marker::PhantomData<T>);

impl<T> Default for Raw<T> {
    fn default() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<T: prost::Message + Send + 'static> Codec for Raw<T> {
    type Encode = T;
    type Decode = Bytes;
    type Encoder = Raw<T>;
    type Decoder = Raw<T>;

    fn encoder(&mut self) -> Self::Encoder {
        Self::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        Self::default()
    }
}

impl<T: prost::Message> Encoder for Raw<T> {
    type Item = T;
    type Error = tonic::Status;

    fn encode(&mut self, item: T, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        item.encode(dst)
            .map_err(|e| tonic::Status::internal(e.to_string()))
    }
}

impl<T> Decoder for Raw<T> {
    type Item = Bytes;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// The gRPC query service of one Jaeger.
pub struct Grpc {
    /// Connected on first use (a channel needs the async runtime).
    endpoint: tonic::transport::Endpoint,
    channel: std::sync::OnceLock<tonic::transport::Channel>,
    /// The URL as it may be printed (no password).
    name: String,
    options: Options,
    budget: Budget,
    limits: Limits,
}

impl Grpc {
    pub fn new(url: &str, rest: &str, options: Options) -> Result<Self, JaegerError> {
        let name = redact_url(url).into_owned();
        let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{rest}"))
            .map_err(|e| JaegerError::new(format!("--jaeger {name:?}: {e}")))?
            .connect_timeout(options.timeout.min(Duration::from_secs(10)));
        Ok(Self {
            endpoint,
            channel: std::sync::OnceLock::new(),
            name,
            budget: Budget::new(options.max_bytes),
            options,
            limits: Limits::default(),
        })
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        for (k, v) in &self.options.headers {
            if let (Ok(k), Ok(v)) = (
                tonic::metadata::MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes()),
                tonic::metadata::MetadataValue::try_from(v.as_str()),
            ) {
                request.metadata_mut().insert(k, v);
            }
        }
        request
    }

    fn error(&self, s: &tonic::Status) -> JaegerError {
        let message = safe_capped(s.message(), answer::MESSAGE_CHARS);
        JaegerError::new(match s.code() {
            tonic::Code::Unavailable => format!(
                "Jaeger at {}: unreachable (is it running? is the port the query service's gRPC port, 16685?): {message}",
                self.name,
            ),
            tonic::Code::Unimplemented => format!(
                "Jaeger at {} has no api_v3 over gRPC (Jaeger 1.35 or later; is this the query service?)",
                self.name
            ),
            tonic::Code::DeadlineExceeded => format!("Jaeger at {}: timed out", self.name),
            code => format!("Jaeger at {} answered {code:?}: {message}", self.name),
        })
    }

    /// A client whose messages may be no larger than what is left of the search's limit.
    async fn ready(&self) -> Result<tonic::client::Grpc<tonic::transport::Channel>, JaegerError> {
        let channel = self
            .channel
            .get_or_init(|| self.endpoint.connect_lazy())
            .clone();
        let mut grpc = tonic::client::Grpc::new(channel).max_decoding_message_size(
            usize::try_from(self.budget.remaining()).unwrap_or(usize::MAX),
        );
        grpc.ready().await.map_err(|e| {
            JaegerError::new(format!(
                "Jaeger at {}: unreachable (is it running? is the port the query service's gRPC port, 16685?): {e}",
                self.name
            ))
        })?;
        Ok(grpc)
    }

    /// A message over the size [`Self::ready`] allows is refused by tonic (`OUT_OF_RANGE`):
    /// the search's limit, said as such.
    fn failed(&self, s: &tonic::Status, meter: &super::Meter<'_>) -> JaegerError {
        if s.code() == tonic::Code::OutOfRange && s.message().contains("message length too large") {
            return meter.exceeded();
        }
        self.error(s)
    }

    pub async fn services(&self) -> Result<Vec<String>, JaegerError> {
        const METHOD: &str = "GetServices";
        within(&self.name, METHOD, self.options.timeout, async {
            let mut grpc = self.ready().await?;
            let mut meter = self.budget.answer(METHOD);
            let path = http::uri::PathAndQuery::try_from(format!("{SERVICE}{METHOD}"))
                .map_err(|e| JaegerError::new(e.to_string()))?;
            let answer = grpc
                .unary(self.request(GetServicesRequest {}), path, Raw::default())
                .await
                .map_err(|s| self.failed(&s, &meter))?
                .into_inner();
            meter.add(answer.len())?;
            answer::grpc_services(&answer)
        })
        .await
    }

    /// The payloads of a streaming `method`, each message counted as it arrives.
    async fn stream<T: prost::Message + Send + 'static>(
        &self,
        method: &'static str,
        message: T,
    ) -> Result<Vec<Payload>, JaegerError> {
        within(&self.name, method, self.options.timeout, async {
            let mut grpc = self.ready().await?;
            let mut meter = self.budget.answer(method);
            let path = http::uri::PathAndQuery::try_from(format!("{SERVICE}{method}"))
                .map_err(|e| JaegerError::new(e.to_string()))?;
            let answer = match grpc
                .server_streaming(self.request(message), path, Raw::default())
                .await
            {
                Ok(a) => a,
                Err(s) if s.code() == tonic::Code::NotFound => return Ok(Vec::new()),
                Err(s) => return Err(self.failed(&s, &meter)),
            };
            let mut stream = answer.into_inner();
            let mut out = Vec::new();
            loop {
                match stream.message().await {
                    Ok(Some(bytes)) => {
                        meter.add(bytes.len())?;
                        out.push(answer::grpc_traces(&bytes, &self.limits)?);
                    }
                    Ok(None) => return Ok(out),
                    Err(s) if s.code() == tonic::Code::NotFound => return Ok(out),
                    Err(s) => return Err(self.failed(&s, &meter)),
                }
            }
        })
        .await
    }

    pub async fn find(
        &self,
        search: &Search,
        now: SystemTime,
    ) -> Result<Vec<Payload>, JaegerError> {
        let query = TraceQueryParameters {
            service_name: search.service.clone().unwrap_or_default(),
            operation_name: search.operation.clone().unwrap_or_default(),
            attributes: search.attributes.iter().cloned().collect(),
            start_time_min: Some(timestamp(now - search.since)),
            start_time_max: Some(timestamp(now)),
            duration_min: search.duration_min.map(duration),
            duration_max: search.duration_max.map(duration),
            search_depth: i32::try_from(search.limit).unwrap_or(i32::MAX),
        };
        self.stream("FindTraces", FindTracesRequest { query: Some(query) })
            .await
    }

    pub async fn trace(&self, id: u128) -> Result<Vec<Payload>, JaegerError> {
        self.stream(
            "GetTrace",
            GetTraceRequest {
                trace_id: format!("{id:032x}"),
            },
        )
        .await
    }
}
