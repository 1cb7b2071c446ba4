//! The integration tests: one binary, a module per feature, each test on its own database.

mod abuse;
mod accounts;
mod admin;
mod attachments;
mod authorization;
mod chat;
mod cluster;
mod conversations;
mod delivery;
mod harness;
mod http_spec;
mod inbox;
mod lifecycle;
mod live;
mod media;
mod messages;
mod observability;
mod randomized;
mod schema;
mod social;
mod validation;
mod web;
mod websocket;
mod wsclient;
