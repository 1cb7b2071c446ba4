//! Object types shared across the schema, and Relay cursor helpers.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use crate::error::{AppError, AppResult};
use crate::graphql::ContextExt;
use crate::graphql::eager::{Eager, Leaves, id_value, scalar_value, text_value};
use crate::media::{AVATAR_SIZES, AvatarKey, Media};
use crate::models::user::{Role, User as UserRow};
use crate::services::accounts::IssuedTokens;

/// A person with an account. Everyone signed in sees the public profile; `account` is for the
/// user themself and admins.
pub struct User {
    /// Shared with the loaders that found it: many messages of a page have one sender.
    row: Arc<UserRow>,
    /// Set where the viewer is known to be this user (sign-in results), before any token
    /// is attached to the request.
    own_account: bool,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self::from(Arc::new(row))
    }
}

impl From<Arc<UserRow>> for User {
    fn from(row: Arc<UserRow>) -> Self {
        Self {
            row,
            own_account: false,
        }
    }
}

impl User {
    /// The signed-in user's own account, whose private details they may always see.
    pub fn own(row: UserRow) -> Self {
        Self {
            row: Arc::new(row),
            own_account: true,
        }
    }
}

/// A person with an account. Everyone signed in sees the public profile; `account` is only
/// for the user themself and admins.
#[Object]
impl User {
    /// Unique, stable id.
    async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }

    /// Unique login name: 3–32 of `a-z 0-9 _ .`, lower case.
    async fn username(&self) -> &str {
        &self.row.username
    }

    /// Name shown to others (1–64 characters).
    async fn display_name(&self) -> &str {
        &self.row.display_name
    }

    /// Free-text location (up to 100 characters), if given.
    async fn location(&self) -> Option<&str> {
        self.row.location.as_deref()
    }

    /// When the account was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }

    /// The profile picture, or null if there is none.
    async fn avatar(&self, ctx: &Context<'_>) -> Option<Avatar> {
        let key = AvatarKey::parse(self.row.avatar_key.as_deref()?)?;
        Some(Avatar {
            key,
            media: ctx.state().media.clone(),
        })
    }

    /// Whether the viewer has blocked this user (`blockUser`).
    async fn blocked_by_viewer(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let Some(viewer) = ctx.viewer_opt() else {
            return Ok(false);
        };
        if viewer.user_id == self.row.id {
            return Ok(false);
        }
        let blocked = ctx
            .data_unchecked::<crate::graphql::loaders::Loaders>()
            .load_one(crate::graphql::loaders::BlockedKey(viewer.user_id))
            .await?;
        Ok(blocked.is_some_and(|users| users.contains(&self.row.id)))
    }

    /// Private account details: visible to the user themself and to admins, null to others.
    async fn account(&self, ctx: &Context<'_>) -> Option<AccountInfo> {
        let visible = self.own_account
            || ctx
                .viewer_opt()
                .is_some_and(|v| v.user_id == self.row.id || v.is_admin());
        visible.then(|| AccountInfo {
            role: self.row.role(),
            active: self.row.is_active(),
            deactivated_at: self.row.deactivated_at,
            updated_at: self.row.updated_at,
        })
    }
}

impl Leaves for User {
    fn leaf(&self, name: &str) -> Option<async_graphql::Value> {
        let row = &*self.row;
        Some(match name {
            "id" => id_value(row.id),
            "username" => text_value(Some(&row.username)),
            "displayName" => text_value(Some(&row.display_name)),
            "location" => text_value(row.location.as_deref()),
            "createdAt" => scalar_value(Some(&row.created_at)),
            _ => return None,
        })
    }
}

/// A profile picture: square, in a few fixed sizes, stripped of any metadata of the upload.
pub struct Avatar {
    key: AvatarKey,
    media: Media,
}

/// A profile picture: square, in a few fixed sizes (64, 256 and 512 pixels), stripped of any
/// metadata of the upload. Its URLs are named by the picture's content: a new picture gets new
/// URLs, and what a URL shows never changes, so clients and CDNs may cache them forever.
#[Object]
impl Avatar {
    /// Every size, smallest first.
    async fn images(&self) -> Vec<AvatarImage> {
        AVATAR_SIZES
            .iter()
            .map(|&size| AvatarImage {
                width: size as i32,
                height: size as i32,
                url: self.media.url(&self.key.object_path(size)),
                content_type: self.key.format().content_type().to_owned(),
            })
            .collect()
    }

    /// The URL of the smallest image at least `size` pixels wide, or of the largest if none
    /// is: ask for the size you display, in device pixels. `size` must be positive.
    async fn url(&self, #[graphql(default = 256)] size: i32) -> async_graphql::Result<String> {
        if size < 1 {
            return Err(AppError::bad_input("size must be at least 1").into());
        }
        let chosen = AVATAR_SIZES
            .iter()
            .copied()
            .find(|&s| s as i32 >= size)
            .unwrap_or(AVATAR_SIZES[AVATAR_SIZES.len() - 1]);
        Ok(self.media.url(&self.key.object_path(chosen)))
    }
}

/// One size of a profile picture.
#[derive(SimpleObject)]
pub struct AvatarImage {
    /// Width in pixels.
    pub width: i32,
    /// Height in pixels (the same as the width: avatars are square).
    pub height: i32,
    /// Where to fetch it: `/media/…` on this server, or under `MEDIA_BASE_URL` when the
    /// server has one (a CDN).
    pub url: String,
    /// Its media type: `image/jpeg`, or `image/png` for pictures with transparency.
    pub content_type: String,
}

/// Private details of an account.
#[derive(SimpleObject)]
pub struct AccountInfo {
    /// What the account may do.
    pub role: Role,
    /// False while an admin has deactivated the account.
    pub active: bool,
    /// When the account was deactivated, if it is.
    pub deactivated_at: Option<DateTime<Utc>>,
    /// Last change to the profile or account.
    pub updated_at: DateTime<Utc>,
}

/// What signing in, registering or refreshing returns.
pub struct AuthPayload(pub IssuedTokens);

/// What signing in, registering or refreshing returns: a new pair of tokens and the user.
#[Object]
impl AuthPayload {
    /// Send as `Authorization: Bearer <token>` over HTTP, or as `{"authorization": "Bearer
    /// <token>"}` in the WebSocket `connection_init` payload. Short-lived.
    async fn access_token(&self) -> &str {
        &self.0.access_token
    }

    /// When the access token stops working.
    async fn access_token_expires_at(&self) -> DateTime<Utc> {
        self.0.access_expires_at
    }

    /// Exchange with `refreshToken` for new tokens; each is good for one exchange.
    async fn refresh_token(&self) -> &str {
        &self.0.refresh_token
    }

    /// When the refresh token stops working.
    async fn refresh_token_expires_at(&self) -> DateTime<Utc> {
        self.0.refresh_expires_at
    }

    /// The signed-in user.
    async fn user(&self) -> Eager<User> {
        Eager(User::own(self.0.user.clone()))
    }
}

/// Encodes a cursor: opaque to clients.
pub fn encode_cursor(kind: &str, value: impl std::fmt::Display) -> String {
    // The text goes into a buffer on the stack that fits every cursor of ours (a message's
    // is at most 60 bytes): a page of 50 messages wrote 50 texts on the heap only to encode
    // them. Longer text (none today) takes the heap.
    let mut text = [0u8; 128];
    let mut rest = &mut text[..];
    if std::io::Write::write_fmt(&mut rest, format_args!("{kind}:{value}")).is_ok() {
        let left = rest.len();
        return URL_SAFE_NO_PAD.encode(&text[..text.len() - left]);
    }
    URL_SAFE_NO_PAD.encode(format!("{kind}:{value}"))
}

/// Decodes a cursor made by [`encode_cursor`] with the same kind, or `BAD_USER_INPUT`.
pub fn decode_cursor(kind: &str, cursor: &str) -> AppResult<String> {
    let invalid = || AppError::bad_input("the cursor is not valid");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix(kind)
        .and_then(|rest| rest.strip_prefix(':'))
        .map(str::to_owned)
        .ok_or_else(invalid)
}

/// Checks a requested page size against `1..=max`, defaulting to `default`.
pub fn page_size(first: Option<i32>, default: usize, max: usize) -> AppResult<usize> {
    match first {
        None => Ok(default),
        Some(n) if n >= 1 && n as usize <= max => Ok(n as usize),
        Some(_) => Err(AppError::bad_input(format!(
            "first must be between 1 and {max}"
        ))),
    }
}

/// Encodes a `(time, id)` keyset position as a cursor.
pub fn encode_keyset(kind: &str, at: DateTime<Utc>, id: uuid::Uuid) -> String {
    encode_cursor(kind, format_args!("{}:{id}", at.timestamp_micros()))
}

/// Decodes a cursor made by [`encode_keyset`], or `BAD_USER_INPUT`.
pub fn decode_keyset(kind: &str, cursor: &str) -> AppResult<(DateTime<Utc>, uuid::Uuid)> {
    let invalid = || AppError::bad_input("the cursor is not valid");
    let text = decode_cursor(kind, cursor)?;
    let (micros, id) = text.split_once(':').ok_or_else(invalid)?;
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(invalid)?;
    let id = uuid::Uuid::parse_str(id).map_err(|_| invalid())?;
    Ok((at, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_encode_their_text_at_any_length() {
        let long = "x".repeat(200);
        for value in ["", "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b:42", long.as_str()] {
            let cursor = encode_cursor("msg", value);
            assert_eq!(cursor, URL_SAFE_NO_PAD.encode(format!("msg:{value}")));
            assert_eq!(decode_cursor("msg", &cursor).expect("decodes"), value);
        }
    }
}
