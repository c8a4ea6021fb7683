//! `crmsync collections --profile P` (R-COL-3): what the profile's mailbox
//! holds and which collection each class uses, so an admin can name an
//! existing one in `connector.collections`.

use std::fmt::Write as _;
use std::process::ExitCode;

use crmsync_ops::{CollectionListing, list_collections, what_to_do};

use crate::cli::CollectionsArgs;
use crate::context::Context;
use crate::profiles;

pub async fn run(ctx: &Context, args: CollectionsArgs, json: bool) -> anyhow::Result<ExitCode> {
    profiles::names(ctx, Some(&args.profile))?;
    let store = ctx.open_store().await?;
    let mut built = profiles::build(ctx, &store, Some(&args.profile)).await?;
    let profile = built.remove(0);
    let listing = list_collections(&store, &profile).await.map_err(|e| {
        anyhow::anyhow!(
            "listing the collections of {}: {e}; what to do: {}",
            args.profile,
            what_to_do(&e)
        )
    })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&listing)?);
    } else {
        print!("{}", text(&listing));
    }
    Ok(ExitCode::SUCCESS)
}

fn text(l: &CollectionListing) -> String {
    let mut out = format!(
        "profile {}: {} collection(s) in the mailbox\n",
        l.profile,
        l.collections.len()
    );
    for c in &l.collections {
        let kind = if c.components.is_empty() {
            c.kind.replace('-', " ")
        } else {
            format!("{} ({})", c.kind, c.components.join(", "))
        };
        let used = if c.used_for.is_empty() {
            String::new()
        } else {
            format!("  <- used for {}", c.used_for.join(", "))
        };
        let _ = writeln!(out, "  {}  \"{}\"  {kind}{used}", c.href, c.display_name.escape_debug());
    }
    out.push_str("per class:\n");
    for u in &l.classes {
        let chosen = u
            .chosen
            .as_deref()
            .map(|w| format!(" (collections.{} = \"{}\")", u.class, w.escape_debug()))
            .unwrap_or_default();
        let href = u.href.as_deref().unwrap_or("-");
        let _ = writeln!(out, "  {}: {href}{chosen}: {}", u.class, u.note);
    }
    out
}
