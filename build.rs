//! Rebuilds the crate when a migration is added: `embed_migrations!` reads the folder at
//! compile time, and Cargo tracks the files it includes but not new ones (diesel's advice).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
