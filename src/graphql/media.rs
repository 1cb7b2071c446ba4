//! Uploads (GraphQL multipart requests): profile pictures and their removal, and files to
//! attach to messages, with the `Attachment` type.

use async_graphql::{Context, Enum, ID, Object, SimpleObject, Upload};
use chrono::{DateTime, Utc};

use crate::error::AppError;
use crate::graphql::eager::Eager;
use crate::graphql::types::User;
use crate::graphql::{ContextExt, parse_id};
use crate::media::OutputFormat;
use crate::media::attachments::{Variant, object_path, thumbnail_sizes};
use crate::models::attachment::Attachment as AttachmentRow;
use crate::services::{attachments, avatars};

/// Upload mutations.
#[derive(Default)]
pub struct MediaMutation;

/// Upload mutations: profile pictures and attachments.
#[Object]
impl MediaMutation {
    /// Sets the viewer's profile picture from an uploaded file, sent as a GraphQL multipart
    /// request (the `Upload` scalar, as apollo-upload-client sends it, with an
    /// `Apollo-Require-Preflight` or `Authorization` header). JPEG, PNG, WebP or GIF (its
    /// first frame), told from the bytes, not the name; by default at most 5 MiB and 25
    /// million pixels. The picture is turned upright, cropped to a centred square and
    /// re-encoded without any metadata (EXIF, GPS). `BAD_USER_INPUT` says what is wrong with
    /// a refused file, and nothing is stored. Returns the viewer.
    async fn upload_avatar(
        &self,
        ctx: &Context<'_>,
        file: Upload,
    ) -> async_graphql::Result<Eager<User>> {
        let viewer = ctx.viewer()?;
        let state = ctx.state();
        let upload = file.value(ctx).map_err(AppError::internal)?;
        let stored = async {
            let limit = state.media.images.limits().max_bytes;
            let bytes = state
                .media
                .images
                .read_upload(upload.content, limit)
                .await?;
            avatars::set_avatar(state, viewer, bytes).await
        }
        .await;
        state
            .metrics
            .upload("avatar", stored.as_ref().err().map(AppError::code));
        Ok(User::own(stored?).into())
    }

    /// Uploads a file to attach to a message, sent as a GraphQL multipart request (as
    /// `uploadAvatar`). Send it with `sendMessage(input: {attachmentIds: [id]})` within
    /// `MESSENGER_UPLOAD_TTL_SECS` (a day by default), or it is removed. Any file up to
    /// `MESSENGER_MAX_ATTACHMENT_BYTES` (25 MiB by default). A JPEG, PNG, WebP or GIF (told
    /// from the bytes; a GIF's first frame) becomes an `IMAGE`: turned upright, re-encoded
    /// without metadata, with thumbnails, within the picture limits of `uploadAvatar`.
    /// Anything else is a `FILE`, stored as sent and always downloaded, never shown inline.
    /// `BAD_USER_INPUT` says what is wrong with a refused file, and nothing is stored.
    async fn upload_attachment(
        &self,
        ctx: &Context<'_>,
        file: Upload,
    ) -> async_graphql::Result<Attachment> {
        let viewer = ctx.viewer()?;
        let state = ctx.state();
        let upload = file.value(ctx).map_err(AppError::internal)?;
        let stored = async {
            let limit = state.config.max_attachment_bytes;
            let bytes = state
                .media
                .images
                .read_upload(upload.content, limit)
                .await?;
            let upload = attachments::Upload {
                bytes,
                filename: upload.filename,
                content_type: upload.content_type,
            };
            attachments::upload(state, viewer, upload).await
        }
        .await;
        state
            .metrics
            .upload("attachment", stored.as_ref().err().map(AppError::code));
        Ok(Attachment(stored?))
    }

    /// Removes a profile picture: the viewer's own, or with `userId` another user's (admins
    /// only, else `FORBIDDEN`). Removing a picture that is not there is not an error. Returns
    /// the user.
    async fn remove_avatar(
        &self,
        ctx: &Context<'_>,
        user_id: Option<ID>,
    ) -> async_graphql::Result<Eager<User>> {
        let viewer = ctx.viewer()?;
        let target = match &user_id {
            Some(id) => parse_id(id, "userId")?,
            None => viewer.user_id,
        };
        let row = avatars::remove_avatar(ctx.state(), viewer, target).await?;
        Ok(Eager(if target == viewer.user_id {
            User::own(row)
        } else {
            User::from(row)
        }))
    }
}

/// An image shown inline, or a file to download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum AttachmentKind {
    /// A picture: re-encoded without metadata, with thumbnails and dimensions.
    Image,
    /// Any other file: stored as sent, downloaded (never shown inline).
    File,
}

/// A file attached to a message (or uploaded, not sent yet).
pub struct Attachment(pub AttachmentRow);

impl Attachment {
    fn format(&self) -> OutputFormat {
        if self.0.content_type == OutputFormat::Png.content_type() {
            OutputFormat::Png
        } else {
            OutputFormat::Jpeg
        }
    }

    /// Its thumbnails' `(width, height)`, smallest first; none for files.
    fn thumbnail_sizes(&self) -> Vec<(u32, u32)> {
        match (self.0.width, self.0.height) {
            (Some(w), Some(h)) if w > 0 && h > 0 => thumbnail_sizes(w as u32, h as u32).collect(),
            _ => Vec::new(),
        }
    }

    async fn signed(&self, ctx: &Context<'_>, variant: Variant) -> async_graphql::Result<String> {
        let path = object_path(self.0.id, variant);
        Ok(ctx.state().media.private_url(&path, Utc::now()).await?)
    }
}

/// A file attached to a message. Its URLs are private to the conversation's members: signed,
/// and working only until `urlExpiresAt` (an hour or more by default); fetch the message
/// again for fresh ones. URLs made within the same quarter of that time are identical, so
/// clients may cache what they fetch.
#[Object]
impl Attachment {
    /// Unique, stable id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Image or file.
    async fn kind(&self) -> AttachmentKind {
        if self.0.is_image() {
            AttachmentKind::Image
        } else {
            AttachmentKind::File
        }
    }

    /// The file name the sender gave (without any folder; at most 200 characters).
    async fn filename(&self) -> &str {
        &self.0.filename
    }

    /// `image/jpeg` or `image/png` for images (as re-encoded); for files, the type the
    /// uploader declared if well-formed, else `application/octet-stream`. Files are always
    /// served as `application/octet-stream`.
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }

    /// Size of the stored file (for images, the re-encoded one) in bytes.
    async fn byte_size(&self) -> i64 {
        self.0.byte_size
    }

    /// Width in pixels, for images.
    async fn width(&self) -> Option<i32> {
        self.0.width
    }

    /// Height in pixels, for images.
    async fn height(&self) -> Option<i32> {
        self.0.height
    }

    /// Where to fetch it: the image at full size, or the file (with `Content-Disposition:
    /// attachment`).
    async fn url(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        let variant = if self.0.is_image() {
            Variant::Full(self.format())
        } else {
            Variant::File
        };
        self.signed(ctx, variant).await
    }

    /// When its URLs stop working.
    async fn url_expires_at(&self, ctx: &Context<'_>) -> DateTime<Utc> {
        let expires = ctx.state().media.signer.expiry(Utc::now());
        DateTime::from_timestamp(expires, 0).unwrap_or_else(Utc::now)
    }

    /// An image's smaller copies (320 and 1,024 pixels wide, those narrower than the image),
    /// smallest first; empty for files.
    async fn thumbnails(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Thumbnail>> {
        let mut out = Vec::new();
        for (w, h) in self.thumbnail_sizes() {
            out.push(Thumbnail {
                width: w as i32,
                height: h as i32,
                url: self
                    .signed(ctx, Variant::Thumbnail(w, self.format()))
                    .await?,
            });
        }
        Ok(out)
    }

    /// For images: the URL of the smallest copy at least `width` pixels wide (the image itself
    /// when none is); ask for the width you display, in device pixels. Null for files.
    async fn thumbnail_url(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 320)] width: i32,
    ) -> async_graphql::Result<Option<String>> {
        if !self.0.is_image() {
            return Ok(None);
        }
        if width < 1 {
            return Err(AppError::bad_input("width must be at least 1").into());
        }
        let variant = match self
            .thumbnail_sizes()
            .into_iter()
            .find(|(w, _)| *w as i32 >= width)
        {
            Some((w, _)) => Variant::Thumbnail(w, self.format()),
            None => Variant::Full(self.format()),
        };
        Ok(Some(self.signed(ctx, variant).await?))
    }

    /// When it was uploaded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A smaller copy of an image attachment.
#[derive(SimpleObject)]
pub struct Thumbnail {
    /// Width in pixels.
    pub width: i32,
    /// Height in pixels (the image's proportions kept).
    pub height: i32,
    /// Where to fetch it (signed, expiring with the attachment's other URLs).
    pub url: String,
}
