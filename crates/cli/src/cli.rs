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
    /// Run the HTTP API and, beside it, the scheduler (unless scheduler.enabled = false).
    Serve,
    /// Run only the scheduler: one of several workers sharing the profiles
    /// of one PostgreSQL database (R-SCHED-3).
    Worker,
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
    /// Every profile: last run, counts, failures and why, conflicts, quarantine, duplicates.
    Status,
    /// Why a CRM record does or does not sync for a profile (R-EXPLAIN-1).
    Explain(ExplainArgs),
    /// Forget pairs (never data) so the next sync re-pairs them (R-RESET-1).
    Reset(ResetArgs),
    /// List held conflicts, or resolve one.
    Conflicts(ConflictsArgs),
    /// The latest possible-duplicates reports (R-PAIR-2), or resolve a group.
    Duplicates(DuplicatesArgs),
    /// Stop syncing one record, keeping it in the CRM or deleting it there (R-DEL-13).
    Untrack(UntrackArgs),
    /// The collections of a profile's mailbox and which one each class uses (R-COL-3).
    Collections(CollectionsArgs),
    /// Microsoft Graph profiles: the delegated sign-in of a device-code one.
    Graph {
        #[command(subcommand)]
        command: GraphCommand,
    },
    /// Convert a tracked e-mail, appointment or task into an opportunity,
    /// lead or case it then regards (R-TRACK-3).
    Convert(ConvertArgs),
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The activity's id.
    #[arg(long)]
    pub activity: String,
    /// opportunity, lead or case.
    #[arg(long, value_parser = crate::commands::convert::parse_target)]
    pub to: crmsync_model::ConvertTarget,
    /// The CRM user who converts it (and owns the new record); they must be
    /// able to change the activity.
    #[arg(long)]
    pub user: String,
    /// A value of the new record, NAME=VALUE (repeatable), e.g. `--set estimated_value=4000`.
    #[arg(long = "set")]
    pub set: Vec<String>,
    /// Link the activity to the new record although it regards another one.
    #[arg(long)]
    pub replace_regarding: bool,
}

#[derive(Debug, Args)]
pub struct CollectionsArgs {
    #[arg(long)]
    pub profile: String,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[arg(long)]
    pub profile: String,
    /// The CRM record's id (contact or activity).
    #[arg(long)]
    pub record: String,
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    #[arg(long)]
    pub profile: String,
    /// Only this CRM record.
    #[arg(long, conflicts_with = "collection")]
    pub record: Option<String>,
    /// Only this collection: contacts, calendar or tasks.
    #[arg(long)]
    pub collection: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("crm").required(true).args(["keep_in_crm", "delete_in_crm"])))]
pub struct UntrackArgs {
    #[arg(long)]
    pub profile: String,
    /// The CRM record's id.
    #[arg(long)]
    pub record: String,
    /// Keep the CRM record; only the syncing stops.
    #[arg(long)]
    pub keep_in_crm: bool,
    /// Delete the CRM record too (only its owner may).
    #[arg(long)]
    pub delete_in_crm: bool,
}

#[derive(Debug, Args)]
pub struct ProfileFilter {
    /// Only this profile (default: every profile in the configuration).
    #[arg(long)]
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct ConflictsArgs {
    #[command(flatten)]
    pub filter: ProfileFilter,
    #[command(subcommand)]
    pub command: Option<ConflictsCommand>,
}

#[derive(Debug, Args)]
pub struct DuplicatesArgs {
    #[command(flatten)]
    pub filter: ProfileFilter,
    #[command(subcommand)]
    pub command: Option<DuplicatesCommand>,
}

#[derive(Debug, Subcommand)]
pub enum DuplicatesCommand {
    /// The record and the item are the same: pair them (R-PAIR-2).
    Link(LinkArgs),
    /// The group's records and items are different ones: never match them again.
    KeepApart(KeepApartArgs),
}

#[derive(Debug, Args)]
pub struct LinkArgs {
    #[arg(long)]
    pub profile: String,
    /// contacts, calendar or tasks.
    #[arg(long)]
    pub collection: String,
    /// The CRM record's id, as the report lists it.
    #[arg(long)]
    pub record: String,
    /// The groupware item's href, as the report lists it.
    #[arg(long)]
    pub href: String,
}

#[derive(Debug, Args)]
pub struct KeepApartArgs {
    #[arg(long)]
    pub profile: String,
    /// contacts, calendar or tasks.
    #[arg(long)]
    pub collection: String,
    /// Any record id or href of the group.
    #[arg(long)]
    pub member: String,
}

#[derive(Debug, Subcommand)]
pub enum ConflictsCommand {
    /// Choose which side's values a held conflict takes.
    Resolve(ResolveArgs),
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// The conflict's id, as `crmsync conflicts` lists it.
    pub id: String,
    #[arg(long, value_enum)]
    pub take: Take,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Take {
    Crm,
    Groupware,
}

#[derive(Debug, Subcommand)]
pub enum GraphCommand {
    /// Sign a profile with `auth = "device-code"` in as its user: prints a
    /// page and a code to enter there, waits, and keeps the sign-in sealed
    /// in the database (R-GRAPH-31).
    SignIn(SignInArgs),
}

#[derive(Debug, Args)]
pub struct SignInArgs {
    /// The profile's name (configuration file or database).
    pub profile: String,
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
    /// Only this profile; repeat it for several (default: every profile in
    /// the configuration).
    #[arg(long)]
    pub profile: Vec<String>,
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
