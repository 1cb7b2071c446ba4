//! Rows, insert and change forms, and the query functions over them. Every function takes
//! `conn: &mut AsyncPgConnection`, so it runs on a pooled connection or inside a transaction.

pub mod avatar;
pub mod event;
pub mod message;
pub mod session;
pub mod token;
pub mod user;
