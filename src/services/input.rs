//! Input newtypes: the only way to build a valid value, so services take these, not strings.
//! Every rule below is documented in the SDL of the fields that take them.

use unicode_normalization::UnicodeNormalization;

use crate::error::{AppError, AppResult};

/// Usernames: 3–32 of `a-z 0-9 _ .`, stored in lower case (so unique whatever the case).
pub const USERNAME_LEN: std::ops::RangeInclusive<usize> = 3..=32;
/// Display names: 1–64 characters after trimming.
pub const DISPLAY_NAME_MAX: usize = 64;
/// Locations: up to 100 characters after trimming.
pub const LOCATION_MAX: usize = 100;
/// Passwords: at least this many characters.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Passwords: at most this many bytes (argon2 input stays bounded).
pub const PASSWORD_MAX_BYTES: usize = 1024;
/// User search text: at most this many characters.
pub const SEARCH_MAX: usize = 64;

/// A valid username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Lower-cases and checks a username.
    pub fn parse(raw: &str) -> AppResult<Self> {
        let name = raw.trim().to_lowercase();
        let len = name.chars().count();
        if !USERNAME_LEN.contains(&len) {
            return Err(AppError::bad_input(format!(
                "username must be {} to {} characters long",
                USERNAME_LEN.start(),
                USERNAME_LEN.end()
            )));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
        {
            return Err(AppError::bad_input(
                "username may only contain letters a-z, digits, '_' and '.'",
            ));
        }
        Ok(Self(name))
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A reaction: one emoji (a single grapheme cluster that Unicode lists as an emoji, any skin
/// tone) or its GitHub short code (`thumbsup`, `:tada:`), stored as the fully qualified emoji.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emoji(&'static str);

impl Emoji {
    /// Looks the input up as an emoji, then as a short code.
    pub fn parse(raw: &str) -> AppResult<Self> {
        let raw = raw.trim();
        let code = raw.strip_prefix(':').and_then(|c| c.strip_suffix(':'));
        emojis::get(raw)
            .or_else(|| emojis::get_by_shortcode(code.unwrap_or(raw)))
            .map(|e| Self(e.as_str()))
            .ok_or_else(|| {
                AppError::bad_input(
                    "emoji must be one emoji (\"👍\") or its short code (\"thumbsup\" or \":thumbsup:\")",
                )
            })
    }

    /// The stored form: the fully qualified emoji.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

/// A valid display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Normalizes (NFC, trimmed) and checks a display name.
    pub fn parse(raw: &str) -> AppResult<Self> {
        let text = clean_text("displayName", raw)?;
        let len = text.chars().count();
        if len == 0 || len > DISPLAY_NAME_MAX {
            return Err(AppError::bad_input(format!(
                "displayName must be 1 to {DISPLAY_NAME_MAX} characters long"
            )));
        }
        Ok(Self(text))
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A valid location; empty input means "no location".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location(String);

impl Location {
    /// Normalizes and checks a location; `None` when it is empty after trimming.
    pub fn parse(raw: &str) -> AppResult<Option<Self>> {
        let text = clean_text("location", raw)?;
        if text.chars().count() > LOCATION_MAX {
            return Err(AppError::bad_input(format!(
                "location must be at most {LOCATION_MAX} characters long"
            )));
        }
        Ok((!text.is_empty()).then_some(Self(text)))
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets the length rules. Its `Debug` hides it.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

impl Password {
    /// Checks a new password's length.
    pub fn parse(raw: &str) -> AppResult<Self> {
        if raw.chars().count() < PASSWORD_MIN_CHARS {
            return Err(AppError::bad_input(format!(
                "password must be at least {PASSWORD_MIN_CHARS} characters long"
            )));
        }
        if raw.len() > PASSWORD_MAX_BYTES {
            return Err(AppError::bad_input(format!(
                "password must be at most {PASSWORD_MAX_BYTES} bytes long"
            )));
        }
        if raw.contains('\0') {
            return Err(AppError::bad_input("password must not contain NUL"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The password itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Search text for user listings, as a LIKE pattern matching it anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText(String);

impl SearchText {
    /// Checks search text; `None` when it is empty.
    pub fn parse(raw: &str) -> AppResult<Option<Self>> {
        let text = clean_text("search", raw)?;
        if text.chars().count() > SEARCH_MAX {
            return Err(AppError::bad_input(format!(
                "search must be at most {SEARCH_MAX} characters long"
            )));
        }
        Ok((!text.is_empty()).then_some(Self(text.to_lowercase())))
    }

    /// `%text%` with LIKE's special characters escaped.
    pub fn like_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.0.len() + 2);
        pattern.push('%');
        for c in self.0.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        pattern
    }
}

/// Message bodies: 1–4,000 characters after trimming.
pub const MESSAGE_MAX: usize = 4000;
/// Group titles: 1–100 characters after trimming.
pub const TITLE_MAX: usize = 100;
/// Client message ids: 1–100 printable ASCII characters.
pub const CLIENT_MESSAGE_ID_MAX: usize = 100;
/// Message search text: 1–200 characters.
pub const MESSAGE_SEARCH_MAX: usize = 200;

/// A valid message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody(String);

impl MessageBody {
    /// NFC-normalizes and trims a body; refuses empty or whitespace-only text, NUL and control
    /// characters other than newline and tab, and more than 4,000 characters.
    pub fn parse(raw: &str) -> AppResult<Self> {
        Self::parse_beside(raw, false)
    }

    /// As [`Self::parse`], but empty text is allowed when the message carries attachments.
    pub fn parse_beside(raw: &str, attachments: bool) -> AppResult<Self> {
        if raw
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(AppError::bad_input(
                "body must not contain control characters other than newline and tab",
            ));
        }
        let text = raw.nfc().collect::<String>().trim().to_owned();
        let len = text.chars().count();
        if len == 0 && !attachments {
            return Err(AppError::bad_input(
                "body must not be empty or only whitespace (unless the message has attachments)",
            ));
        }
        if len > MESSAGE_MAX {
            return Err(AppError::bad_input(format!(
                "body must be at most {MESSAGE_MAX} characters long"
            )));
        }
        Ok(Self(text))
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A valid group title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTitle(String);

impl SessionTitle {
    /// Normalizes and checks a title: 1–100 characters, no control characters.
    pub fn parse(raw: &str) -> AppResult<Self> {
        let text = clean_text("title", raw)?;
        let len = text.chars().count();
        if len == 0 || len > TITLE_MAX {
            return Err(AppError::bad_input(format!(
                "title must be 1 to {TITLE_MAX} characters long"
            )));
        }
        Ok(Self(text))
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client's idempotency key for a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMessageId(String);

impl ClientMessageId {
    /// Checks a client message id: 1–100 printable ASCII characters, no spaces.
    pub fn parse(raw: &str) -> AppResult<Self> {
        if raw.is_empty()
            || raw.len() > CLIENT_MESSAGE_ID_MAX
            || !raw.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(AppError::bad_input(format!(
                "clientMessageId must be 1 to {CLIENT_MESSAGE_ID_MAX} printable ASCII characters without spaces"
            )));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Words to find in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageSearch(String);

impl MessageSearch {
    /// Checks search text: 1–200 characters, no control characters.
    pub fn parse(raw: &str) -> AppResult<Self> {
        let text = clean_text("text", raw)?;
        let len = text.chars().count();
        if len == 0 || len > MESSAGE_SEARCH_MAX {
            return Err(AppError::bad_input(format!(
                "text must be 1 to {MESSAGE_SEARCH_MAX} characters long"
            )));
        }
        Ok(Self(text))
    }

    /// The text, for `websearch_to_tsquery`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// NFC-normalizes and trims text, refusing control characters.
fn clean_text(field: &str, raw: &str) -> AppResult<String> {
    if raw.chars().any(char::is_control) {
        return Err(AppError::bad_input(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(raw.nfc().collect::<String>().trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lower_cased_and_checked() {
        assert_eq!(
            Username::parse("Alice.B_1").expect("valid").as_str(),
            "alice.b_1"
        );
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse(&"a".repeat(33)).is_err());
        assert!(Username::parse(&"a".repeat(32)).is_ok());
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse("al ice").is_err());
        assert!(Username::parse("alice'--").is_err());
        assert!(Username::parse("ålice").is_err());
    }

    #[test]
    fn display_names_are_normalized() {
        // "e" + combining acute becomes the single precomposed character.
        let name = DisplayName::parse("  Re\u{301}ne  ").expect("valid");
        assert_eq!(name.as_str(), "R\u{e9}ne");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse("a\u{7}b").is_err());
        assert!(DisplayName::parse(&"é".repeat(64)).is_ok());
        assert!(DisplayName::parse(&"é".repeat(65)).is_err());
    }

    #[test]
    fn message_bodies_follow_their_rules() {
        assert_eq!(
            MessageBody::parse("  line one\n\tline two  ")
                .expect("valid")
                .as_str(),
            "line one\n\tline two"
        );
        assert!(MessageBody::parse(" \n\t ").is_err());
        assert!(MessageBody::parse("nul\0").is_err());
        assert!(MessageBody::parse("bell\u{7}").is_err());
        assert!(MessageBody::parse(&"é".repeat(4000)).is_ok());
        assert!(MessageBody::parse(&format!("  {}  ", "é".repeat(4000))).is_ok());
        assert!(MessageBody::parse(&"é".repeat(4001)).is_err());
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        let s = SearchText::parse("50%_a\\")
            .expect("valid")
            .expect("not empty");
        assert_eq!(s.like_pattern(), "%50\\%\\_a\\\\%");
    }
}
