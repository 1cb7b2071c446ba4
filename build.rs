//! Rebuilds the crate when a migration is added: `embed_migrations!` reads the folder at
//! compile time, and Cargo tracks the files it includes but not new ones (diesel's advice).
//! Embeds the built web client (`web/dist`, checked in) with its compressed forms.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    memory_serve::load_directory("web/dist");
}
