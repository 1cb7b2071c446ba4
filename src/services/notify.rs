//! Who should be told about a message, in one place: live notices now, push notifications
//! later hang off the same rule.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::models::session::Member;

/// What a message should raise for one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum Notice {
    /// Nothing: their own message, a muted conversation, or a sender they blocked.
    None,
    /// A new message in a conversation of theirs.
    Message,
    /// A message that mentions them.
    Mention,
}

/// The rule: nothing for the sender, in a conversation the member muted (mentions included),
/// or from a sender the member blocked; else a mention notice if it mentions them, a message
/// notice if not.
pub fn notice(
    member: &Member,
    sender: Uuid,
    now: DateTime<Utc>,
    mentioned: bool,
    blocked_sender: bool,
) -> Notice {
    if member.user_id == sender || member.muted_at(now) || blocked_sender {
        Notice::None
    } else if mentioned {
        Notice::Mention
    } else {
        Notice::Message
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn member(muted_until: Option<DateTime<Utc>>) -> Member {
        Member {
            session_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            role: "member".into(),
            joined_at: Utc::now(),
            last_read_seq: 0,
            muted_until,
        }
    }

    #[test]
    fn muting_blocking_and_own_messages_silence_everything_else_notifies() {
        let now = Utc::now();
        let sender = Uuid::now_v7();
        let plain = member(None);
        assert_eq!(notice(&plain, sender, now, false, false), Notice::Message);
        assert_eq!(notice(&plain, sender, now, true, false), Notice::Mention);
        assert_eq!(notice(&plain, sender, now, true, true), Notice::None);
        assert_eq!(
            notice(&plain, plain.user_id, now, true, false),
            Notice::None
        );
        let muted = member(Some(now + Duration::hours(1)));
        assert_eq!(notice(&muted, sender, now, true, false), Notice::None);
        let expired = member(Some(now - Duration::seconds(1)));
        assert_eq!(notice(&expired, sender, now, true, false), Notice::Mention);
        let for_good = member(Some(crate::models::session::muted_for_good()));
        assert_eq!(notice(&for_good, sender, now, false, false), Notice::None);
    }
}
