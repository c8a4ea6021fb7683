//! `crmsync`: the one binary. It wires the command line (`crmsync-cli`) to
//! the HTTP API (`crmsync-server`) for `serve`, so neither of those two
//! crates depends on the other.

mod serve;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    crmsync_cli::main_with(&serve::ServeApi).await
}
