//! The command line, as clap sees it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "crmsync",
    version,
    about = "Keeps a CRM and groupware mailboxes in step, predictably."
)]
pub struct Cli {
    /// The configuration file (TOML). Every key can also come from the
    /// environment: database.url ↔ CRMSYNC_DATABASE_URL.
    #[arg(long, global = true, env = "CRMSYNC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API (and, later, the scheduler).
    Serve,
    /// Create or upgrade the database schema.
    Migrate,
    /// Manage CRM users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Sync one profile or all profiles of the configuration now.
    Sync(SyncArgs),
    /// Create a sample CRM and vdir mailboxes (first run) and sync them.
    Demo(DemoArgs),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user and print their API token (shown once).
    Add(UserAddArgs),
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    pub name: String,
    #[arg(long)]
    pub email: Option<String>,
    /// Give the user the admin role.
    #[arg(long)]
    pub admin: bool,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Only this profile (default: every profile in the configuration).
    #[arg(long)]
    pub profile: Option<String>,
    /// Show what the sync would do; change nothing (R-SAFE-5).
    #[arg(long)]
    pub dry_run: bool,
    /// Go ahead with a mass delete the guard held (R-SAFE-3).
    #[arg(long)]
    pub confirm_mass_delete: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the demo lives (created on first run).
    #[arg(long, default_value = "crmsync-demo")]
    pub dir: PathBuf,
}
