//! Media: upload checks and thumbnails ([`process`]), object storage ([`store`]), and the
//! names objects are stored under.
//!
//! An avatar is stored as one image per size in [`AVATAR_SIZES`], all square and in one
//! format. Its name ([`AvatarKey`], kept in `users.avatar_key` as `<hash>.<ext>`) is a hash of
//! those images' bytes, and its objects are `avatars/<hash>/<size>.<ext>`. Content decides the
//! name, so a URL never changes meaning and may be cached forever; identical pictures share
//! their objects.

pub mod attachments;
pub mod process;
pub mod store;

use std::fmt;
use std::sync::Arc;

pub use attachments::UrlSigner;
pub use process::{ImageLimits, ImageProcessor};
pub use store::MediaStore;

use crate::config::Config;

/// Everything media: where objects are kept, how uploads are processed, and where the URLs
/// handed to clients point. Cheap to clone.
#[derive(Clone)]
pub struct Media {
    /// Where objects are kept.
    pub store: MediaStore,
    /// Checks uploads and makes thumbnails.
    pub images: ImageProcessor,
    /// Prefix of media URLs, without a trailing slash.
    base_url: Arc<str>,
    /// Signs the private URLs of attachments.
    pub signer: UrlSigner,
}

impl Media {
    /// Media as the configuration says: the store (the local folder is created if missing),
    /// the upload limits, and `MEDIA_BASE_URL` (default `/media` on this server).
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        Ok(Self {
            store: MediaStore::from_config(config)?,
            images: ImageProcessor::new(ImageLimits::from_config(config)),
            base_url: config.media_base_url.as_deref().unwrap_or("/media").into(),
            // Replaced by the deployment's key in `AppState::new` (see `with_url_key`).
            signer: UrlSigner::new(
                crate::auth::tokens::random_bytes::<32>()?,
                config.media_url_ttl,
            ),
        })
    }

    /// The same media, signing attachment URLs with `key` (derived from the token key, so
    /// that every server of a deployment makes and accepts the same URLs).
    pub fn with_url_key(mut self, key: [u8; 32]) -> Self {
        self.signer = UrlSigner::new(key, self.signer.ttl());
        self
    }

    /// The URL clients fetch an object at.
    pub fn url(&self, object_path: &str) -> String {
        format!("{}/{object_path}", self.base_url)
    }

    /// A private, expiring URL of an attachment object (until `signer.expiry(now)`):
    /// presigned by the bucket when the store is S3, else signed for this server's `/media`
    /// route (under `MEDIA_BASE_URL` if set: a CDN in front passes the query through to be
    /// checked here).
    pub async fn private_url(
        &self,
        object_path: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, crate::error::AppError> {
        let expires = self.signer.expiry(now);
        let lifetime = std::time::Duration::from_secs((expires - now.timestamp()).max(1) as u64);
        if let Some(url) = self.store.presigned_get(object_path, lifetime).await? {
            return Ok(url);
        }
        let query = self.signer.query(object_path, expires);
        Ok(format!("{}?{query}", self.url(object_path)))
    }
}

/// Sizes, in pixels, of the square images made from every avatar, smallest first.
pub const AVATAR_SIZES: [u32; 3] = [64, 256, 512];

/// Folder of the store that holds avatars.
pub const AVATAR_PREFIX: &str = "avatars";

/// Hex digits of an avatar's hash (128 bits of SHA-256).
const HASH_HEX_LEN: usize = 32;

/// `Cache-Control` of attachment objects: the browser may keep them, shared caches may not.
pub const PRIVATE_CACHE_CONTROL: &str = "private, max-age=3600";

/// `Cache-Control` of avatars: content-addressed, so never stale.
pub const IMMUTABLE_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// The format thumbnails are encoded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    /// Opaque pictures.
    Jpeg,
    /// Pictures with transparency.
    Png,
}

impl OutputFormat {
    /// The file extension in object names.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
        }
    }

    /// The media type served.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }

    fn from_extension(ext: &str) -> Option<Self> {
        match ext {
            "jpg" => Some(Self::Jpeg),
            "png" => Some(Self::Png),
            _ => None,
        }
    }
}

/// The name of a stored avatar: the hash of its images and their format.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AvatarKey {
    hash: String,
    format: OutputFormat,
}

impl AvatarKey {
    /// The key for images whose bytes hash to `digest` (at least 16 bytes of it are used).
    pub fn from_digest(digest: &[u8], format: OutputFormat) -> Self {
        let hash = digest
            .iter()
            .take(HASH_HEX_LEN / 2)
            .map(|b| format!("{b:02x}"))
            .collect();
        Self { hash, format }
    }

    /// Reads the stored form (`<hash>.<ext>`); `None` if it is not one.
    pub fn parse(stored: &str) -> Option<Self> {
        let (hash, ext) = stored.split_once('.')?;
        let valid_hash = hash.len() == HASH_HEX_LEN
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid_hash.then_some(())?;
        Some(Self {
            hash: hash.to_owned(),
            format: OutputFormat::from_extension(ext)?,
        })
    }

    /// The format of its images.
    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// The hash part.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The object name of the image of one size.
    pub fn object_path(&self, size: u32) -> String {
        format!(
            "{AVATAR_PREFIX}/{}/{size}.{}",
            self.hash,
            self.format.extension()
        )
    }

    /// The object names of all its images, smallest first.
    pub fn object_paths(&self) -> Vec<String> {
        AVATAR_SIZES
            .iter()
            .map(|&size| self.object_path(size))
            .collect()
    }
}

/// The stored form, as kept in `users.avatar_key`.
impl fmt::Display for AvatarKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.hash, self.format.extension())
    }
}

/// An object that `GET /media/…` may serve: only the names this module makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServableObject {
    /// The object's name in the store.
    pub path: String,
    /// Its media type.
    pub content_type: &'static str,
    /// Its strong entity tag (quoted). Names never change content, so the name is the tag.
    pub etag: String,
}

impl ServableObject {
    /// Parses the part of a `/media/` URL after the prefix; `None` for anything that is not
    /// the name of an avatar image.
    pub fn parse(path: &str) -> Option<Self> {
        let rest = path.strip_prefix(AVATAR_PREFIX)?.strip_prefix('/')?;
        let (hash, file) = rest.split_once('/')?;
        let (size_text, ext) = file.split_once('.')?;
        let size: u32 = size_text.parse().ok()?;
        // One spelling per object: no "+64" or "064".
        if !AVATAR_SIZES.contains(&size) || size.to_string() != size_text {
            return None;
        }
        let key = AvatarKey::parse(&format!("{hash}.{ext}"))?;
        Some(Self {
            path: key.object_path(size),
            content_type: key.format.content_type(),
            etag: format!("\"{}-{size}\"", key.hash),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_refuse_anything_else() {
        let key = AvatarKey::from_digest(&[0xab; 32], OutputFormat::Png);
        let stored = key.to_string();
        assert_eq!(stored, format!("{}.png", "ab".repeat(16)));
        assert_eq!(AvatarKey::parse(&stored), Some(key.clone()));
        assert_eq!(
            key.object_path(64),
            format!("avatars/{}/64.png", "ab".repeat(16))
        );
        for bad in [
            "",
            "abc.png",
            &format!("{}.gif", "ab".repeat(16)),
            &format!("{}.png", "AB".repeat(16)),
            &format!("{}.png", "ab".repeat(17)),
        ] {
            assert_eq!(AvatarKey::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_avatar_images_are_servable() {
        let hash = "0f".repeat(16);
        let ok = ServableObject::parse(&format!("avatars/{hash}/256.jpg")).expect("servable");
        assert_eq!(ok.content_type, "image/jpeg");
        assert_eq!(ok.etag, format!("\"{hash}-256\""));
        for bad in [
            format!("avatars/{hash}/100.jpg"),
            format!("avatars/{hash}/0256.jpg"),
            format!("avatars/{hash}/+64.jpg"),
            format!("avatars/{hash}/64.exe"),
            format!("avatars/{hash}/../64.jpg"),
            format!("avatars/../{hash}/64.jpg"),
            format!("other/{hash}/64.jpg"),
            "token.key".to_owned(),
        ] {
            assert_eq!(ServableObject::parse(&bad), None, "{bad}");
        }
    }
}
