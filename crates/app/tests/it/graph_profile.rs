//! A Graph profile from the configuration file, through the real `crmsync`
//! binary, against the testkit's Graph server (issue #15 item 5): the
//! profile's `connector = { kind = "graph", … }` opens, syncs both ways, and
//! a refused secret is reported without showing it (R-CFG-SPEC-1, R-GRAPH-1).

use std::path::{Path, PathBuf};
use std::process::Output;

use crmsync_model::ContactFields;
use crmsync_store::{ListQuery, Store};
use crmsync_testkit::{GraphResource, GraphServer};
use serde_json::json;

async fn crmsync(config: &Path, args: &[&str], secret: &str) -> Output {
    let mut command = crate::support::crmsync_command();
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .env("ANNA_GRAPH_SECRET", secret);
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
            "[database]\nurl = \"sqlite://crm.db\"\n\n[[profile]]\nname = \"anna\"\nuser = \"anna\"\n\
             connector = {{ kind = \"graph\", tenant = \"{}\", mailbox = \"{}\", client_id = \"{}\", \
             client_secret = {{ env = \"ANNA_GRAPH_SECRET\" }}, base_url = \"{}\", authority = \"{}\" }}\n",
            GraphServer::TENANT,
            GraphServer::MAILBOX,
            GraphServer::CLIENT_ID,
            server.base_url(),
            server.authority()
        ),
    )
    .expect("write config");
    let out = crmsync(&config, &["user", "add", "anna", "--email", "anna@contoso.com"], "").await;
    assert!(out.status.success(), "user add: {}", text(&out.stderr));
    config
}

// R-CFG-SPEC-1, R-GRAPH-1: the file's Graph profile syncs an Outlook contact
// into the CRM and creates the three folders.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_cfg_spec_1_a_graph_profile_from_the_file_syncs() {
    let server = GraphServer::start().await.unwrap();
    let folder = server.create_folder(GraphResource::Contacts, "contacts");
    server.user_create(&folder, json!({"givenName": "Grace", "surname": "Hopper", "emailAddresses": [{"address": "grace@navy.mil", "name": "Grace"}]}));
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), &server).await;

    let out = crmsync(&config, &["sync", "--profile", "anna"], GraphServer::CLIENT_SECRET).await;
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    for (resource, name) in [(GraphResource::Events, "calendar"), (GraphResource::Tasks, "tasks")] {
        assert!(server.folder_id(resource, name).is_some(), "{name} was created");
    }
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("crm.db").display()))
        .await
        .unwrap();
    let contacts = store
        .records()
        .list::<ContactFields>(&ListQuery::default())
        .await
        .unwrap();
    let names: Vec<_> = contacts.items.iter().map(|c| c.fields.last_name.clone()).collect();
    assert_eq!(names, vec![Some("Hopper".to_string())]);
    assert_eq!(server.stats().without_immutable_id, 0);
}

// R-GRAPH-1: a wrong secret fails the run with the token endpoint's reason
// and never shows the secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_1_a_refused_secret_is_reported_without_showing_it() {
    let server = GraphServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), &server).await;
    let out = crmsync(&config, &["sync", "--profile", "anna"], "Wrong-Secret-123").await;
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("invalid_client"), "{err}");
    assert!(
        !err.contains("Wrong-Secret-123") && !text(&out.stdout).contains("Wrong-Secret-123"),
        "{err}"
    );
}
