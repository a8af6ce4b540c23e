//! The JSON of the discovery responses (ADR-32, `io.nats.micro.v1`): what `$SRV.PING`,
//! `$SRV.INFO` and `$SRV.STATS` answer, as types that both the service (to answer) and
//! [`Discovery`](super::Discovery) (to read answers) use.
//!
//! Reading is lenient the way a client must be: a missing field takes its empty value, a
//! missing `type` is accepted (services written before the `v1` schema send none), unknown
//! fields are ignored. A field of the wrong JSON type, or a `type` naming another response,
//! is a [`SchemaError`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::error::SchemaError;

/// The `type` of a ping response.
pub const PING_RESPONSE_TYPE: &str = "io.nats.micro.v1.ping_response";
/// The `type` of an info response.
pub const INFO_RESPONSE_TYPE: &str = "io.nats.micro.v1.info_response";
/// The `type` of a stats response.
pub const STATS_RESPONSE_TYPE: &str = "io.nats.micro.v1.stats_response";

/// Metadata: string keys and values, in key order.
pub type Metadata = BTreeMap<String, String>;

/// The answer to `$SRV.PING`: who the instance is.
///
/// # Examples
///
/// ```
/// use nats_client::service::PingResponse;
/// let json = br#"{"type":"io.nats.micro.v1.ping_response","name":"adder","id":"X1","version":"1.0.0","metadata":{}}"#;
/// let ping = PingResponse::from_json(json)?;
/// assert_eq!((ping.name.as_str(), ping.id.as_str()), ("adder", "X1"));
/// # Ok::<(), nats_client::service::SchemaError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct PingResponse {
    /// The service name.
    pub name: String,
    /// The instance id.
    pub id: String,
    /// The service version (semver).
    pub version: String,
    /// The service's metadata.
    pub metadata: Metadata,
}

/// The answer to `$SRV.INFO`: the instance and its endpoints.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(service: nats_client::service::Service) {
/// let info = service.info();
/// for endpoint in &info.endpoints {
///     println!("{} on {} (queue {})", endpoint.name, endpoint.subject, endpoint.queue_group);
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Info {
    /// The service name.
    pub name: String,
    /// The instance id.
    pub id: String,
    /// The service version (semver).
    pub version: String,
    /// The service's metadata.
    pub metadata: Metadata,
    /// The service description.
    pub description: String,
    /// The endpoints, in the order they were added.
    pub endpoints: Vec<EndpointInfo>,
}

/// One endpoint in an [`Info`].
///
/// # Examples
///
/// ```no_run
/// # async fn demo(service: nats_client::service::Service) {
/// if let Some(first) = service.info().endpoints.first() {
///     println!("{}: {:?}", first.name, first.metadata);
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct EndpointInfo {
    /// The endpoint name.
    pub name: String,
    /// The subject it listens on.
    pub subject: String,
    /// The queue group it is subscribed with.
    pub queue_group: String,
    /// The endpoint's metadata.
    pub metadata: Metadata,
}

/// The answer to `$SRV.STATS`: the instance's counters per endpoint.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(service: nats_client::service::Service) {
/// let stats = service.stats();
/// println!("started {}", stats.started);
/// for e in &stats.endpoints {
///     println!("{}: {} requests, {} errors", e.name, e.num_requests, e.num_errors);
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// The service name.
    pub name: String,
    /// The instance id.
    pub id: String,
    /// The service version (semver).
    pub version: String,
    /// The service's metadata.
    pub metadata: Metadata,
    /// When the instance started, RFC 3339 in UTC.
    pub started: String,
    /// The endpoints, in the order they were added.
    pub endpoints: Vec<EndpointStats>,
}

/// One endpoint in a [`Stats`].
///
/// # Examples
///
/// ```no_run
/// # async fn demo(service: nats_client::service::Service) {
/// for e in service.stats().endpoints {
///     println!("{}: average {:?}, last error {:?}", e.name, e.average_processing_time, e.last_error);
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct EndpointStats {
    /// The endpoint name.
    pub name: String,
    /// The subject it listens on.
    pub subject: String,
    /// The queue group it is subscribed with.
    pub queue_group: String,
    /// Requests handled since the start or the last reset.
    pub num_requests: u64,
    /// Requests answered with an error (or whose response could not be sent).
    pub num_errors: u64,
    /// The last error, `"code:description"`; empty when there was none.
    pub last_error: String,
    /// Total time spent processing requests (nanoseconds on the wire).
    pub processing_time: Duration,
    /// `processing_time / num_requests` (nanoseconds on the wire).
    pub average_processing_time: Duration,
    /// What the service's stats handler returned for this endpoint; `None` without one.
    pub data: Option<Value>,
}

impl PingResponse {
    /// The response as ADR-32 JSON.
    ///
    /// # Examples
    ///
    /// ```
    /// let json = nats_client::service::PingResponse::default().to_json();
    /// assert_eq!(json["type"], "io.nats.micro.v1.ping_response");
    /// ```
    pub fn to_json(&self) -> Value {
        let mut obj = identity(PING_RESPONSE_TYPE, &self.name, &self.id, &self.version);
        obj.insert("metadata".into(), metadata_json(&self.metadata));
        Value::Object(obj)
    }

    /// Reads a ping response.
    ///
    /// # Errors
    ///
    /// [`SchemaError`] for a payload that is not JSON, a field of the wrong type, or another
    /// response `type`.
    ///
    /// # Examples
    ///
    /// ```
    /// let ping = nats_client::service::PingResponse::from_json(br#"{"name":"a","id":"1","version":"0.1.0"}"#)?;
    /// assert!(ping.metadata.is_empty());
    /// # Ok::<(), nats_client::service::SchemaError>(())
    /// ```
    pub fn from_json(payload: &[u8]) -> Result<PingResponse, SchemaError> {
        let root = parse(payload)?;
        let obj = Obj::typed(&root, PING_RESPONSE_TYPE)?;
        Ok(PingResponse {
            name: obj.string("name")?,
            id: obj.string("id")?,
            version: obj.string("version")?,
            metadata: obj.metadata("metadata")?,
        })
    }
}

impl Info {
    /// The response as ADR-32 JSON.
    ///
    /// # Examples
    ///
    /// ```
    /// let json = nats_client::service::Info::default().to_json();
    /// assert_eq!(json["type"], "io.nats.micro.v1.info_response");
    /// assert!(json["endpoints"].as_array().is_some());
    /// ```
    pub fn to_json(&self) -> Value {
        let mut obj = identity(INFO_RESPONSE_TYPE, &self.name, &self.id, &self.version);
        obj.insert("metadata".into(), metadata_json(&self.metadata));
        obj.insert("description".into(), json!(self.description));
        let endpoints = self
            .endpoints
            .iter()
            .map(|e| {
                json!({
                    "name": e.name,
                    "subject": e.subject,
                    "queue_group": e.queue_group,
                    "metadata": metadata_json(&e.metadata),
                })
            })
            .collect();
        obj.insert("endpoints".into(), Value::Array(endpoints));
        Value::Object(obj)
    }

    /// Reads an info response.
    ///
    /// # Errors
    ///
    /// As [`PingResponse::from_json`].
    ///
    /// # Examples
    ///
    /// ```
    /// let info = nats_client::service::Info::from_json(
    ///     br#"{"name":"a","id":"1","version":"0.1.0","endpoints":[{"name":"e","subject":"a.e"}]}"#,
    /// )?;
    /// assert_eq!(info.endpoints[0].subject, "a.e");
    /// # Ok::<(), nats_client::service::SchemaError>(())
    /// ```
    pub fn from_json(payload: &[u8]) -> Result<Info, SchemaError> {
        let root = parse(payload)?;
        let obj = Obj::typed(&root, INFO_RESPONSE_TYPE)?;
        let endpoints = obj
            .objects("endpoints")?
            .into_iter()
            .map(|e| {
                Ok(EndpointInfo {
                    name: e.string("name")?,
                    subject: e.string("subject")?,
                    queue_group: e.string("queue_group")?,
                    metadata: e.metadata("metadata")?,
                })
            })
            .collect::<Result<_, SchemaError>>()?;
        Ok(Info {
            name: obj.string("name")?,
            id: obj.string("id")?,
            version: obj.string("version")?,
            metadata: obj.metadata("metadata")?,
            description: obj.string("description")?,
            endpoints,
        })
    }
}

impl Stats {
    /// The response as ADR-32 JSON (times in nanoseconds).
    ///
    /// # Examples
    ///
    /// ```
    /// let json = nats_client::service::Stats::default().to_json();
    /// assert_eq!(json["type"], "io.nats.micro.v1.stats_response");
    /// ```
    pub fn to_json(&self) -> Value {
        let mut obj = identity(STATS_RESPONSE_TYPE, &self.name, &self.id, &self.version);
        obj.insert("metadata".into(), metadata_json(&self.metadata));
        obj.insert("started".into(), json!(self.started));
        let endpoints = self
            .endpoints
            .iter()
            .map(|e| {
                json!({
                    "name": e.name,
                    "subject": e.subject,
                    "queue_group": e.queue_group,
                    "num_requests": e.num_requests,
                    "num_errors": e.num_errors,
                    "last_error": e.last_error,
                    "processing_time": nanos(e.processing_time),
                    "average_processing_time": nanos(e.average_processing_time),
                    "data": e.data.clone().unwrap_or(Value::Null),
                })
            })
            .collect();
        obj.insert("endpoints".into(), Value::Array(endpoints));
        Value::Object(obj)
    }

    /// Reads a stats response.
    ///
    /// # Errors
    ///
    /// As [`PingResponse::from_json`].
    ///
    /// # Examples
    ///
    /// ```
    /// let stats = nats_client::service::Stats::from_json(
    ///     br#"{"name":"a","id":"1","version":"0.1.0","started":"2024-01-01T00:00:00Z",
    ///          "endpoints":[{"name":"e","num_requests":3,"processing_time":3000}]}"#,
    /// )?;
    /// assert_eq!(stats.endpoints[0].num_requests, 3);
    /// assert_eq!(stats.endpoints[0].processing_time.as_micros(), 3);
    /// # Ok::<(), nats_client::service::SchemaError>(())
    /// ```
    pub fn from_json(payload: &[u8]) -> Result<Stats, SchemaError> {
        let root = parse(payload)?;
        let obj = Obj::typed(&root, STATS_RESPONSE_TYPE)?;
        let endpoints = obj
            .objects("endpoints")?
            .into_iter()
            .map(|e| {
                Ok(EndpointStats {
                    name: e.string("name")?,
                    subject: e.string("subject")?,
                    queue_group: e.string("queue_group")?,
                    num_requests: e.number("num_requests")?,
                    num_errors: e.number("num_errors")?,
                    last_error: e.string("last_error")?,
                    processing_time: Duration::from_nanos(e.number("processing_time")?),
                    average_processing_time: Duration::from_nanos(
                        e.number("average_processing_time")?,
                    ),
                    data: e.0.get("data").filter(|v| !v.is_null()).cloned(),
                })
            })
            .collect::<Result<_, SchemaError>>()?;
        Ok(Stats {
            name: obj.string("name")?,
            id: obj.string("id")?,
            version: obj.string("version")?,
            metadata: obj.metadata("metadata")?,
            started: obj.string("started")?,
            endpoints,
        })
    }
}

/// Nanoseconds as a JSON number (saturating at `u64::MAX`, some 584 years).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn identity(kind: &str, name: &str, id: &str, version: &str) -> Map<String, Value> {
    let mut obj = Map::new();
    obj.insert("type".into(), json!(kind));
    obj.insert("name".into(), json!(name));
    obj.insert("id".into(), json!(id));
    obj.insert("version".into(), json!(version));
    obj
}

fn metadata_json(metadata: &Metadata) -> Value {
    Value::Object(
        metadata
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn parse(payload: &[u8]) -> Result<Value, SchemaError> {
    serde_json::from_slice(payload).map_err(|e| SchemaError::Json(e.to_string()))
}

/// A JSON object being read, lenient about missing fields.
struct Obj<'a>(&'a Map<String, Value>);

impl<'a> Obj<'a> {
    /// The root object, checked to be of response type `expected` (or to have no type).
    fn typed(root: &'a Value, expected: &'static str) -> Result<Obj<'a>, SchemaError> {
        let obj = match root {
            Value::Object(map) => Obj(map),
            _ => return Err(field_error("", "not a JSON object")),
        };
        match obj.0.get("type") {
            None | Some(Value::Null) => Ok(obj),
            Some(Value::String(found)) if found == expected => Ok(obj),
            Some(Value::String(found)) => Err(SchemaError::WrongType {
                found: found.clone(),
                expected,
            }),
            Some(_) => Err(field_error("type", "not a string")),
        }
    }

    fn string(&self, field: &str) -> Result<String, SchemaError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(field_error(field, "not a string")),
        }
    }

    fn number(&self, field: &str) -> Result<u64, SchemaError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(0),
            Some(v) => v
                .as_u64()
                .ok_or_else(|| field_error(field, "not a non-negative integer")),
        }
    }

    fn metadata(&self, field: &str) -> Result<Metadata, SchemaError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(Metadata::new()),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    _ => Err(field_error(&format!("{field}.{k}"), "not a string")),
                })
                .collect(),
            Some(_) => Err(field_error(field, "not an object")),
        }
    }

    fn objects(&self, field: &str) -> Result<Vec<Obj<'a>>, SchemaError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::Object(map) => Ok(Obj(map)),
                    _ => Err(field_error(&format!("{field}.{i}"), "not an object")),
                })
                .collect(),
            Some(_) => Err(field_error(field, "not an array")),
        }
    }
}

fn field_error(field: &str, reason: &'static str) -> SchemaError {
    SchemaError::Field {
        field: field.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_stats() -> Stats {
        Stats {
            name: "adder".into(),
            id: "ID1".into(),
            version: "1.2.3".into(),
            metadata: [("team".to_string(), "core".to_string())].into(),
            started: "2024-01-01T00:00:00.000000000Z".into(),
            endpoints: vec![EndpointStats {
                name: "add".into(),
                subject: "math.add".into(),
                queue_group: "q".into(),
                num_requests: 10,
                num_errors: 3,
                last_error: "500:boom".into(),
                processing_time: Duration::from_nanos(12_345),
                average_processing_time: Duration::from_nanos(1_234),
                data: Some(json!({"cache": 7})),
            }],
        }
    }

    #[test]
    fn stats_round_trip_and_wire_names() {
        let stats = sample_stats();
        let json = stats.to_json();
        assert_eq!(json["endpoints"][0]["processing_time"], 12_345);
        assert_eq!(json["endpoints"][0]["average_processing_time"], 1_234);
        assert_eq!(json["metadata"]["team"], "core");
        let bytes = serde_json::to_vec(&json).unwrap_or_default();
        assert_eq!(Stats::from_json(&bytes).ok(), Some(stats));
    }

    #[test]
    fn info_and_ping_round_trip() {
        let info = Info {
            name: "a".into(),
            id: "b".into(),
            version: "0.0.1".into(),
            metadata: Metadata::new(),
            description: "d".into(),
            endpoints: vec![EndpointInfo {
                name: "e".into(),
                subject: "s".into(),
                queue_group: "q".into(),
                metadata: [("k".to_string(), "v".to_string())].into(),
            }],
        };
        let bytes = serde_json::to_vec(&info.to_json()).unwrap_or_default();
        assert_eq!(Info::from_json(&bytes).ok(), Some(info));
        let ping = PingResponse {
            name: "a".into(),
            id: "b".into(),
            version: "0.0.1".into(),
            metadata: Metadata::new(),
        };
        let bytes = serde_json::to_vec(&ping.to_json()).unwrap_or_default();
        assert_eq!(PingResponse::from_json(&bytes).ok(), Some(ping));
    }

    #[test]
    fn lenient_reading_and_typed_errors() {
        // A pre-v1 Go service: no type, no metadata, flat counters.
        let old = br#"{"name":"x","id":"y","version":"1.0.0","num_requests":4,"started":"s"}"#;
        let stats = Stats::from_json(old).unwrap_or_default();
        assert_eq!((stats.name.as_str(), stats.endpoints.len()), ("x", 0));
        assert!(matches!(
            PingResponse::from_json(br#"{"type":"io.nats.micro.v1.info_response"}"#),
            Err(SchemaError::WrongType { .. })
        ));
        assert!(matches!(
            PingResponse::from_json(br#"{"name":5}"#),
            Err(SchemaError::Field { ref field, .. }) if field == "name"
        ));
        assert!(matches!(
            Info::from_json(br#"{"endpoints":[1]}"#),
            Err(SchemaError::Field { ref field, .. }) if field == "endpoints.0"
        ));
        assert!(matches!(
            Stats::from_json(br#"{"endpoints":[{"num_requests":-1}]}"#),
            Err(SchemaError::Field { .. })
        ));
        assert!(matches!(
            PingResponse::from_json(br#"{"metadata":{"a":1}}"#),
            Err(SchemaError::Field { ref field, .. }) if field == "metadata.a"
        ));
        assert!(matches!(
            PingResponse::from_json(b"[]"),
            Err(SchemaError::Field { .. })
        ));
        assert!(matches!(
            PingResponse::from_json(b""),
            Err(SchemaError::Json(_))
        ));
    }
}
