//! The `crmsync` command line: parsing and every command but `serve`, whose
//! HTTP API lives in `crmsync-server`. This crate does not depend on the
//! server: the binary (`crates/app`) hands `serve` in as a [`Serve`]. It is
//! the body of the binary, so its commands end in `anyhow` errors that
//! [`main_with`] turns into a message and an exit code.

mod cli;
mod commands;
mod context;
mod demo;
mod log_escape;
mod profile_directory;
mod profiles;
mod progress;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, GraphCommand, UserCommand};

// What `serve` needs besides the API: the loaded configuration, the
// database's profiles, the scheduler beside the API and Ctrl-C.
pub use crate::commands::worker::{Stop, start_scheduler};
pub use crate::context::Context;
pub use crate::profile_directory::serving_catalog;

/// `crmsync serve`, given by the binary: it runs the HTTP API, which this
/// crate does not know.
#[async_trait::async_trait]
pub trait Serve: Sync {
    async fn serve(&self, ctx: &Context) -> anyhow::Result<ExitCode>;
}

/// The whole `crmsync` process: parses the command line, runs the command,
/// turns an error into a message on stderr and exit code 2.
pub async fn main_with(serve: &dyn Serve) -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    match run(cli, serve).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
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

async fn run(cli: Cli, serve: &dyn Serve) -> anyhow::Result<ExitCode> {
    let ctx = match &cli.command {
        // The demo writes its own configuration first.
        Command::Demo(args) => commands::demo::prepare(args)?,
        _ => Context::load(cli.config.as_deref())?,
    };
    context::init_logging(&ctx.config.log);
    // `serve` and `worker` stop by abandoning the runs still going after the
    // shutdown grace (R-SVC-6); closing their store would wait for the
    // connections those runs hold, and the process would not exit.
    let abandons_runs = matches!(cli.command, Command::Serve | Command::Worker);
    let result = dispatch(&ctx, cli.command, cli.json, serve).await;
    // Every other command, failed or not, closes what it opened before the
    // process exits (R-SYNC-PERF-10): here, so no command can forget it.
    if !abandons_runs {
        ctx.close_stores().await;
    }
    result
}

async fn dispatch(ctx: &Context, command: Command, json: bool, serve: &dyn Serve) -> anyhow::Result<ExitCode> {
    match command {
        Command::Demo(_) => commands::demo::run(ctx, json).await,
        Command::Serve => serve.serve(ctx).await,
        Command::Worker => commands::worker::run(ctx).await,
        Command::Migrate => commands::migrate::run(ctx).await,
        Command::User {
            command: UserCommand::Add(args),
        } => commands::user::add(ctx, args, json).await,
        Command::Sync(args) => commands::sync::run(ctx, args, json).await,
        Command::Status => commands::status::run(ctx, json).await,
        Command::Explain(args) => commands::explain::run(ctx, args, json).await,
        Command::Reset(args) => commands::reset::run(ctx, args, json).await,
        Command::Conflicts(args) => commands::conflicts::run(ctx, args, json).await,
        Command::Duplicates(args) => commands::duplicates::run(ctx, args, json).await,
        Command::Untrack(args) => commands::untrack::run(ctx, args, json).await,
        Command::Collections(args) => commands::collections::run(ctx, args, json).await,
        Command::Convert(args) => commands::convert::run(ctx, args, json).await,
        Command::Graph {
            command: GraphCommand::SignIn(args),
        } => commands::graph::sign_in(ctx, args).await,
    }
}
