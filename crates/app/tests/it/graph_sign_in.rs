//! Delegated Graph sign-in through the real `crmsync` binary against the
//! testkit's Graph server (R-GRAPH-31, R-GRAPH-32): `crmsync graph sign-in`
//! stores the refresh token sealed in the database, `crmsync sync` runs on
//! it and keeps each rotated token, a revoked one asks for a new sign-in.

use std::path::{Path, PathBuf};
use std::process::Output;

use crmsync_store::Store;
use crmsync_testkit::{DeviceUser, GraphServer};
use sqlx::Row;

/// 32 bytes, base64: the `[security] key` that seals the sign-in.
const KEY: &str = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=";

async fn crmsync(config: &Path, args: &[&str]) -> Output {
    let mut command = crate::support::crmsync_command();
    command.arg("--config").arg(config).args(args);
    // The Graph server lives in this test's runtime: wait off its threads.
    tokio::task::spawn_blocking(move || command.output().expect("crmsync runs"))
        .await
        .expect("join")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn setup(dir: &Path, server: &GraphServer) -> PathBuf {
    let config = dir.join("crmsync.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://crm.db\"\n\n[security]\nkey = \"{KEY}\"\n\n[[profile]]\nname = \"anna\"\nuser = \"anna\"\n\
             connector = {{ kind = \"graph\", tenant = \"{}\", mailbox = \"{}\", client_id = \"{}\", \
             auth = \"device-code\", base_url = \"{}\", authority = \"{}\" }}\n",
            GraphServer::TENANT,
            GraphServer::MAILBOX,
            GraphServer::CLIENT_ID,
            server.base_url(),
            server.authority()
        ),
    )
    .expect("write config");
    let out = crmsync(&config, &["user", "add", "anna", "--email", "anna@contoso.com"]).await;
    assert!(out.status.success(), "user add: {}", text(&out.stderr));
    config
}

/// The stored (sealed token, version) rows.
async fn sign_ins(dir: &Path) -> Vec<(String, i64)> {
    let store = Store::connect(&format!("sqlite://{}", dir.join("crm.db").display()))
        .await
        .unwrap();
    sqlx::query("SELECT sealed_token, version FROM graph_sign_ins")
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.try_get("sealed_token").unwrap(), r.try_get("version").unwrap()))
        .collect()
}

// R-GRAPH-31, R-GRAPH-32: sign in (Microsoft's text printed, the token
// stored sealed), sync on it (the rotated token stored), then a revoked
// sign-in fails the run saying what to run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_31_sign_in_then_sync_as_the_user() {
    let server = GraphServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), &server).await;

    let out = crmsync(&config, &["sync", "--profile", "anna"]).await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not signed in") && text(&out.stderr).contains("crmsync graph sign-in anna"),
        "{}",
        text(&out.stderr)
    );

    let out = crmsync(&config, &["graph", "sign-in", "anna"]).await;
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    assert!(
        text(&out.stdout).contains("https://microsoft.com/devicelogin"),
        "{}",
        text(&out.stdout)
    );
    let issued = server.valid_refresh_tokens();
    assert_eq!(issued.len(), 1);
    let stored = sign_ins(dir.path()).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].1, 1);
    assert!(!stored[0].0.contains(&issued[0]), "sealed: {}", stored[0].0);
    for output in [&out.stdout, &out.stderr] {
        assert!(!text(output).contains(&issued[0]), "never shown");
    }

    let out = crmsync(&config, &["sync", "--profile", "anna"]).await;
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    assert!(
        server
            .folder_id(crmsync_testkit::GraphResource::Contacts, "contacts")
            .is_some()
    );
    let stored = sign_ins(dir.path()).await;
    assert_eq!(stored[0].1, 2, "the rotated refresh token was stored");
    let valid = server.valid_refresh_tokens();
    assert_eq!(valid.len(), 1);
    assert_ne!(valid, issued);
    assert!(!stored[0].0.contains(&valid[0]));

    server.revoke_refresh_tokens();
    let out = crmsync(&config, &["sync", "--profile", "anna"]).await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("sign in again: crmsync graph sign-in anna"),
        "{}",
        text(&out.stderr)
    );
}

// R-GRAPH-31: a declined sign-in is a clear error and stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_31_a_declined_sign_in_stores_nothing() {
    let server = GraphServer::start().await.unwrap();
    server.device_user(DeviceUser::DeclinesAfter(0));
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), &server).await;
    let out = crmsync(&config, &["graph", "sign-in", "anna"]).await;
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("declined"), "{}", text(&out.stderr));
    assert!(sign_ins(dir.path()).await.is_empty());
}
