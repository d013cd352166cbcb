//! Paging: opaque next-page tokens.
//!
//! A token is base64url (no padding) of `[version, scope, crc32(query fingerprint), last key]`.
//! The key is the index key of the last item returned, so the next page starts strictly after it
//! (key-set paging: stable under concurrent inserts, O(log n) to resume; SPEC W-J5). The scope and
//! fingerprint reject a token replayed against a different query instead of returning a wrong
//! page.

use alloc::string::String;
use alloc::vec::Vec;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

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

pub(crate) fn encode(scope: u8, fingerprint: u32, key: &[u8]) -> String {
    let mut raw = Vec::with_capacity(6 + key.len());
    raw.push(TOKEN_VERSION);
    raw.push(scope);
    raw.extend_from_slice(&fingerprint.to_be_bytes());
    raw.extend_from_slice(key);
    URL_SAFE_NO_PAD.encode(raw)
}

/// The key a token resumes after, or a reason why it does not belong to this query.
pub(crate) fn decode(token: &str, scope: u8, fingerprint: u32) -> Result<Vec<u8>, String> {
    let raw = URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| String::from("not a page token (bad encoding)"))?;
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
    let mut h = crate::snapshot::CRC32.digest();
    for p in parts {
        h.update(&(p.len() as u32).to_be_bytes());
        h.update(p);
    }
    h.finalize()
}
