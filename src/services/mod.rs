//! Domain services: the rules, authorization and transactions behind every API call. Resolvers
//! stay thin and call these, so every transport shares one set of rules.

pub mod accounts;
pub mod avatars;
pub mod input;
pub mod live;
pub mod messages;
pub mod sessions;
