//! Attachments: upload first, then send with the ids. Images are checked, stripped of
//! metadata and re-encoded with thumbnails; other files are kept as sent. Objects are written
//! before the row, and deleted after the row is gone (a message deleted, an upload never
//! sent), so a crash leaves at most objects without a row, which [`sweep`] deletes.

use std::time::Duration;

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::media::attachments::{
    Variant, content_disposition, object_path, parse_path, safe_content_type, safe_filename,
};
use crate::media::process::{sniff, too_large_file};
use crate::models::attachment::{self as attachment_model, Attachment};
use crate::state::AppState;

/// Most attachments one message may carry.
pub const MAX_PER_MESSAGE: usize = 10;

/// An uploaded file as the request gave it.
#[derive(Debug)]
pub struct Upload {
    /// The file's bytes, read up to one past the limit.
    pub bytes: Vec<u8>,
    /// The name the client gave.
    pub filename: String,
    /// The media type the client declared.
    pub content_type: Option<String>,
}

/// Checks and stores an upload, not attached to anything yet: send it with `attachmentIds`.
/// An image (told from its bytes) is re-encoded without metadata, with thumbnails; anything
/// else is stored as sent. Nothing is stored when it is refused.
pub async fn upload(state: &AppState, viewer: &Viewer, upload: Upload) -> AppResult<Attachment> {
    state
        .throttle
        .write_by(|r| &r.uploads_per_user, viewer.user_id)
        .await?;
    let limit = state.config.max_attachment_bytes;
    if upload.bytes.is_empty() {
        return Err(AppError::bad_input("the file is empty"));
    }
    if upload.bytes.len() > limit {
        return Err(too_large_file(limit));
    }
    let id = Uuid::now_v7();
    let filename = safe_filename(&upload.filename);
    let stored = async {
        let kept = store_objects(state, id, &filename, upload).await?;
        let row = Attachment {
            id,
            uploader_id: viewer.user_id,
            message_id: None,
            position: None,
            kind: kept.kind.into(),
            filename,
            content_type: kept.content_type,
            byte_size: kept.byte_size as i64,
            width: kept.size.map(|(w, _)| w as i32),
            height: kept.size.map(|(_, h)| h as i32),
            created_at: Utc::now(),
        };
        let mut conn = state.db().await?;
        attachment_model::insert(&mut conn, &row).await?;
        Ok::<_, AppError>(row)
    }
    .await;
    if stored.is_err() {
        release(state, &[id]).await;
    }
    stored
}

/// What [`store_objects`] kept of an upload.
struct Kept {
    kind: &'static str,
    content_type: String,
    byte_size: usize,
    /// An image's width and height.
    size: Option<(u32, u32)>,
}

/// Writes an upload's objects: an image (told from its bytes) re-encoded with its thumbnails,
/// anything else as sent.
async fn store_objects(
    state: &AppState,
    id: Uuid,
    filename: &str,
    upload: Upload,
) -> AppResult<Kept> {
    let store = &state.media.store;
    if sniff(&upload.bytes).is_err() {
        let kept = Kept {
            kind: "file",
            content_type: safe_content_type(upload.content_type.as_deref()),
            byte_size: upload.bytes.len(),
            size: None,
        };
        let download = content_disposition("attachment", filename);
        let path = object_path(id, Variant::File);
        store
            .put_attachment_object(&path, upload.bytes, "application/octet-stream", &download)
            .await?;
        return Ok(kept);
    }
    let images = state.media.images.attachment(upload.bytes).await?;
    let content_type = images.format.content_type();
    let inline = content_disposition("inline", filename);
    for (width, _, bytes) in images.thumbnails {
        let path = object_path(id, Variant::Thumbnail(width, images.format));
        store
            .put_attachment_object(&path, bytes, content_type, &inline)
            .await?;
    }
    let kept = Kept {
        kind: "image",
        content_type: content_type.into(),
        byte_size: images.full.len(),
        size: Some((images.width, images.height)),
    };
    let path = object_path(id, Variant::Full(images.format));
    store
        .put_attachment_object(&path, images.full, content_type, &inline)
        .await?;
    Ok(kept)
}

/// Inside a send: attaches the sender's uploads `ids`, in order. `BAD_USER_INPUT` (and the
/// send rolls back) unless every id is an upload of the sender's not sent yet.
pub async fn attach(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    sender: Uuid,
    message_id: Uuid,
) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let attached = attachment_model::attach(conn, ids, sender, message_id).await?;
    if attached != ids.len() {
        return Err(AppError::bad_input(
            "attachmentIds must name your own uploads, each once, not sent with a message yet",
        ));
    }
    Ok(())
}

/// Deletes the objects of attachments whose rows are gone. Failures are logged: the sweep
/// deletes what is left.
pub async fn release(state: &AppState, ids: &[Uuid]) {
    for &id in ids {
        if let Err(e) = state.media.store.delete_attachment(id).await {
            tracing::warn!(attachment = %id, error = ?e, "could not delete an attachment's objects; `messenger media sweep` will");
        }
    }
}

/// What a sweep of attachments did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// Uploads never sent, removed.
    pub unsent: usize,
    /// Objects without a row (a crash, a store that was down), removed.
    pub orphans: usize,
}

/// Removes uploads never sent within `upload_ttl` (rows and objects), and objects without a
/// row written at least `min_age` ago (younger ones may belong to an upload in progress).
pub async fn sweep(
    state: &AppState,
    upload_ttl: Duration,
    min_age: Duration,
) -> AppResult<SweepReport> {
    let mut conn = state.db().await?;
    let unsent =
        attachment_model::delete_unattached_before(&mut conn, Utc::now() - upload_ttl).await?;
    for &id in &unsent {
        state.media.store.delete_attachment(id).await?;
    }
    let cutoff = Utc::now() - min_age;
    let listed = state.media.store.list_attachments().await?;
    let old: Vec<Uuid> = listed
        .into_iter()
        .filter(|(_, at)| *at <= cutoff)
        .map(|(id, _)| id)
        .collect();
    let mut orphans = 0;
    for chunk in old.chunks(1000) {
        let kept = attachment_model::existing(&mut conn, chunk).await?;
        for id in chunk.iter().filter(|id| !kept.contains(id)) {
            state.media.store.delete_attachment(*id).await?;
            orphans += 1;
        }
    }
    Ok(SweepReport {
        unsent: unsent.len(),
        orphans,
    })
}

/// An attachment object to send, with the headers it goes with.
#[derive(Debug)]
pub struct Served {
    /// The bytes.
    pub bytes: axum::body::Bytes,
    /// `Content-Type`: the image's, or `application/octet-stream` for files.
    pub content_type: &'static str,
    /// `Content-Disposition`: `inline` for images, `attachment` for files.
    pub disposition: String,
    /// Seconds until the URL expires (how long a browser may keep it).
    pub max_age: i64,
}

/// Why an attachment URL gets nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Not a URL this deployment signed, or past its expiry.
    BadSignature,
    /// Signed, but the attachment is gone (its message deleted, say).
    Gone,
}

/// The object behind a signed `/media/attachments/…` URL, if the signature holds, has not
/// expired, and the attachment still exists.
pub async fn serve(
    state: &AppState,
    path: &str,
    expires: Option<&str>,
    sig: Option<&str>,
) -> AppResult<Result<Served, Refused>> {
    let Some((id, variant)) = parse_path(path) else {
        return Ok(Err(Refused::Gone));
    };
    let now = Utc::now();
    let expires = expires.and_then(|e| e.parse::<i64>().ok());
    let valid = match (expires, sig) {
        (Some(expires), Some(sig)) => state.media.signer.verify(path, expires, sig, now),
        _ => false,
    };
    let (Some(expires), true) = (expires, valid) else {
        return Ok(Err(Refused::BadSignature));
    };
    let mut conn = state.db().await?;
    let Some(row) = attachment_model::find(&mut conn, id).await? else {
        return Ok(Err(Refused::Gone));
    };
    drop(conn);
    let Some(bytes) = state.media.store.get_path(path).await? else {
        return Ok(Err(Refused::Gone));
    };
    let (content_type, kind) = match variant {
        Variant::File => ("application/octet-stream", "attachment"),
        Variant::Full(format) | Variant::Thumbnail(_, format) => (format.content_type(), "inline"),
    };
    Ok(Ok(Served {
        bytes,
        content_type,
        disposition: content_disposition(kind, &row.filename),
        max_age: (expires - now.timestamp()).max(0),
    }))
}
