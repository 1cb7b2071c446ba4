//! Attachments in the store: where their objects live, how their file names and media types
//! are made safe, and the signed, expiring URLs that serve them to a conversation's members.
//!
//! An attachment's objects live under `attachments/<id>/`: `file` for a file stored as sent;
//! `full.<ext>` and `<width>.<ext>` thumbnails for an image (re-encoded, without metadata).
//! Unlike avatars they are private: a URL carries an expiry and an HMAC of the path and the
//! expiry under a key derived from the token key, so only this deployment's servers make
//! them, and a leaked URL stops working. With S3, URLs are presigned by the bucket instead.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use uuid::Uuid;

use super::OutputFormat;

/// Where attachments live in the store.
pub const ATTACHMENT_PREFIX: &str = "attachments";

/// Widths of an image attachment's thumbnails (never wider than the image itself).
pub const THUMBNAIL_WIDTHS: [u32; 2] = [320, 1024];

/// The thumbnails an image of `width` × `height` gets: `(width, height)` of each of
/// [`THUMBNAIL_WIDTHS`] narrower than it, proportions kept, smallest first. Upload and API
/// both read it, so the sizes made and the sizes announced cannot drift apart.
pub fn thumbnail_sizes(width: u32, height: u32) -> impl Iterator<Item = (u32, u32)> {
    THUMBNAIL_WIDTHS
        .into_iter()
        .filter(move |target| *target < width)
        .map(move |target| {
            let scaled = (u64::from(height) * u64::from(target) / u64::from(width)).max(1);
            (target, scaled as u32)
        })
}

/// Longest stored file name, in characters.
pub const FILENAME_MAX: usize = 200;

/// What one attachment object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// A file as sent.
    File,
    /// An image at its own size, re-encoded.
    Full(OutputFormat),
    /// An image thumbnail this wide.
    Thumbnail(u32, OutputFormat),
}

impl Variant {
    /// The object's name within its attachment's folder.
    pub fn name(self) -> String {
        match self {
            Self::File => "file".to_owned(),
            Self::Full(format) => format!("full.{}", format.extension()),
            Self::Thumbnail(width, format) => format!("{width}.{}", format.extension()),
        }
    }

    /// Reads an object name this server makes; `None` for anything else.
    pub fn parse(name: &str) -> Option<Self> {
        if name == "file" {
            return Some(Self::File);
        }
        let (stem, ext) = name.split_once('.')?;
        let format = match ext {
            "jpg" => OutputFormat::Jpeg,
            "png" => OutputFormat::Png,
            _ => return None,
        };
        if stem == "full" {
            return Some(Self::Full(format));
        }
        let width: u32 = stem.parse().ok()?;
        (THUMBNAIL_WIDTHS.contains(&width) && width.to_string() == stem)
            .then_some(Self::Thumbnail(width, format))
    }
}

/// The store path of one object of an attachment.
pub fn object_path(id: Uuid, variant: Variant) -> String {
    format!("{ATTACHMENT_PREFIX}/{id}/{}", variant.name())
}

/// Reads a store path this server makes (`attachments/<id>/<variant>`).
pub fn parse_path(path: &str) -> Option<(Uuid, Variant)> {
    let rest = path.strip_prefix(ATTACHMENT_PREFIX)?.strip_prefix('/')?;
    let (text, name) = rest.split_once('/')?;
    let id = Uuid::parse_str(text).ok()?;
    // Only the canonical spelling, so one object has one URL.
    (id.to_string() == text).then_some(())?;
    Some((id, Variant::parse(name)?))
}

/// A file name safe to store and to put in a `Content-Disposition` header: the last path
/// component, without control characters or quotes, at most [`FILENAME_MAX`] characters;
/// `file` when nothing is left.
pub fn safe_filename(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\u{202e}' | '\u{202d}'))
        .take(FILENAME_MAX)
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.');
    if trimmed.is_empty() {
        "file".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// The declared media type of a file, if it is a well-formed `type/subtype`; else
/// `application/octet-stream`. It is shown to clients only: files are always served as
/// `application/octet-stream` to download.
pub fn safe_content_type(declared: Option<&str>) -> String {
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 100
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    declared
        .and_then(|d| d.split(';').next())
        .map(|d| d.trim().to_ascii_lowercase())
        .filter(|d| d.split_once('/').is_some_and(|(t, s)| token(t) && token(s)))
        .unwrap_or_else(|| "application/octet-stream".to_owned())
}

/// `Content-Disposition` for a download: an ASCII fallback name and the UTF-8 one (RFC 6266).
pub fn content_disposition(kind: &str, filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| if c.is_ascii() && c != '\\' { c } else { '_' })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

type HmacSha256 = Hmac<Sha256>;

/// Signs and checks attachment URLs.
#[derive(Clone)]
pub struct UrlSigner {
    key: Arc<[u8; 32]>,
    ttl_secs: i64,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlSigner")
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl UrlSigner {
    /// A signer with this key, whose URLs live `ttl` (at least a minute).
    pub fn new(key: [u8; 32], ttl: std::time::Duration) -> Self {
        Self {
            key: Arc::new(key),
            ttl_secs: ttl.as_secs().max(60) as i64,
        }
    }

    /// How long a URL made now stays valid, at least.
    pub fn ttl(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.ttl_secs as u64)
    }

    /// When a URL made at `now` expires: `ttl` ahead, rounded up to a quarter of it, so URLs
    /// made within the same quarter are the same URL and clients can cache what they fetch.
    pub fn expiry(&self, now: DateTime<Utc>) -> i64 {
        let step = (self.ttl_secs / 4).max(1);
        let at = now.timestamp() + self.ttl_secs;
        (at + step - 1) / step * step
    }

    fn mac(&self, path: &str, expires: i64) -> HmacSha256 {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(self.key.as_slice())
            .expect("HMAC takes keys of any length");
        mac.update(path.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    /// The query that makes `path` fetchable until `expires`.
    pub fn query(&self, path: &str, expires: i64) -> String {
        let sig = URL_SAFE_NO_PAD.encode(self.mac(path, expires).finalize().into_bytes());
        format!("expires={expires}&sig={sig}")
    }

    /// Whether a request's `expires` and `sig` are this server's for `path` and not past.
    pub fn verify(&self, path: &str, expires: i64, sig: &str, now: DateTime<Utc>) -> bool {
        if expires < now.timestamp() {
            return false;
        }
        let Ok(sig) = URL_SAFE_NO_PAD.decode(sig) else {
            return false;
        };
        self.mac(path, expires).verify_slice(&sig).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip_and_refuse_anything_else() {
        let id = Uuid::now_v7();
        for variant in [
            Variant::File,
            Variant::Full(OutputFormat::Png),
            Variant::Thumbnail(320, OutputFormat::Jpeg),
        ] {
            assert_eq!(parse_path(&object_path(id, variant)), Some((id, variant)));
        }
        for bad in [
            format!("attachments/{id}/321.jpg"),
            format!("attachments/{id}/file.exe"),
            format!("attachments/{id}/../file"),
            format!("attachments/{}/file", id.to_string().to_uppercase()),
            format!("avatars/{id}/file"),
            "attachments/x/file".to_owned(),
        ] {
            assert_eq!(parse_path(&bad), None, "{bad}");
        }
    }

    #[test]
    fn names_and_types_are_made_safe() {
        assert_eq!(safe_filename("../../etc/passwd"), "passwd");
        assert_eq!(safe_filename("C:\\x\\report.pdf"), "report.pdf");
        assert_eq!(safe_filename("a\"b\u{0}c\u{202e}.txt"), "abc.txt");
        assert_eq!(safe_filename(".."), "file");
        assert_eq!(
            safe_filename(&"é".repeat(300)).chars().count(),
            FILENAME_MAX
        );
        assert_eq!(
            safe_content_type(Some("Text/Plain; charset=utf-8")),
            "text/plain"
        );
        assert_eq!(
            safe_content_type(Some("text/html\r\nX: y")),
            "application/octet-stream"
        );
        assert_eq!(safe_content_type(None), "application/octet-stream");
        assert_eq!(
            content_disposition("attachment", "résumé 1.pdf"),
            "attachment; filename=\"r_sum_ 1.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%201.pdf"
        );
    }

    #[test]
    fn signatures_bind_the_path_and_the_expiry() {
        let signer = UrlSigner::new([7; 32], std::time::Duration::from_secs(3600));
        let now = Utc::now();
        let expires = signer.expiry(now);
        assert!(expires >= now.timestamp() + 3600 && expires < now.timestamp() + 3600 + 900);
        let query = signer.query("attachments/a/file", expires);
        let sig = query.split("sig=").nth(1).expect("sig");
        assert!(signer.verify("attachments/a/file", expires, sig, now));
        assert!(!signer.verify("attachments/b/file", expires, sig, now));
        assert!(!signer.verify("attachments/a/file", expires + 1, sig, now));
        let later = DateTime::from_timestamp(expires + 1, 0).expect("time");
        assert!(!signer.verify("attachments/a/file", expires, sig, later));
        let other = UrlSigner::new([8; 32], std::time::Duration::from_secs(3600));
        assert!(!other.verify("attachments/a/file", expires, sig, now));
    }
}
