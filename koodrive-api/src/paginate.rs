//! Pagination: one generic paginator for every list operation.
//!
//! The spec describes how each list operation pages (`x-koodrive-pagination`: the style,
//! where the cursor goes, where the next one comes from); the generated
//! [`OperationMeta`] carries it. [`Paginate::pages`] turns a
//! request builder into a `Stream` of pages: it sends the request as built, reads the next
//! cursor from each page, and the client's `pre` hook writes it into the next request (query
//! parameter or JSON body pointer). The caller never touches a cursor.
//!
//! KooDrive warns that a short or even empty page can come before the end, so the stream ends
//! only on the documented end signal: no next cursor (cursor styles), or all `total` items
//! seen (offset and page-number styles).

use std::sync::{Arc, Mutex};

use futures_core::Stream;
use serde::Serialize;
use serde_json::Value;

use crate::error::Error;
use crate::operation::{Operation, OperationExt, OperationMeta, PaginationStyle};

/// What the paginator wants in the next request, and what the hook saw in it.
#[derive(Debug, Default)]
pub(crate) struct PageSlot {
    /// The cursor (or offset, or page number) to write into the request.
    set: Option<Value>,
    /// The value the request carried at the cursor's place (after any override).
    seen: Option<Value>,
}

tokio::task_local! {
    static PAGE: Arc<Mutex<PageSlot>>;
}

/// Set `pointer` in `doc`, creating objects on the way.
fn set_pointer(doc: &mut Value, pointer: &str, value: Value) -> Result<(), String> {
    let mut cur = doc;
    let segments: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    for (i, seg) in segments.iter().enumerate() {
        if !cur.is_object() {
            if cur.is_null() {
                *cur = Value::Object(Default::default());
            } else {
                return Err(format!(
                    "cannot set the page cursor at {pointer}: not an object"
                ));
            }
        }
        let map = cur.as_object_mut().expect("checked above");
        if i + 1 == segments.len() {
            map.insert(seg.clone(), value);
            return Ok(());
        }
        cur = map.entry(seg.clone()).or_insert(Value::Null);
    }
    Ok(())
}

/// Called by the `pre` hook: write the paginator's cursor into the request and note the value
/// the request carries there.
pub(crate) fn apply(request: &mut reqwest::Request, meta: &OperationMeta) -> Result<(), String> {
    let Some(p) = meta.pagination else {
        return Ok(());
    };
    let Ok(slot) = PAGE.try_with(Arc::clone) else {
        return Ok(());
    };
    let mut slot = slot.lock().expect("page slot lock");
    if let Some(name) = p.request.strip_prefix("query:") {
        if let Some(v) = slot.set.clone() {
            let text = match &v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let pairs: Vec<(String, String)> = request
                .url()
                .query_pairs()
                .filter(|(k, _)| k != name)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let mut url = request.url().clone();
            url.query_pairs_mut()
                .clear()
                .extend_pairs(pairs)
                .append_pair(name, &text);
            *request.url_mut() = url;
        }
        slot.seen = request
            .url()
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| Value::String(v.into_owned()));
    } else if let Some(pointer) = p.request.strip_prefix("body:") {
        let mut body: Value = request
            .body()
            .and_then(|b| b.as_bytes())
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        if let Some(v) = slot.set.clone() {
            set_pointer(&mut body, pointer, v)?;
            let bytes = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
            request
                .headers_mut()
                .remove(reqwest::header::CONTENT_LENGTH);
            *request.body_mut() = Some(bytes.into());
        }
        slot.seen = body.pointer(pointer).cloned();
    }
    Ok(())
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Keep the JSON type the caller used (some offsets are documented as strings).
fn like(template: Option<&Value>, n: u64) -> Value {
    match template {
        Some(Value::String(_)) => Value::String(n.to_string()),
        _ => Value::from(n),
    }
}

struct State<O> {
    op: O,
    next: Option<Value>,
    /// Items seen so far (offset and page-number styles).
    seen_items: u64,
    /// Cursors already used, to stop on a server that repeats itself.
    used: Vec<Value>,
    done: bool,
}

/// The next request's cursor after `page`, or `None` at the end.
fn advance(
    meta: &OperationMeta,
    page: &Value,
    sent: Option<&Value>,
    seen_items: &mut u64,
) -> Option<Value> {
    let p = meta.pagination?;
    let found = page.pointer(p.response);
    match p.style {
        PaginationStyle::Cursor | PaginationStyle::BodyCursor | PaginationStyle::IntCursor => {
            match found {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.is_empty() => None,
                Some(v) => Some(v.clone()),
            }
        }
        PaginationStyle::OffsetLimit | PaginationStyle::PageNumber => {
            let total = found.and_then(as_u64)?;
            let count = p
                .items
                .and_then(|i| page.pointer(i))
                .and_then(Value::as_array)
                .map_or(0, |a| a.len() as u64);
            *seen_items += count;
            let current = sent.and_then(as_u64).unwrap_or(0);
            if p.style == PaginationStyle::OffsetLimit {
                let next = current + count;
                (count > 0 && next < total).then(|| like(sent, next))
            } else {
                (count > 0 && *seen_items < total).then(|| like(sent, current + 1))
            }
        }
    }
}

/// Paging for every operation the spec marks with `x-koodrive-pagination`.
pub trait Paginate: Operation + Clone
where
    Self::Output: Serialize,
{
    /// A stream of pages, starting with the request as built.
    ///
    /// # Panics
    /// If the operation does not page (no `x-koodrive-pagination` in the spec).
    fn pages(self) -> impl Stream<Item = Result<Self::Output, Error>> + Send {
        let meta = Self::META;
        assert!(meta.pagination.is_some(), "{} does not page", meta.id);
        let state = State {
            op: self,
            next: None,
            seen_items: 0,
            used: Vec::new(),
            done: false,
        };
        futures_util::stream::unfold(state, move |mut st| async move {
            if st.done {
                return None;
            }
            let slot = Arc::new(Mutex::new(PageSlot {
                set: st.next.clone(),
                seen: None,
            }));
            let result = PAGE.scope(slot.clone(), st.op.clone().call()).await;
            let page = match result {
                Ok(page) => page,
                Err(e) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
            };
            let sent = slot.lock().expect("page slot lock").seen.take();
            let value = serde_json::to_value(&page).unwrap_or(Value::Null);
            match advance(meta, &value, sent.as_ref(), &mut st.seen_items) {
                Some(next) if !st.used.contains(&next) => {
                    st.used.push(next.clone());
                    st.next = Some(next);
                }
                _ => st.done = true,
            }
            Some((Ok(page), st))
        })
    }
}

impl<O: Operation + Clone> Paginate for O where O::Output: Serialize {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_pointer_creates_objects() {
        let mut v = serde_json::json!({"pageInfo": {"pageSize": 10}});
        set_pointer(&mut v, "/pageInfo/pageCursor", Value::from("abc")).unwrap();
        set_pointer(&mut v, "/a/b", Value::from(1)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"pageInfo": {"pageSize": 10, "pageCursor": "abc"}, "a": {"b": 1}})
        );
    }
}
