//! `crmsync demo`: the README's first command. First run: a sample CRM, a
//! configuration with one vdir mailbox per user, and a full sync. Later runs:
//! just the sync, so edits made to the files flow back into the CRM. Every
//! run also tracks alice's sample e-mail when Dovecot is installed.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::DemoArgs;
use crate::commands::sync::{exit_code, print_reports, sync_all};
use crate::context::Context;
use crate::demo::sample;
use crate::profiles;

const CONFIG: &str = r#"# Written by `crmsync demo`. Relative paths are relative to this file.
[database]
url = "sqlite://crm.db"

[log]
level = "warn"

[[profile]]
name = "alice"
user = "alice"
connector = { kind = "vdir", root = "mailboxes/alice" }

[[profile]]
name = "bob"
user = "bob"
connector = { kind = "vdir", root = "mailboxes/bob" }
"#;

/// The demo's folder and configuration, written on its first run; the
/// context is the configuration's, its folder the demo's.
pub fn prepare(args: &DemoArgs) -> anyhow::Result<Context> {
    std::fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir.display()))?;
    let dir = std::fs::canonicalize(&args.dir)?;
    let config = dir.join("crmsync.toml");
    if !config.exists() {
        std::fs::write(&config, CONFIG).with_context(|| format!("writing {}", config.display()))?;
    }
    Context::load(Some(&config))
}

/// Seeds the CRM on the first run, then syncs; `ctx` is [`prepare`]'s.
pub async fn run(ctx: &Context, json: bool) -> anyhow::Result<ExitCode> {
    let dir = ctx.base_dir.clone();
    let store = ctx.open_store().await?;
    // Only a missing user means a first run: a database error must stop the
    // demo, not make it seed the sample data a second time.
    let first_run = crmsync_service::find_user(&store, "alice").await?.is_none();
    if first_run {
        let seeded = sample::seed(&store, chrono::Utc::now()).await?;
        if !json {
            println!(
                "created a sample CRM in {}: {} users, {} accounts, {} contacts, {} activities",
                dir.join("crm.db").display(),
                seeded.users,
                seeded.accounts,
                seeded.contacts,
                seeded.activities
            );
        }
    }
    let profiles = profiles::build(ctx, &store, None).await?;
    let reports = sync_all(&store, &profiles, false, false).await?;
    print_reports(&reports, json);
    crate::demo::mail::track(&store, &dir, json).await?;
    if !json {
        print_hint(&dir, first_run);
    }
    Ok(exit_code(&reports))
}

fn print_hint(dir: &Path, first_run: bool) {
    let mailbox = dir.join("mailboxes").join("alice");
    if first_run {
        println!("\nalice's mailbox: {}/{{contacts,calendar,tasks}}", mailbox.display());
    }
    println!(
        "Edit or delete a .vcf/.ics file there and run `crmsync demo --dir {}` again: the change flows into the CRM \
         per the rules, and the summary says so. `crmsync sync --config {} --dry-run` shows a plan without applying it.",
        dir.display(),
        dir.join("crmsync.toml").display()
    );
}
