//! Profile-picture mutations: upload (GraphQL multipart request) and removal.

use async_graphql::{Context, ID, Object, Upload};

use crate::error::AppError;
use crate::graphql::types::User;
use crate::graphql::{ContextExt, parse_id};
use crate::services::avatars;

/// Profile-picture mutations.
#[derive(Default)]
pub struct MediaMutation;

/// Profile-picture mutations.
#[Object]
impl MediaMutation {
    /// Sets the viewer's profile picture from an uploaded file, sent as a GraphQL multipart
    /// request (the `Upload` scalar, as apollo-upload-client sends it, with an
    /// `Apollo-Require-Preflight` or `Authorization` header). JPEG, PNG, WebP or GIF (its
    /// first frame), told from the bytes, not the name; by default at most 5 MiB and 25
    /// million pixels. The picture is turned upright, cropped to a centred square and
    /// re-encoded without any metadata (EXIF, GPS). `BAD_USER_INPUT` says what is wrong with
    /// a refused file, and nothing is stored. Returns the viewer.
    async fn upload_avatar(&self, ctx: &Context<'_>, file: Upload) -> async_graphql::Result<User> {
        let viewer = ctx.viewer()?;
        let state = ctx.state();
        let upload = file.value(ctx).map_err(AppError::internal)?;
        let stored = async {
            let bytes = state.media.images.read_upload(upload.content).await?;
            avatars::set_avatar(state, viewer, bytes).await
        }
        .await;
        state
            .metrics
            .upload("avatar", stored.as_ref().err().map(AppError::code));
        Ok(User::own(stored?))
    }

    /// Removes a profile picture: the viewer's own, or with `userId` another user's (admins
    /// only, else `FORBIDDEN`). Removing a picture that is not there is not an error. Returns
    /// the user.
    async fn remove_avatar(
        &self,
        ctx: &Context<'_>,
        user_id: Option<ID>,
    ) -> async_graphql::Result<User> {
        let viewer = ctx.viewer()?;
        let target = match &user_id {
            Some(id) => parse_id(id, "userId")?,
            None => viewer.user_id,
        };
        let row = avatars::remove_avatar(ctx.state(), viewer, target).await?;
        Ok(if target == viewer.user_id {
            User::own(row)
        } else {
            User::from(row)
        })
    }
}
