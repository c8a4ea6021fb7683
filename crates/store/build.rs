// `sqlx::migrate!` embeds the migration files at compile time; this makes a
// new or edited migration rebuild the crate instead of being silently missed.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
