//! [`Paged`]: a `Stream` over one of the API's paged lists (`offset` / `total`).

use std::fmt;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use futures_core::Stream;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::context::Context;
use crate::error::Error;

/// The items of a paged API list (stream names, stream infos, consumer names, consumer
/// infos): each page is one request; the stream ends after the last page. An error ends it.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(js: nats_jetstream::Context) -> Result<(), nats_jetstream::Error> {
/// use futures_util::TryStreamExt;
/// let names: Vec<String> = js.stream_names().try_collect().await?;
/// # Ok(()) }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Paged<T> {
    inner: Pin<Box<dyn Stream<Item = Result<T, Error>> + Send>>,
}

struct Cursor<T> {
    context: Context,
    suffix: String,
    field: &'static str,
    filter: Map<String, Value>,
    offset: u64,
    buffered: std::vec::IntoIter<T>,
    done: bool,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    total: u64,
    #[serde(default)]
    offset: u64,
    #[serde(default)]
    limit: u64,
}

impl<T: DeserializeOwned + Send + 'static> Paged<T> {
    /// Pages through `suffix` (e.g. `STREAM.NAMES`), taking the items from the reply's
    /// `field` array; `filter` members go into every request next to `offset`.
    pub(crate) fn new(
        context: Context,
        suffix: String,
        field: &'static str,
        filter: Map<String, Value>,
    ) -> Paged<T> {
        let cursor = Cursor {
            context,
            suffix,
            field,
            filter,
            offset: 0,
            buffered: Vec::new().into_iter(),
            done: false,
        };
        let inner = futures_util::stream::unfold(cursor, |mut c| async move {
            loop {
                if let Some(item) = c.buffered.next() {
                    return Some((Ok(item), c));
                }
                if c.done {
                    return None;
                }
                match c.next_page().await {
                    Ok(()) => {}
                    Err(e) => {
                        c.done = true;
                        return Some((Err(e), c));
                    }
                }
            }
        });
        Paged {
            inner: Box::pin(inner),
        }
    }
}

impl<T: DeserializeOwned> Cursor<T> {
    async fn next_page(&mut self) -> Result<(), Error> {
        let mut body = self.filter.clone();
        body.insert("offset".into(), Value::from(self.offset));
        let reply: Value = self.context.api(&self.suffix, Some(&body)).await?;
        let page: Page =
            serde_json::from_value(reply.clone()).map_err(|e| Error::Decode(e.to_string()))?;
        let items: Vec<T> = match reply.get(self.field) {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => {
                serde_json::from_value(v.clone()).map_err(|e| Error::Decode(e.to_string()))?
            }
        };
        let got = items.len() as u64;
        self.offset = page.offset + got;
        self.done = got == 0 || self.offset >= page.total || (page.limit > 0 && got < page.limit);
        self.buffered = items.into_iter();
        Ok(())
    }
}

impl<T> Stream for Paged<T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl<T> fmt::Debug for Paged<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paged").finish_non_exhaustive()
    }
}
