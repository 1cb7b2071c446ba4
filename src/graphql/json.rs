//! GraphQL responses written as JSON: byte for byte what `serde_json` writes for them, faster.
//!
//! `serde_json` escapes a string by looking its bytes up in a table one at a time: 9 % of the
//! server's instructions for a page of history and 7 % for an inbox went there. [`write_batch`]
//! writes the response's data itself, checking strings 16 bytes at a time for the three kinds
//! of byte JSON escapes (a quote, a backslash, a control character), a loop the compiler turns
//! into a few vector instructions. Numbers, errors and extensions (small, with types of their
//! own) still go through `serde_json`. The tests hold both writers to the same bytes.
//!
//! Written by hand because `serde_json`'s `Formatter` sees strings only after they were
//! scanned, and a SIMD JSON crate (sonic-rs) would bring a whole parser and serializer, with
//! its `unsafe`, for this one loop.
//!
//! **`Value::Binary` holds JSON written before**, copied here as it is: the objects of an
//! HTTP response that [`super::eager`] writes while it resolves them ([`write_value`] writes
//! their values). No type of the schema outputs binary data, and the socket, whose responses
//! `serde_json` writes, never gets such objects.

use std::convert::Infallible;

use async_graphql::{BatchResponse, Response, Value};

/// Appends `batch` to `out` as JSON.
pub fn write_batch(out: &mut Vec<u8>, batch: &BatchResponse) -> serde_json::Result<()> {
    match batch {
        BatchResponse::Single(response) => write_response(out, response),
        BatchResponse::Batch(responses) => write_array(out, responses, write_response),
    }
}

/// Appends `response` to `out` as JSON, its members in the order of `Response`'s fields.
fn write_response(out: &mut Vec<u8>, response: &Response) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\"data\":");
    write_value(out, &response.data);
    if !response.extensions.is_empty() {
        out.extend_from_slice(b",\"extensions\":");
        serde_json::to_writer(&mut *out, &response.extensions)?;
    }
    if !response.errors.is_empty() {
        out.extend_from_slice(b",\"errors\":");
        serde_json::to_writer(&mut *out, &response.errors)?;
    }
    out.push(b'}');
    Ok(())
}

/// Appends `value` to `out` as JSON; a `Binary` value is JSON already (see the module's doc).
pub fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(true) => out.extend_from_slice(b"true"),
        Value::Boolean(false) => out.extend_from_slice(b"false"),
        Value::String(text) => write_str(out, text),
        Value::Enum(name) => write_str(out, name),
        // Cannot fail: a `Vec`'s `io::Write` never does, and every `Number` has a JSON form.
        Value::Number(number) => serde_json::to_writer(&mut *out, number).unwrap_or_default(),
        Value::Binary(json) => {
            debug_assert!(
                serde_json::from_slice::<serde::de::IgnoredAny>(json).is_ok(),
                "a Binary value that is not JSON: {json:?}"
            );
            out.extend_from_slice(json);
        }
        Value::List(items) => {
            let Ok(()) = write_array(out, items, |out, item| {
                write_value(out, item);
                Ok::<(), Infallible>(())
            });
        }
        Value::Object(members) => {
            out.push(b'{');
            for (i, (key, member)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, key);
                out.push(b':');
                write_value(out, member);
            }
            out.push(b'}');
        }
    }
}

/// Appends `items` to `out` as a JSON array, each written by `write`.
fn write_array<T, E>(
    out: &mut Vec<u8>,
    items: &[T],
    write: impl Fn(&mut Vec<u8>, &T) -> Result<(), E>,
) -> Result<(), E> {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, item)?;
    }
    out.push(b']');
    Ok(())
}

/// Bytes checked together before looking at them one by one.
const BLOCK: usize = 16;

/// Appends `text` to `out` as a JSON string, escaped as `serde_json` escapes it.
pub fn write_str(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // `bytes[start..]` is still to write.
    let mut start = 0;
    while let Some(at) = find_escape(&bytes[start..]).map(|offset| start + offset) {
        out.extend_from_slice(&bytes[start..at]);
        write_escape(out, bytes[at]);
        start = at + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Where the first byte of `bytes` that must be escaped is, checking whole blocks (the last
/// one padded with spaces) before looking at single bytes.
fn find_escape(bytes: &[u8]) -> Option<usize> {
    let (blocks, rest) = bytes.as_chunks::<BLOCK>();
    let at = match blocks.iter().position(|block| !clean(block)) {
        Some(n) => n * BLOCK,
        None => {
            let mut last = [b' '; BLOCK];
            last[..rest.len()].copy_from_slice(rest);
            if clean(&last) {
                return None;
            }
            bytes.len() - rest.len()
        }
    };
    bytes[at..]
        .iter()
        .position(|&byte| must_escape(byte))
        .map(|i| at + i)
}

/// Whether no byte of `block` needs escaping. A fixed-size block folded without an early exit
/// (not `any`), so that the compiler checks it in a few vector instructions.
fn clean(block: &[u8; BLOCK]) -> bool {
    !block
        .iter()
        .fold(false, |hit, &byte| hit | must_escape(byte))
}

/// Whether JSON needs `byte` escaped: a quote, a backslash or a control character. Without
/// short-circuits, so that [`clean`] stays branch-free.
fn must_escape(byte: u8) -> bool {
    (byte < 0x20) | (byte == b'"') | (byte == b'\\')
}

/// The escape of a byte [`must_escape`] is true for: the short forms `serde_json` uses, else
/// `\u00` and two lower-case hex digits.
fn write_escape(out: &mut Vec<u8>, byte: u8) {
    let short = match byte {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x09 => b't',
        0x0a => b'n',
        0x0c => b'f',
        0x0d => b'r',
        _ => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0xf)]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
}

/// [`write_batch`] into a new buffer that starts with room for `capacity` bytes, or for the
/// data's JSON if that is longer (estimated from its strings and the JSON written before,
/// which make most of it): growing the buffer copies all written so far (1.5 % of a history
/// page's instructions when it started at 8 KiB).
pub fn to_vec(batch: &BatchResponse, capacity: usize) -> serde_json::Result<Vec<u8>> {
    /// Room for the rest: the errors and extensions, strings that escape a few characters.
    const SLACK: usize = 256;
    let data: usize = match batch {
        BatchResponse::Single(response) => data_len(&response.data),
        BatchResponse::Batch(responses) => responses.iter().map(|r| data_len(&r.data)).sum(),
    };
    let mut out = Vec::with_capacity(capacity.max(data + SLACK));
    write_batch(&mut out, batch)?;
    Ok(out)
}

/// About how many bytes [`write_value`] writes for `value` (exactly, but for numbers and
/// escapes).
fn data_len(value: &Value) -> usize {
    match value {
        Value::Null | Value::Boolean(_) => 5,
        Value::Number(_) => 8,
        Value::String(text) => text.len() + 2,
        Value::Enum(name) => name.len() + 2,
        Value::Binary(json) => json.len(),
        Value::List(items) => 2 + items.iter().map(|item| data_len(item) + 1).sum::<usize>(),
        Value::Object(members) => {
            let members = members.iter();
            2 + members
                .map(|(key, member)| key.len() + 4 + data_len(member))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::indexmap::IndexMap;
    use async_graphql::{Name, ServerError, Value};

    use super::*;

    /// Every byte below 0x80 in every position of a block, runs longer than a block, and
    /// characters of two, three and four bytes.
    fn texts() -> Vec<String> {
        let mut texts = vec![
            String::new(),
            "plain".to_owned(),
            "exactly sixteen!".to_owned(),
            "a \"quoted\" \\ path\\to\\file with a tab\tand\r\nlines".to_owned(),
            "é ü 漢字 🎉 and \u{7f} and \u{2028}".repeat(5),
            "x".repeat(100) + "\"" + &"y".repeat(33),
        ];
        for byte in 0u8..0x80 {
            let c = char::from(byte);
            texts.push(c.to_string());
            for at in [0, 7, 15, 16, 17, 31, 40] {
                let mut text = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH".to_owned();
                text.insert(at, c);
                texts.push(text);
            }
        }
        texts
    }

    fn object(members: Vec<(&str, Value)>) -> Value {
        Value::Object(
            members
                .into_iter()
                .map(|(k, v)| (Name::new(k), v))
                .collect::<IndexMap<_, _>>(),
        )
    }

    fn same_bytes(batch: &BatchResponse) {
        let ours = to_vec(batch, 0).expect("writes");
        let theirs = serde_json::to_vec(batch).expect("serde_json writes");
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }

    #[test]
    fn every_string_is_written_as_serde_json_writes_it() {
        for text in texts() {
            same_bytes(&BatchResponse::Single(Response::new(Value::String(
                text.clone(),
            ))));
            same_bytes(&BatchResponse::Single(Response::new(object(vec![(
                &text,
                Value::Enum(Name::new("GROUP")),
            )]))));
        }
    }

    #[test]
    fn every_kind_of_value_and_response_is_written_as_serde_json_writes_it() {
        let data = object(vec![
            ("null", Value::Null),
            ("yes", Value::Boolean(true)),
            ("no", Value::Boolean(false)),
            ("int", Value::from(-42)),
            ("big", Value::Number(u64::MAX.into())),
            ("float", Value::from(1.5e300)),
            ("small", Value::from(-0.000_001)),
            ("kind", Value::Enum(Name::new("DIRECT"))),
            ("empty list", Value::List(vec![])),
            ("empty object", Value::Object(IndexMap::new())),
            (
                "nested",
                Value::List(vec![
                    object(vec![
                        ("id", Value::from("1")),
                        ("body", Value::from("hi\n")),
                    ]),
                    Value::Null,
                    Value::List(vec![Value::from(1), Value::from("two")]),
                ]),
            ),
        ]);
        let mut with_errors = Response::new(data.clone());
        with_errors
            .errors
            .push(ServerError::new("not \"found\"", None));
        let mut with_extensions = Response::new(Value::Null);
        with_extensions
            .extensions
            .insert("cost".to_owned(), Value::from(3));
        let failed = Response::from_errors(vec![ServerError::new("bad", None)]);
        for response in [Response::new(data), with_errors, with_extensions, failed] {
            same_bytes(&BatchResponse::Single(response));
        }
        same_bytes(&BatchResponse::Batch(vec![]));
        same_bytes(&BatchResponse::Batch(vec![
            Response::new(Value::from(1)),
            Response::from_errors(vec![ServerError::new("second", None)]),
        ]));
    }

    #[test]
    fn binary_values_are_copied_as_the_json_they_hold() {
        let written = br#"{"id":"1","tags":["a\"b",null]}"#;
        let data = object(vec![
            ("raw", Value::Binary(written.to_vec().into())),
            (
                "list",
                Value::List(vec![Value::Binary(b"[]".to_vec().into())]),
            ),
        ]);
        let ours = to_vec(&BatchResponse::Single(Response::new(data)), 0).expect("writes");
        assert_eq!(
            String::from_utf8_lossy(&ours),
            r#"{"data":{"raw":{"id":"1","tags":["a\"b",null]},"list":[[]]}}"#
        );
    }
}
