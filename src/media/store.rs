//! Object storage through `object_store`: the folder `<data>/media` by default, an S3 (or
//! S3-compatible) bucket when `MESSENGER_S3_BUCKET` is set.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use anyhow::Context;
use axum::body::Bytes;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{Attribute, Attributes, ObjectStore, ObjectStoreExt, PutOptions, PutPayload};

use super::attachments::{ATTACHMENT_PREFIX, parse_path};
use super::process::AvatarImages;
use super::{
    AVATAR_PREFIX, AvatarKey, IMMUTABLE_CACHE_CONTROL, PRIVATE_CACHE_CONTROL, ServableObject,
};
use crate::config::{Config, S3Config};
use crate::error::AppError;

/// Where media objects are kept.
#[derive(Clone, Debug)]
pub struct MediaStore {
    store: Arc<dyn ObjectStore>,
    /// The same store when it is S3, to presign URLs with.
    s3: Option<Arc<AmazonS3>>,
    /// S3 keeps `Content-Type` and `Cache-Control` with each object (so a CDN in front of the
    /// bucket serves them right); the local folder keeps bytes only.
    keeps_attributes: bool,
}

/// An avatar found in the store, for sweeping.
#[derive(Debug, Clone)]
pub struct StoredAvatar {
    /// Its key.
    pub key: AvatarKey,
    /// Its objects' names.
    pub paths: Vec<String>,
    /// When its newest object was written.
    pub last_modified: DateTime<Utc>,
}

impl MediaStore {
    /// The store the configuration names. The local folder is created if missing.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        match &config.s3 {
            Some(s3) => Self::s3(s3),
            None => Self::local(&config.data_dir.join("media")),
        }
    }

    /// A store in a local folder (created if missing).
    pub fn local(dir: &std::path::Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the media folder {}", dir.display()))?;
        let store = LocalFileSystem::new_with_prefix(dir)
            .with_context(|| format!("opening the media folder {}", dir.display()))?;
        Ok(Self {
            store: Arc::new(store),
            s3: None,
            keeps_attributes: false,
        })
    }

    /// A store in an S3 bucket.
    pub fn s3(s3: &S3Config) -> anyhow::Result<Self> {
        install_crypto_provider();
        // The standard AWS_* variables first (web identity, profiles' successors…), then ours.
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&s3.bucket)
            .with_region(&s3.region)
            .with_allow_http(s3.allow_http);
        if let Some(endpoint) = &s3.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false);
        }
        if let (Some(id), Some(secret)) = (&s3.access_key_id, &s3.secret_access_key) {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret);
        }
        if let Some(token) = &s3.session_token {
            builder = builder.with_token(token);
        }
        let store = builder.build().with_context(|| {
            format!(
                "configuring the S3 bucket {} (MESSENGER_S3_BUCKET and related variables)",
                s3.bucket
            )
        })?;
        let store = Arc::new(store);
        Ok(Self {
            store: store.clone(),
            s3: Some(store),
            keeps_attributes: true,
        })
    }

    /// The underlying store (tests look inside it).
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Writes an avatar's images. Writing the same key again writes the same bytes.
    pub async fn put_avatar(&self, avatar: &AvatarImages) -> Result<(), AppError> {
        let content_type = avatar.key.format().content_type();
        for (size, bytes) in &avatar.images {
            let mut options = PutOptions::default();
            if self.keeps_attributes {
                let mut attributes = Attributes::new();
                attributes.insert(Attribute::ContentType, content_type.into());
                attributes.insert(Attribute::CacheControl, IMMUTABLE_CACHE_CONTROL.into());
                options.attributes = attributes;
            }
            let path = Path::from(avatar.key.object_path(*size));
            self.store
                .put_opts(&path, PutPayload::from(bytes.clone()), options)
                .await
                .map_err(store_error)?;
        }
        Ok(())
    }

    /// Writes one object of an attachment, with the headers S3 serves it with (the `/media`
    /// route sets its own).
    pub async fn put_attachment_object(
        &self,
        path: &str,
        bytes: Vec<u8>,
        content_type: &str,
        disposition: &str,
    ) -> Result<(), AppError> {
        let mut options = PutOptions::default();
        if self.keeps_attributes {
            let mut attributes = Attributes::new();
            attributes.insert(Attribute::ContentType, content_type.to_owned().into());
            attributes.insert(Attribute::ContentDisposition, disposition.to_owned().into());
            attributes.insert(Attribute::CacheControl, PRIVATE_CACHE_CONTROL.into());
            options.attributes = attributes;
        }
        self.store
            .put_opts(&Path::from(path), PutPayload::from(bytes), options)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    /// Deletes every object of an attachment; ones already gone are fine.
    pub async fn delete_attachment(&self, id: uuid::Uuid) -> Result<(), AppError> {
        let prefix = Path::from(format!("{ATTACHMENT_PREFIX}/{id}"));
        let objects: Vec<_> = self
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(store_error)?;
        for meta in objects {
            match self.store.delete(&meta.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(store_error(e)),
            }
        }
        Ok(())
    }

    /// The ids of the attachments in the store, each with its newest object's time.
    pub async fn list_attachments(&self) -> Result<Vec<(uuid::Uuid, DateTime<Utc>)>, AppError> {
        let objects: Vec<_> = self
            .store
            .list(Some(&Path::from(ATTACHMENT_PREFIX)))
            .try_collect()
            .await
            .map_err(store_error)?;
        let mut found: BTreeMap<uuid::Uuid, DateTime<Utc>> = BTreeMap::new();
        for meta in objects {
            if let Some((id, _)) = parse_path(meta.location.as_ref()) {
                let newest = found.entry(id).or_insert(meta.last_modified);
                *newest = (*newest).max(meta.last_modified);
            }
        }
        Ok(found.into_iter().collect())
    }

    /// An object's bytes, or `None` if it is not there.
    pub async fn get_path(&self, path: &str) -> Result<Option<Bytes>, AppError> {
        let result = match self.store.get(&Path::from(path)).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(store_error(e)),
        };
        match result.bytes().await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_error(e)),
        }
    }

    /// A presigned GET URL valid for `lifetime`, when the store is S3; `None` otherwise.
    pub async fn presigned_get(
        &self,
        path: &str,
        lifetime: std::time::Duration,
    ) -> Result<Option<String>, AppError> {
        let Some(s3) = &self.s3 else {
            return Ok(None);
        };
        let url = s3
            .signed_url(reqwest::Method::GET, &Path::from(path), lifetime)
            .await
            .map_err(store_error)?;
        Ok(Some(url.to_string()))
    }

    /// Deletes an avatar's images; ones already gone are fine.
    pub async fn delete_avatar(&self, key: &AvatarKey) -> Result<(), AppError> {
        for path in key.object_paths() {
            match self.store.delete(&Path::from(path)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(store_error(e)),
            }
        }
        Ok(())
    }

    /// An object's bytes, or `None` if there is no such object.
    pub async fn get(&self, object: &ServableObject) -> Result<Option<Bytes>, AppError> {
        self.get_path(&object.path).await
    }

    /// Whether an object exists (for answering `If-None-Match` without reading it).
    pub async fn exists(&self, object: &ServableObject) -> Result<bool, AppError> {
        match self.store.head(&Path::from(object.path.as_str())).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Every avatar in the store, grouped by key. Objects under `avatars/` that this server
    /// did not name are left out (and left alone).
    pub async fn list_avatars(&self) -> Result<Vec<StoredAvatar>, AppError> {
        let objects: Vec<_> = self
            .store
            .list(Some(&Path::from(AVATAR_PREFIX)))
            .try_collect()
            .await
            .map_err(store_error)?;
        let mut found: BTreeMap<String, StoredAvatar> = BTreeMap::new();
        for meta in objects {
            let location = meta.location.to_string();
            let Some(object) = ServableObject::parse(&location) else {
                continue;
            };
            let Some(key) = key_of(&object) else {
                continue;
            };
            let entry = found
                .entry(key.to_string())
                .or_insert_with(|| StoredAvatar {
                    key,
                    paths: Vec::new(),
                    last_modified: meta.last_modified,
                });
            entry.paths.push(location);
            entry.last_modified = entry.last_modified.max(meta.last_modified);
        }
        Ok(found.into_values().collect())
    }
}

/// The avatar key a servable object belongs to.
fn key_of(object: &ServableObject) -> Option<AvatarKey> {
    let mut parts = object.path.split('/').skip(1);
    let hash = parts.next()?;
    let ext = parts.next()?.rsplit_once('.')?.1;
    AvatarKey::parse(&format!("{hash}.{ext}"))
}

/// A store failure: network trouble is worth a retry; the rest is logged as internal.
pub fn store_error(err: object_store::Error) -> AppError {
    match err {
        object_store::Error::Generic { .. } => {
            AppError::Unavailable(format!("object store: {err}"))
        }
        other => AppError::internal(anyhow::Error::new(other).context("object store")),
    }
}

/// rustls needs one process-wide crypto provider; this build carries ring.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another part of the process installed one first: that one is used.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Keys of the avatars a listing holds (used by tests and the sweep).
pub fn keys(avatars: &[StoredAvatar]) -> HashSet<String> {
    avatars.iter().map(|a| a.key.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_https_s3_store_builds_with_the_bundled_tls() {
        // Building the client sets up rustls: this fails if no crypto provider is available.
        let store = MediaStore::s3(&S3Config {
            bucket: "pictures".into(),
            region: "eu-west-3".into(),
            endpoint: Some("https://127.0.0.1:9".into()),
            allow_http: false,
            access_key_id: Some("id".into()),
            secret_access_key: Some("secret".into()),
            session_token: None,
        });
        assert!(store.is_ok(), "{store:?}");
    }
}
