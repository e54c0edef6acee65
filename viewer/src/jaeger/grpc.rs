//! api_v3 over gRPC: `jaeger.api_v3.QueryService` (the query service's gRPC port, 16685). The
//! few request messages are declared here (from jaeger-idl's `api_v3/query_service.proto`); the
//! answers are streams of OTLP `TracesData`, which decode straight into our model through the
//! receivers' direct decoder (the same wire shape as an export request).

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use bytes::{Buf as _, Bytes};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http;

use super::{JaegerError, Search};
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

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetServicesResponse {
    #[prost(string, repeated, tag = "1")]
    pub services: Vec<String>,
}

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
    name: String,
    headers: Vec<(String, String)>,
    limits: Limits,
}

impl Grpc {
    pub fn new(url: &str, rest: &str, headers: Vec<(String, String)>) -> Result<Self, JaegerError> {
        let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{rest}"))
            .map_err(|e| JaegerError(format!("--jaeger {url:?}: {e}")))?
            .timeout(super::TIMEOUT)
            .connect_timeout(Duration::from_secs(10));
        Ok(Self {
            endpoint,
            channel: std::sync::OnceLock::new(),
            name: url.to_owned(),
            headers,
            limits: Limits::default(),
        })
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        for (k, v) in &self.headers {
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
        JaegerError(match s.code() {
            tonic::Code::Unavailable => format!(
                "Jaeger at {}: unreachable (is it running? is the port the query service's gRPC port, 16685?): {}",
                self.name,
                s.message()
            ),
            tonic::Code::Unimplemented => format!(
                "Jaeger at {} has no api_v3 over gRPC (Jaeger 1.35 or later; is this the query service?)",
                self.name
            ),
            tonic::Code::DeadlineExceeded => format!("Jaeger at {}: timed out", self.name),
            code => format!("Jaeger at {} answered {code:?}: {}", self.name, s.message()),
        })
    }

    async fn ready(&self) -> Result<tonic::client::Grpc<tonic::transport::Channel>, JaegerError> {
        let channel = self
            .channel
            .get_or_init(|| self.endpoint.connect_lazy())
            .clone();
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.map_err(|e| {
            JaegerError(format!(
                "Jaeger at {}: unreachable (is it running? is the port the query service's gRPC port, 16685?): {e}",
                self.name
            ))
        })?;
        Ok(grpc)
    }

    pub async fn services(&self) -> Result<Vec<String>, JaegerError> {
        let mut grpc = self.ready().await?;
        let path = http::uri::PathAndQuery::from_static("/jaeger.api_v3.QueryService/GetServices");
        let answer = grpc
            .unary(self.request(GetServicesRequest {}), path, Raw::default())
            .await
            .map_err(|s| self.error(&s))?;
        let services = <GetServicesResponse as prost::Message>::decode(answer.into_inner())
            .map_err(|e| JaegerError(format!("Jaeger's services do not decode: {e}")))?;
        Ok(services.services)
    }

    async fn stream<T: prost::Message + Send + 'static>(
        &self,
        method: &'static str,
        message: T,
    ) -> Result<Vec<Payload>, JaegerError> {
        let mut grpc = self.ready().await?;
        let path = http::uri::PathAndQuery::try_from(format!("{SERVICE}{method}"))
            .map_err(|e| JaegerError(e.to_string()))?;
        let answer = match grpc
            .server_streaming(self.request(message), path, Raw::default())
            .await
        {
            Ok(a) => a,
            Err(s) if s.code() == tonic::Code::NotFound => return Ok(Vec::new()),
            Err(s) => return Err(self.error(&s)),
        };
        let mut stream = answer.into_inner();
        let mut out = Vec::new();
        loop {
            match stream.message().await {
                Ok(Some(bytes)) => {
                    let (batch, _) = crate::receiver::decode::trace_request(&bytes, &self.limits)
                        .map_err(|e| {
                        JaegerError(format!("Jaeger's traces do not decode: {e}"))
                    })?;
                    out.push(Payload::Spans(batch));
                }
                Ok(None) => return Ok(out),
                Err(s) if s.code() == tonic::Code::NotFound => return Ok(out),
                Err(s) => return Err(self.error(&s)),
            }
        }
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
