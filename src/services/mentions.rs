//! Mentions: `@username` in a body, and ids a client picked from a menu, name members of the
//! conversation; each is recorded once and the member mentioned gets a `MENTIONED` event.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::Cached;
use crate::error::{AppError, AppResult};
use crate::events::{Change, Event};
use crate::models::mention::{self as mention_model, NewMention};
use crate::models::message::Message;
use crate::services::Page;
use crate::services::input::USERNAME_LEN;
use crate::state::AppState;

/// Most members one message may mention (names and ids together); more are ignored by name
/// and refused by id.
pub const MAX_MENTIONS: usize = 50;

/// Who a message asks to mention: lower-cased names from `@name` in its body and ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Asked {
    names: BTreeSet<String>,
    ids: BTreeSet<Uuid>,
}

impl Asked {
    /// The mentions of a body and an explicit id list. `BAD_USER_INPUT` for too many ids.
    pub fn new(body: &str, ids: Vec<Uuid>) -> AppResult<Self> {
        if ids.len() > MAX_MENTIONS {
            return Err(AppError::bad_input(format!(
                "mentionIds may name at most {MAX_MENTIONS} users"
            )));
        }
        let mut names = names_in(body);
        while names.len() > MAX_MENTIONS {
            names.pop_last();
        }
        Ok(Self {
            names,
            ids: ids.into_iter().collect(),
        })
    }

    /// Whether nothing is asked (the send then runs no mention statement).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.ids.is_empty()
    }
}

/// The usernames written as `@name` in a body: a name starts after the start of the text or
/// a character that cannot be part of a name or an e-mail address, and a trailing full stop
/// ends the sentence, not the name.
pub fn names_in(body: &str) -> BTreeSet<String> {
    let name_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    let mut names = BTreeSet::new();
    let mut previous: Option<char> = None;
    for (i, c) in body.char_indices() {
        let starts = c == '@' && !previous.is_some_and(|p| name_char(p) || p == '@');
        previous = Some(c);
        if !starts {
            continue;
        }
        let rest = &body[i + 1..];
        let end = rest.find(|c: char| !name_char(c)).unwrap_or(rest.len());
        let name = rest[..end].trim_end_matches('.');
        if USERNAME_LEN.contains(&name.len()) {
            names.insert(name.to_ascii_lowercase());
        }
    }
    names
}

/// Records who `message` mentions among the members of its session (never the sender, nor a
/// member who blocked the sender) and returns their `MENTIONED` events. With `already`, those
/// users were mentioned before (an edit): they keep their mention and get no new event, and
/// earlier mentions the new text drops are forgotten.
pub async fn record(
    conn: &mut AsyncPgConnection,
    message: &Message,
    asked: &Asked,
    already: &[Uuid],
) -> diesel::QueryResult<Vec<Event>> {
    let members = if asked.is_empty() {
        Vec::new()
    } else {
        mentionable(conn, message, asked).await?
    };
    let dropped: Vec<Uuid> = already
        .iter()
        .filter(|u| !members.contains(u))
        .copied()
        .collect();
    if !dropped.is_empty() {
        mention_model::delete_for_message(conn, message.id, Some(&dropped)).await?;
    }
    let new: Vec<NewMention> = members
        .iter()
        .filter(|u| !already.contains(u))
        .map(|&user_id| NewMention {
            message_id: message.id,
            user_id,
            session_id: message.session_id,
            seq: message.seq,
        })
        .collect();
    mention_model::insert(conn, &new).await?;
    Ok(new
        .iter()
        .map(|m| {
            let change = Change::Mentioned {
                message: message.id,
                member: m.user_id,
            };
            Event::new(message.session_id, message.sender_id, change)
        })
        .collect())
}

/// The members of the message's session that `asked` names, minus the sender and members who
/// blocked the sender: one statement.
async fn mentionable(
    conn: &mut AsyncPgConnection,
    message: &Message,
    asked: &Asked,
) -> diesel::QueryResult<Vec<Uuid>> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        user_id: Uuid,
    }
    let names: Vec<&str> = asked.names.iter().map(String::as_str).collect();
    let ids: Vec<Uuid> = asked.ids.iter().copied().collect();
    let rows: Vec<Row> = Cached(
        diesel::sql_query(
            "SELECT sm.user_id FROM session_members sm JOIN users u ON u.id = sm.user_id \
              WHERE sm.session_id = $1 AND sm.user_id <> $2 \
                AND (lower(u.username) = ANY($3) OR sm.user_id = ANY($4)) \
                AND NOT EXISTS (SELECT 1 FROM user_blocks b \
                                 WHERE b.blocker_id = sm.user_id AND b.blocked_id = $2) \
              ORDER BY sm.joined_at, sm.user_id LIMIT $5",
        )
        .bind::<SqlUuid, _>(message.session_id)
        .bind::<SqlUuid, _>(message.sender_id)
        .bind::<Array<Text>, _>(names)
        .bind::<Array<SqlUuid>, _>(ids)
        .bind::<diesel::sql_types::BigInt, _>(MAX_MENTIONS as i64),
    )
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.user_id).collect())
}

/// The messages that mention the viewer in conversations they still belong to, with when
/// they did, newest first.
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    first: usize,
    after: Option<(DateTime<Utc>, Uuid)>,
) -> AppResult<Page<(Message, DateTime<Utc>)>> {
    let mut conn = state.db().await?;
    let rows = mention_model::recent(&mut conn, viewer.user_id, after, first as i64 + 1).await?;
    Ok(Page::from_overfetch(rows, first))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(body: &str) -> Vec<String> {
        names_in(body).into_iter().collect()
    }

    #[test]
    fn names_are_read_where_a_person_would_read_them() {
        assert_eq!(names("@Alice hi"), ["alice"]);
        assert_eq!(names("hi @bob.smith, and @carol."), ["bob.smith", "carol"]);
        assert_eq!(names("(@dave) @dave"), ["dave"]);
        assert!(names("mail me at eve@example.com").is_empty());
        assert!(names("@@frank @ab @").is_empty());
        assert_eq!(names("@é @gina_1"), ["gina_1"]);
    }
}
