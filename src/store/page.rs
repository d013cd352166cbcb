//! Paging: opaque next-page tokens.
//!
//! A token is base64url (no padding) of `[version, scope, crc32(query fingerprint), last key]`.
//! The codec is `codec/base64url.rs` rather than the `base64` crate (see the README there).
//! The key is the index key of the last item returned, so the next page starts strictly after it
//! (key-set paging: stable under concurrent inserts, O(log n) to resume; SPEC W-J5). The scope and
//! fingerprint reject a token replayed against a different query instead of returning a wrong
//! page.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::error::StorageError;
use crate::kv::key::prefix_upper_bound;
use crate::kv::{Direction, KeyRange, ReadTxn, Table, Value};

const TOKEN_VERSION: u8 = 1;

/// One page of results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The items, in order.
    pub items: Vec<T>,
    /// Pass this back to get the next page; `None` when there is no more.
    pub next_token: Option<String>,
}

/// Options for paged reads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PageRequest {
    /// Maximum items per page; 0 means no limit.
    pub limit: u32,
    /// A token from the previous page.
    pub next_token: Option<String>,
}

/// A page of the values under a key prefix that `keep` accepts, resuming after the key a token
/// names. A token carries `scope` (which listing) and `fingerprint` (which query) so that one
/// replayed against another listing is refused through `bad_token`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn paged<T: ReadTxn, V: Value, E: From<StorageError>>(
    txn: &T,
    table: Table<V>,
    prefix: &[u8],
    limit: u32,
    next_token: Option<&str>,
    (scope, fingerprint): (u8, u32),
    keep: impl Fn(&V) -> bool,
    bad_token: impl FnOnce(String) -> E,
) -> Result<Page<V>, E> {
    let upper = prefix_upper_bound(prefix);
    let whole = KeyRange::prefix(prefix, &upper);
    let after = match next_token {
        Some(t) => Some(crate::page::decode(t, scope, fingerprint).map_err(bad_token)?),
        None => None,
    };
    let range = match &after {
        Some(k) => KeyRange { start: core::ops::Bound::Excluded(k.as_slice()), end: whole.end },
        None => whole,
    };
    let limit = limit as usize;
    let mut items = Vec::new();
    let mut last_key = Vec::new();
    let mut more = false;
    txn.scan(table, range, Direction::Forward, &mut |k, v| {
        if !keep(&v) {
            return Ok(true);
        }
        if limit != 0 && items.len() == limit {
            more = true;
            return Ok(false);
        }
        last_key.clear();
        last_key.extend_from_slice(k);
        items.push(v);
        Ok(true)
    })?;
    let next_token = more.then(|| crate::page::encode(scope, fingerprint, &last_key));
    Ok(Page { items, next_token })
}

pub(crate) fn encode(scope: u8, fingerprint: u32, key: &[u8]) -> String {
    let mut raw = Vec::with_capacity(6 + key.len());
    raw.push(TOKEN_VERSION);
    raw.push(scope);
    raw.extend_from_slice(&fingerprint.to_be_bytes());
    raw.extend_from_slice(key);
    crate::codec::base64url::encode(&raw)
}

/// The key a token resumes after, or a reason why it does not belong to this query.
pub(crate) fn decode(token: &str, scope: u8, fingerprint: u32) -> Result<Vec<u8>, String> {
    let raw =
        crate::codec::base64url::decode(token.trim()).ok_or_else(|| String::from("not a page token (bad encoding)"))?;
    if raw.len() < 6 || raw[0] != TOKEN_VERSION {
        return Err("not a page token (bad header)".into());
    }
    if raw[1] != scope || raw[2..6] != fingerprint.to_be_bytes() {
        return Err("token belongs to a different query (filters, sort order or record changed)".into());
    }
    Ok(raw[6..].to_vec())
}

/// A stable fingerprint of the parts of a query a token must not outlive.
pub(crate) fn fingerprint(parts: &[&[u8]]) -> u32 {
    let mut h = crate::codec::CRC32.digest();
    for p in parts {
        h.update(&(p.len() as u32).to_be_bytes());
        h.update(p);
    }
    h.finalize()
}
