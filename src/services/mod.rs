//! Domain services: the rules, authorization and transactions behind every API call. Resolvers
//! stay thin and call these, so every transport shares one set of rules.

pub mod accounts;
pub mod attachments;
pub mod avatars;
pub mod blocks;
pub mod input;
pub mod live;
pub mod mentions;
pub mod messages;
pub mod notify;
pub mod reactions;
pub mod sessions;

/// One page of a keyset-paged list, read with one row more than asked so that whether more
/// follow needs no second query.
#[derive(Debug)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Whether more follow.
    pub has_next_page: bool,
}

impl<T> Page<T> {
    /// The page of `first` rows from a read of up to `first + 1`.
    pub fn from_overfetch(mut rows: Vec<T>, first: usize) -> Self {
        let has_next_page = rows.len() > first;
        rows.truncate(first);
        Self {
            items: rows,
            has_next_page,
        }
    }
}
