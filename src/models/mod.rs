//! Rows, insert and change forms, and the query functions over them. Every function takes
//! `conn: &mut AsyncPgConnection`, so it runs on a pooled connection or inside a transaction.

pub mod attachment;
pub mod avatar;
pub mod block;
pub mod event;
pub mod mention;
pub mod message;
pub mod reaction;
pub mod session;
pub mod token;
pub mod user;
