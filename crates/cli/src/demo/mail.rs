//! E-mail tracking in the demo (issue 14): when the machine has Dovecot,
//! alice's sample mailbox is served by a private instance
//! ([`super::dovecot`]); the first run files a few messages as her mail
//! client would (one into the tracking folder `CRM`, one tagged `$CRM` in
//! the inbox, one left alone), tracks them, then files a reply to the
//! first, which the next poll tracks as part of the conversation. Every
//! run prints what the CRM holds. Without Dovecot the demo says in one line
//! that it skipped this and why.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use crmsync_connector::MailSource;
use crmsync_imap::{ImapConfig, ImapConnector, TlsMode};
use crmsync_model::{Actor, Role};
use crmsync_store::Store;
use crmsync_sync::{MailProfile, RunOptions, SyncProfile, run_profile};

use super::dovecot::{self, DemoDovecot};

/// The demo's mail profile (not in crmsync.toml: its server lives only
/// while the demo runs).
pub const PROFILE: &str = "alice-mail";

/// Where the sample mail lives, under the demo folder.
const MAIL_DIR: &str = "mailserver";
/// Written once the sample messages are filed, so a later run files none.
const FILED: &str = "sample-mail-filed";

/// The sample messages: (folder, flags, text).
fn samples() -> [(&'static str, &'static str, String); 3] {
    let message = |id: &str, from: &str, subject: &str, body: &str| {
        format!(
            "Message-ID: <{id}>\r\nDate: Tue, 1 Dec 2026 09:30:00 +0000\r\nFrom: {from}\r\n\
             To: Alice <alice@crmsync.example>\r\nSubject: {subject}\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
        )
    };
    [
        (
            "CRM",
            "",
            message(
                "offer-2026@analyticalenginesltd.example",
                "Ada Lovelace <ada.lovelace0@analyticalenginesltd.example>",
                "Your offer for the Difference Engine",
                "Dear Alice, thank you for the offer. Could you send the delivery terms?",
            ),
        ),
        (
            "INBOX",
            "$CRM",
            message(
                "fair-2026@compilerworksgmbh.example",
                "Grace Lovelace <grace.lovelace1@compilerworksgmbh.example>",
                "Meeting at the trade fair",
                "Hello Alice, shall we meet at our stand on Thursday?",
            ),
        ),
        (
            "INBOX",
            "",
            message(
                "newsletter-49@news.example",
                "News <letters@news.example>",
                "Weekly newsletter (not tracked: no folder, no tag)",
                "This week's news.",
            ),
        ),
    ]
}

/// Ada's answer to Alice's reply: filed after the first poll, tracked as
/// part of the conversation (R-TRACK-4 replies, R-TRACK-7).
fn reply() -> String {
    "Message-ID: <terms-2026@analyticalenginesltd.example>\r\nDate: Wed, 2 Dec 2026 11:00:00 +0000\r\n\
     From: Ada Lovelace <ada.lovelace0@analyticalenginesltd.example>\r\nTo: Alice <alice@crmsync.example>\r\n\
     Subject: Re: Your offer for the Difference Engine\r\n\
     In-Reply-To: <offer-2026@analyticalenginesltd.example>\r\n\
     References: <offer-2026@analyticalenginesltd.example>\r\n\
     Content-Type: text/plain; charset=utf-8\r\n\r\nThe terms suit us; please send the contract.\r\n"
        .to_string()
}

/// Tracks alice's sample mail if Dovecot is installed and prints what the
/// CRM holds; otherwise prints why it did not.
pub async fn track(store: &Store, dir: &Path, json: bool) -> anyhow::Result<()> {
    let Some(binary) = dovecot::binary() else {
        if !json {
            println!(
                "\ne-mail tracking skipped: no Dovecot on this machine (/usr/sbin/dovecot; Debian: apt install \
                 dovecot-imapd); the demo needs no server for the rest"
            );
        }
        return Ok(());
    };
    let server = match DemoDovecot::start(&binary, &dir.join(MAIL_DIR)) {
        Ok(s) => s,
        Err(e) => {
            if !json {
                println!("\ne-mail tracking skipped: the demo's private Dovecot did not start: {e:#}");
            }
            return Ok(());
        }
    };
    let alice = crmsync_service::find_user(store, "alice")
        .await?
        .context("the demo's user alice is missing")?;
    let connector = Arc::new(ImapConnector::new(ImapConfig::with_password(
        "127.0.0.1",
        server.port,
        TlsMode::None,
        dovecot::USER,
        dovecot::PASSWORD,
    ))?);
    let actor = Actor {
        user_id: alice.meta.id.clone(),
        role: Role::Admin,
    };
    let profile = SyncProfile::new(
        PROFILE,
        actor.clone(),
        crmsync_engine::Profile::new(&actor.user_id),
        Arc::new(crmsync_connector::memory::MemoryConnector::new()),
    )
    .mail_only(MailProfile {
        source: connector.clone(),
        tracking: Default::default(),
    });
    let filed = dir.join(MAIL_DIR).join(FILED);
    if !filed.exists() {
        connector.ensure_folder("CRM").await?;
        for (folder, flags, text) in samples() {
            connector.append(folder, flags, text.as_bytes()).await?;
        }
        run_profile(store, &profile, &RunOptions::default()).await?;
        connector.append("INBOX", "", reply().as_bytes()).await?;
        std::fs::write(&filed, "the demo's sample messages are in the mailbox\n")?;
    }
    run_profile(store, &profile, &RunOptions::default()).await?;
    connector.close().await;
    drop(server);
    if !json {
        print_tracked(store).await?;
    }
    Ok(())
}

async fn print_tracked(store: &Store) -> anyhow::Result<()> {
    let rows = store.sync_state().tracked_mail(PROFILE).await?;
    println!(
        "\ne-mail tracking: alice's mailbox on a private Dovecot; {} messages are CRM e-mails:",
        rows.len()
    );
    for row in rows {
        let Some(email) = store.records().email_by_message_key(&row.message_key).await? else {
            continue;
        };
        let from = email
            .fields
            .email
            .as_ref()
            .and_then(|e| e.from.as_ref())
            .map(|p| {
                let who = p.name.clone().or_else(|| p.email.clone()).unwrap_or_default();
                format!(
                    "{who} ({})",
                    serde_json::to_value(p.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                )
            })
            .unwrap_or_default();
        println!(
            "  \"{}\" from {from}, tracked by {} in {}",
            email.fields.subject, row.trigger, row.folder
        );
    }
    println!("  (the newsletter in the inbox has no tag and is not in the CRM folder: not tracked)");
    Ok(())
}
