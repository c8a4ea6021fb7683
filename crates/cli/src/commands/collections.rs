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
    let rows: Vec<(String, String, String, String)> = l
        .collections
        .iter()
        .map(|c| {
            let kind = if c.components.is_empty() {
                c.kind.replace('-', " ")
            } else {
                format!("{} ({})", c.kind, c.components.join(", "))
            };
            let used = if c.used_for.is_empty() {
                String::new()
            } else {
                format!("<- used for {}", c.used_for.join(", "))
            };
            (
                c.href.clone(),
                format!("\"{}\"", c.display_name.escape_debug()),
                kind,
                used,
            )
        })
        .collect();
    // Columns, so the eye finds the href to put in `collections.<class>`.
    let href_w = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let name_w = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    let kind_w = rows.iter().map(|r| r.2.chars().count()).max().unwrap_or(0);
    for (href, name, kind, used) in rows {
        let line = format!("  {href:<href_w$}  {name:<name_w$}  {kind:<kind_w$}  {used}");
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out.push_str("per class:\n");
    for u in &l.classes {
        let chosen = u
            .chosen
            .as_deref()
            .map(|w| format!(" (collections.{} = \"{}\")", u.class, w.escape_debug()))
            .unwrap_or_default();
        let href = u.href.as_deref().unwrap_or("-");
        let _ = writeln!(out, "  {:<9} {href}{chosen}: {}", format!("{}:", u.class), u.note);
    }
    out
}
