//! Object types shared across the schema, and Relay cursor helpers.

use std::io::Write;
use std::sync::Arc;

use async_graphql::{Context, ID, Object, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use crate::error::{AppError, AppResult};
use crate::graphql::ContextExt;
use crate::graphql::eager::{Eager, Leaf, Leaves};
use crate::media::{AVATAR_SIZES, AvatarKey, Media};
use crate::models::user::{Role, User as UserRow};
use crate::services::accounts::IssuedTokens;

/// A person with an account. Everyone signed in sees the public profile; `account` is for the
/// user themself and admins.
#[derive(Clone)]
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
    fn leaf(&self, name: &str) -> Option<Leaf<'_>> {
        let row = &*self.row;
        Some(match name {
            "id" => Leaf::Id(Some(row.id)),
            "username" => Leaf::Text(Some(&row.username)),
            "displayName" => Leaf::Text(Some(&row.display_name)),
            "location" => Leaf::Text(row.location.as_deref()),
            "createdAt" => Leaf::Time(Some(row.created_at)),
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
    encode_text(|text| write!(text, "{kind}:{value}"))
        .unwrap_or_else(|| URL_SAFE_NO_PAD.encode(format!("{kind}:{value}")))
}

/// The cursor [`encode_cursor`] makes of `kind` and `parts` joined by `:`, written without
/// `fmt`: formatting ids and numbers was half of a cursor's instructions, and a history page
/// writes 50 cursors.
pub fn encode_cursor_parts(kind: &str, parts: &[&str]) -> String {
    let written = encode_text(|text| {
        text.write_all(kind.as_bytes())?;
        for part in parts {
            text.write_all(b":")?;
            text.write_all(part.as_bytes())?;
        }
        Ok(())
    });
    written.unwrap_or_else(|| URL_SAFE_NO_PAD.encode(format!("{kind}:{}", parts.join(":"))))
}

/// The cursors of one `kind` whose leading `parts` are the same, such as a session's history
/// cursors (`msg:{session_id}:{seq}`): each is [`encode_cursor_parts`] of those parts and
/// its own last one, with the shared head encoded once. Base64 encodes every three bytes on
/// their own, so the whole groups of three of the shared text are the same characters at the
/// head of every cursor; only the rest of the shared text and the last part are encoded for
/// each (a history page's 50 cursors were 4.5 % of its instructions).
pub struct CursorHead {
    /// The whole groups of three of `kind:part:…:`, encoded.
    encoded: String,
    /// What is left of that text (at most two bytes), encoded with each cursor's last part.
    rest: Box<[u8]>,
}

impl CursorHead {
    /// The head shared by the cursors of `kind` whose leading parts are `parts`.
    pub fn new(kind: &str, parts: &[&str]) -> Self {
        let mut text = Vec::with_capacity(64);
        text.extend_from_slice(kind.as_bytes());
        for part in parts {
            text.push(b':');
            text.extend_from_slice(part.as_bytes());
        }
        text.push(b':');
        let whole = text.len() / 3 * 3;
        Self {
            encoded: URL_SAFE_NO_PAD.encode(&text[..whole]),
            rest: text[whole..].into(),
        }
    }

    /// The cursor whose last part is `last`.
    pub fn encode(&self, last: &str) -> String {
        let mut tail = [0u8; 64];
        let (rest, to_encode) = (self.rest.len(), self.rest.len() + last.len());
        let mut cursor = String::with_capacity(self.encoded.len() + to_encode.div_ceil(3) * 4);
        cursor.push_str(&self.encoded);
        if let Some(tail) = tail.get_mut(..to_encode) {
            tail[..rest].copy_from_slice(&self.rest);
            tail[rest..].copy_from_slice(last.as_bytes());
            URL_SAFE_NO_PAD.encode_string(tail, &mut cursor);
        } else {
            let tail = [&self.rest[..], last.as_bytes()].concat();
            URL_SAFE_NO_PAD.encode_string(tail, &mut cursor);
        }
        cursor
    }
}

/// The text `write` puts into a buffer on the stack, encoded; `None` when it does not fit.
/// The buffer fits every cursor of ours (a message's text is at most 60 bytes), so no cursor
/// writes its text on the heap only to encode it.
fn encode_text(write: impl FnOnce(&mut &mut [u8]) -> std::io::Result<()>) -> Option<String> {
    let mut text = [0u8; 128];
    let mut rest = &mut text[..];
    write(&mut rest).ok()?;
    let left = rest.len();
    Some(URL_SAFE_NO_PAD.encode(&text[..text.len() - left]))
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
    let mut micros = itoa::Buffer::new();
    let mut text = uuid::Uuid::encode_buffer();
    encode_cursor_parts(
        kind,
        &[
            micros.format(at.timestamp_micros()),
            id.hyphenated().encode_lower(&mut text),
        ],
    )
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
            assert_eq!(encode_cursor_parts("msg", &[value]), cursor);
            assert_eq!(decode_cursor("msg", &cursor).expect("decodes"), value);
        }
    }

    #[test]
    fn cursors_with_a_shared_head_are_the_cursors_of_their_parts() {
        let long = "y".repeat(100);
        for kind in ["msg", "ab", "kind"] {
            for parts in [
                &[][..],
                &["0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b"],
                &["a", "bc"],
            ] {
                let head = CursorHead::new(kind, parts);
                for last in ["", "7", "42", "123", "-9223372036854775808", long.as_str()] {
                    let all: Vec<&str> = parts.iter().copied().chain([last]).collect();
                    let cursor = head.encode(last);
                    assert_eq!(cursor, encode_cursor_parts(kind, &all), "{kind} {all:?}");
                }
            }
        }
    }

    #[test]
    fn keyset_cursors_round_trip() {
        let id = uuid::Uuid::parse_str("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b").expect("uuid");
        for micros in [0, 1_765_000_000_123_456, -86_400_000_000] {
            let at = DateTime::from_timestamp_micros(micros).expect("a time");
            let cursor = encode_keyset("session", at, id);
            assert_eq!(
                cursor,
                encode_cursor("session", format_args!("{micros}:{id}"))
            );
            assert_eq!(
                decode_keyset("session", &cursor).expect("decodes"),
                (at, id)
            );
        }
    }
}
