//! `crmsync`: the one binary. Errors end here, so this is the one place that
//! uses `anyhow` and turns every error into a message and an exit code.

mod cli;
mod commands;
mod context;
mod demo;
mod log_escape;
mod profile_directory;
mod profiles;
mod progress;

use clap::Parser;

use crate::cli::{Cli, Command, UserCommand};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

/// `crmsync status | head -1` closes the pipe early: end quietly, as every
/// Unix filter does, instead of panicking in `println!` (Rust ignores SIGPIPE
/// by default, so the write fails and `println!` panics with a stack trace).
fn quiet_on_closed_pipe() {
    // SAFETY: restoring the default disposition of one signal has no
    // precondition; nothing in this process installed a SIGPIPE handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let config_path = cli.config.clone();
    match cli.command {
        Command::Demo(args) => commands::demo::run(args, cli.json).await,
        command => {
            let ctx = context::Context::load(config_path.as_deref())?;
            context::init_logging(&ctx.config.log);
            match command {
                Command::Serve => commands::serve::run(&ctx).await,
                Command::Worker => commands::worker::run(&ctx).await,
                Command::Migrate => commands::migrate::run(&ctx).await,
                Command::User {
                    command: UserCommand::Add(args),
                } => commands::user::add(&ctx, args, cli.json).await,
                Command::Sync(args) => commands::sync::run(&ctx, args, cli.json).await,
                Command::Status => commands::status::run(&ctx, cli.json).await,
                Command::Explain(args) => commands::explain::run(&ctx, args, cli.json).await,
                Command::Reset(args) => commands::reset::run(&ctx, args, cli.json).await,
                Command::Conflicts(args) => commands::conflicts::run(&ctx, args, cli.json).await,
                Command::Duplicates(args) => commands::duplicates::run(&ctx, args, cli.json).await,
                Command::Untrack(args) => commands::untrack::run(&ctx, args, cli.json).await,
                Command::Demo(_) => unreachable!("handled above"),
            }
        }
    }
}
