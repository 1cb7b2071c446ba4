//! The integration tests: one binary, a module per feature, each test on its own database.

mod accounts;
mod admin;
mod harness;
mod http_spec;
mod lifecycle;
mod media;
mod schema;
mod validation;
mod websocket;
