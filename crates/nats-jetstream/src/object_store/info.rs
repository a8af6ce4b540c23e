//! [`ObjectMeta`] (what a caller says about an object), [`ObjectInfo`] (what the store keeps
//! in the metadata message) and [`ObjectLink`], in ADR-20's JSON (J26, J27).

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// What the caller says about an object: its name and optional description, headers,
/// metadata and chunk size. `&str` and `String` convert into it (name only).
///
/// # Examples
///
/// ```no_run
/// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), Box<dyn std::error::Error>> {
/// use nats_jetstream::object_store::ObjectMeta;
/// let meta = ObjectMeta {
///     description: Some("Q3 report".into()),
///     max_chunk_size: Some(256 * 1024),
///     ..ObjectMeta::from("report.pdf")
/// };
/// let mut file = tokio::fs::File::open("report.pdf").await?;
/// store.put(meta, &mut file).await?;
/// store.put("notes.txt", &mut &b"short"[..]).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectMeta {
    /// The object's name (any UTF-8 without control characters, not starting or ending
    /// with `.`).
    pub name: String,
    /// A description.
    pub description: Option<String>,
    /// Headers kept with the object (name → values).
    pub headers: BTreeMap<String, Vec<String>>,
    /// Free-form metadata.
    pub metadata: HashMap<String, String>,
    /// The chunk size for this put (default: the store's, 128 KiB).
    pub max_chunk_size: Option<usize>,
}

impl From<&str> for ObjectMeta {
    fn from(name: &str) -> ObjectMeta {
        ObjectMeta {
            name: name.to_owned(),
            ..Default::default()
        }
    }
}

impl From<String> for ObjectMeta {
    fn from(name: String) -> ObjectMeta {
        ObjectMeta {
            name,
            ..Default::default()
        }
    }
}

impl From<&String> for ObjectMeta {
    fn from(name: &String) -> ObjectMeta {
        ObjectMeta::from(name.as_str())
    }
}

impl From<&ObjectInfo> for ObjectMeta {
    /// The caller-settable part of an info (to change it with
    /// [`update_metadata`](super::ObjectStore::update_metadata)).
    fn from(info: &ObjectInfo) -> ObjectMeta {
        ObjectMeta {
            name: info.name.clone(),
            description: info.description.clone(),
            headers: info.headers.clone(),
            metadata: info.metadata.clone(),
            max_chunk_size: info.options.max_chunk_size,
        }
    }
}

/// Where a link points: an object (`name` set) or a whole bucket (`name` empty).
///
/// # Examples
///
/// ```
/// let link: nats_jetstream::object_store::ObjectLink =
///     serde_json::from_str(r#"{"bucket":"files","name":"a.txt"}"#).unwrap();
/// assert_eq!(link.name.as_deref(), Some("a.txt"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ObjectLink {
    /// The bucket.
    pub bucket: String,
    /// The object; `None` for a link to the bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The `options` of an object's info: a link, the chunk size used.
///
/// # Examples
///
/// ```
/// let o = nats_jetstream::object_store::ObjectOptions::default();
/// assert!(o.link.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ObjectOptions {
    /// Set when the object is a link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<ObjectLink>,
    /// The chunk size the object was stored with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_chunk_size: Option<usize>,
}

impl ObjectOptions {
    fn is_empty(&self) -> bool {
        self.link.is_none() && self.max_chunk_size.is_none()
    }
}

/// An object's info: the metadata message of ADR-20 (name, size, chunks, digest, mtime,
/// nuid, deleted, link).
///
/// # Examples
///
/// ```
/// let info: nats_jetstream::object_store::ObjectInfo = serde_json::from_str(r#"{
///     "name":"a.txt","bucket":"files","nuid":"N1","size":5,"chunks":1,
///     "mtime":"2026-12-02T08:00:00Z","digest":"SHA-256=abc="}"#).unwrap();
/// assert_eq!((info.size, info.chunks, info.deleted), (5, 1, false));
/// assert!(!info.is_link());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ObjectInfo {
    /// The object's name.
    pub name: String,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, Vec<String>>,
    /// Its metadata.
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub metadata: HashMap<String, String>,
    /// Link and chunk size.
    #[serde(default, skip_serializing_if = "ObjectOptions::is_empty")]
    pub options: ObjectOptions,
    /// The bucket it is in.
    #[serde(default)]
    pub bucket: String,
    /// The unique id of this version: its chunks are on `$O.<bucket>.C.<nuid>`.
    #[serde(default)]
    pub nuid: String,
    /// Bytes.
    #[serde(default)]
    pub size: u64,
    /// When it was stored (the metadata message's time when read back).
    #[serde(default = "epoch", with = "time")]
    pub mtime: SystemTime,
    /// Chunks.
    #[serde(default)]
    pub chunks: u64,
    /// `SHA-256=<base64url>` of the bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Deleted (the info stays as a marker; the chunks are gone).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

fn epoch() -> SystemTime {
    UNIX_EPOCH
}

impl ObjectInfo {
    /// Whether the object is a link (to an object or a bucket).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(store: nats_jetstream::object_store::ObjectStore) -> Result<(), nats_jetstream::object_store::ObjectStoreError> {
    /// let info = store.info("alias").await?;
    /// if let Some(link) = info.link() {
    ///     println!("-> {}/{:?}", link.bucket, link.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn is_link(&self) -> bool {
        self.options.link.is_some()
    }

    /// The link, when the object is one.
    ///
    /// # Examples
    ///
    /// ```
    /// let info: nats_jetstream::object_store::ObjectInfo = serde_json::from_str(
    ///     r#"{"name":"l","options":{"link":{"bucket":"b"}}}"#).unwrap();
    /// assert_eq!(info.link().unwrap().bucket, "b");
    /// ```
    pub fn link(&self) -> Option<&ObjectLink> {
        self.options.link.as_ref()
    }

    /// A new info for `meta` in `bucket` (nothing stored yet).
    pub(crate) fn new(bucket: &str, nuid: String, meta: &ObjectMeta) -> ObjectInfo {
        ObjectInfo {
            name: meta.name.clone(),
            description: meta.description.clone(),
            headers: meta.headers.clone(),
            metadata: meta.metadata.clone(),
            options: ObjectOptions::default(),
            bucket: bucket.to_owned(),
            nuid,
            size: 0,
            mtime: SystemTime::now(),
            chunks: 0,
            digest: None,
            deleted: false,
        }
    }
}

/// `SystemTime` as RFC 3339; Go's zero time (`0001-01-01T00:00:00Z`) and other times before
/// 1970 read as the epoch.
mod time {
    use std::time::{SystemTime, UNIX_EPOCH};

    use serde::{Deserialize, Deserializer, Serializer};

    use crate::wire::{format_rfc3339, parse_rfc3339};

    pub(super) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_rfc3339(*t))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let s = Option::<String>::deserialize(d)?.unwrap_or_default();
        Ok(parse_rfc3339(&s).unwrap_or(UNIX_EPOCH))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_json_is_adr20s() {
        let mut meta = ObjectMeta::from("a.txt");
        meta.description = Some("d".into());
        meta.headers.insert("X".into(), vec!["1".into()]);
        let mut info = ObjectInfo::new("files", "N".into(), &meta);
        info.size = 3;
        info.chunks = 1;
        info.digest = Some("SHA-256=x".into());
        info.options.max_chunk_size = Some(128 * 1024);
        info.mtime = UNIX_EPOCH + std::time::Duration::from_secs(1_764_662_400);
        let v = serde_json::to_value(&info).unwrap();
        assert_eq!(v["name"], "a.txt");
        assert_eq!(v["bucket"], "files");
        assert_eq!(v["nuid"], "N");
        assert_eq!(v["size"], 3);
        assert_eq!(v["chunks"], 1);
        assert_eq!(v["digest"], "SHA-256=x");
        assert_eq!(v["headers"]["X"][0], "1");
        assert_eq!(v["options"]["max_chunk_size"], 131072);
        assert_eq!(v["mtime"], "2025-12-02T08:00:00.000000000Z");
        assert!(v.get("deleted").is_none());
        let back: ObjectInfo = serde_json::from_value(v).unwrap();
        assert_eq!(back, info);
        // What nats.go writes: a zero mtime, a link, deleted.
        let go: ObjectInfo = serde_json::from_str(
            r#"{"name":"l","bucket":"b","nuid":"n","size":0,"mtime":"0001-01-01T00:00:00Z",
                "chunks":0,"deleted":true,"options":{"link":{"bucket":"o","name":"x"}}}"#,
        )
        .unwrap();
        assert_eq!(go.mtime, UNIX_EPOCH);
        assert!(go.deleted && go.is_link());
        assert_eq!(go.link().unwrap().name.as_deref(), Some("x"));
    }
}
