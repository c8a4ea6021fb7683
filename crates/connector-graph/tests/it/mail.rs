//! The Graph mail source against the test server (R-GRAPH-25..29): folders
//! by name, the messages delta as a folder's position, the MIME of a
//! message, and the tracked category set only on the message as listed.

use crate::common;

use crmsync_connector::{ConnectorError, FolderPosition, MailSource};
use crmsync_graph::{GraphMail, uid_of, uid_validity_of};
use crmsync_testkit::{GraphResource, GraphServer};
use serde_json::json;

fn source(server: &GraphServer) -> GraphMail {
    let (connector, _clock) = common::connector(server);
    GraphMail::new(connector)
}

fn message(subject: &str) -> serde_json::Value {
    json!({
        "subject": subject,
        "from": {"emailAddress": {"name": "Carla", "address": "carla@customer.example"}},
        "toRecipients": [{"emailAddress": {"address": GraphServer::MAILBOX}}],
        "internetMessageId": format!("<{subject}@customer.example>"),
        "receivedDateTime": "2026-12-01T10:00:00Z",
        "categories": ["Blue"],
        "body": {"contentType": "text", "content": "Hello"}
    })
}

// R-GRAPH-25: the tracking folder is found by name or made once; a missing
// folder is NotFound; a poll lists the folder in full, then only what
// changed, and a round with nothing new says so.
#[tokio::test]
async fn r_graph_25_folders_by_name_and_the_delta_link_as_position() {
    let server = GraphServer::start().await.unwrap();
    let mail = source(&server);
    assert!(matches!(
        mail.poll("CRM", None).await,
        Err(ConnectorError::NotFound { .. })
    ));
    mail.ensure_folder("CRM").await.unwrap();
    mail.ensure_folder("CRM").await.unwrap();
    let crm = server.folder_id(GraphResource::Messages, "CRM").expect("made");
    assert_eq!(
        server
            .stats()
            .log
            .iter()
            .filter(|r| r.starts_with("POST") && r.contains("/mailFolders"))
            .count(),
        1,
        "made once"
    );
    let first = server.user_create(&crm, message("m1"));
    let full = mail.poll("CRM", None).await.unwrap();
    assert!(full.full && !full.unchanged);
    let uid = uid_of(first["id"].as_str().unwrap());
    assert_eq!(full.present, Some(vec![uid]));
    assert_eq!(full.changed[0].flags, ["Blue"]);
    let link = full.position.cursor.clone().expect("the delta link");
    assert!(link.starts_with(&server.base_url()), "{link}");

    let fetched = mail.fetch("CRM", &[uid]).await.unwrap();
    let mime = String::from_utf8(fetched[0].body.clone()).unwrap();
    assert!(mime.contains("Message-ID: <m1@customer.example>"), "{mime}");
    assert_eq!(fetched[0].received_at, Some(1_796_119_200));

    let same = mail.poll("CRM", Some(&full.position)).await.unwrap();
    assert!(same.unchanged, "{same:?}");
    server.user_delete(&crm, first["id"].as_str().unwrap());
    let second = server.user_create(&crm, message("m2"));
    let delta = mail.poll("CRM", Some(&same.position)).await.unwrap();
    assert!(!delta.full && delta.present.is_none());
    assert_eq!(delta.removed, [uid]);
    assert_eq!(delta.changed.len(), 1);
    assert_eq!(delta.changed[0].uid, uid_of(second["id"].as_str().unwrap()));
    assert_eq!(delta.position.uid_validity, full.position.uid_validity);
}

// R-GRAPH-42: a position stored by the 32-bit UID scheme (UIDVALIDITY the
// first 32 bits of SHA-256 of the folder id, which are the top of
// `uid_of`'s 63) is not resumed: the folder is listed in full under the
// new UIDVALIDITY, whose UIDs the runner's rows do not hold yet.
#[tokio::test]
async fn r_graph_42_a_position_of_the_32_bit_scheme_lists_the_folder_in_full() {
    let server = GraphServer::start().await.unwrap();
    let mail = source(&server);
    mail.ensure_folder("CRM").await.unwrap();
    let crm = server.folder_id(GraphResource::Messages, "CRM").unwrap();
    let m = server.user_create(&crm, message("m1"));
    let full = mail.poll("CRM", None).await.unwrap();
    assert_eq!(full.position.uid_validity, uid_validity_of(&crm));
    let old = FolderPosition {
        uid_validity: uid_of(&crm) >> 31,
        ..full.position.clone()
    };
    let again = mail.poll("CRM", Some(&old)).await.unwrap();
    assert!(again.full && !again.unchanged, "{again:?}");
    assert_eq!(again.position.uid_validity, uid_validity_of(&crm));
    assert_eq!(again.present, Some(vec![uid_of(m["id"].as_str().unwrap())]));
    // A position of this scheme resumes its delta link.
    let same = mail.poll("CRM", Some(&again.position)).await.unwrap();
    assert!(same.unchanged, "{same:?}");
}

// R-GRAPH-26: the tracked category is added with If-Match on the etag the
// poll listed: a message changed in Outlook since is not marked now (nor is
// the user's change lost), and is marked once listed again.
#[tokio::test]
async fn r_graph_26_the_mark_is_conditional_on_the_listed_message() {
    let server = GraphServer::start().await.unwrap();
    let mail = source(&server);
    mail.ensure_folder("CRM").await.unwrap();
    let crm = server.folder_id(GraphResource::Messages, "CRM").unwrap();
    let m = server.user_create(&crm, message("m1"));
    let id = m["id"].as_str().unwrap();
    let uid = uid_of(id);
    mail.poll("CRM", None).await.unwrap();
    server.user_update(&crm, id, json!({"categories": ["Blue", "Red"]}));
    let marked = mail.add_keywords("CRM", &[(uid, None)], "$CRMTracked").await.unwrap();
    assert!(marked.is_empty(), "412: changed since the poll");
    assert_eq!(server.stats().precondition_failed, 1);
    assert_eq!(server.item(&crm, id).unwrap()["categories"], json!(["Blue", "Red"]));

    mail.poll("CRM", None).await.unwrap();
    let marked = mail.add_keywords("CRM", &[(uid, None)], "$CRMTracked").await.unwrap();
    assert_eq!(marked, [uid]);
    assert_eq!(
        server.item(&crm, id).unwrap()["categories"],
        json!(["Blue", "Red", "$CRMTracked"]),
        "the user's categories are kept"
    );
    // Not listed by this run: nothing is written.
    assert!(
        mail.add_keywords("CRM", &[(uid ^ 1, None)], "$CRMTracked")
            .await
            .unwrap()
            .is_empty()
    );
}

// R-GRAPH-26: In-Reply-To and References come from the message's
// internetMessageHeaders; the Inbox is the well-known folder.
#[tokio::test]
async fn r_graph_26_thread_headers_of_an_inbox_message() {
    let server = GraphServer::start().await.unwrap();
    let mail = source(&server);
    let inbox = server.inbox_id();
    let mut reply = message("r1");
    reply["internetMessageHeaders"] = json!([
        {"name": "In-Reply-To", "value": "<m1@customer.example>"},
        {"name": "References", "value": "<m0@customer.example> <m1@customer.example>"}
    ]);
    let r = server.user_create(&inbox, reply);
    mail.poll("INBOX", None).await.unwrap();
    let headers = mail
        .thread_headers("INBOX", &[uid_of(r["id"].as_str().unwrap())])
        .await
        .unwrap();
    assert_eq!(headers.len(), 1);
    assert_eq!(headers[0].message_id.as_deref(), Some("<r1@customer.example>"));
    assert_eq!(headers[0].in_reply_to, ["<m1@customer.example>"]);
    assert_eq!(
        headers[0].references,
        ["<m0@customer.example>", "<m1@customer.example>"]
    );
    assert_eq!(headers[0].addresses, ["carla@customer.example", GraphServer::MAILBOX]);
}

// R-GRAPH-26: a delta link the server no longer knows (410) lists the
// folder in full; a link of another endpoint is not followed.
#[tokio::test]
async fn r_graph_26_an_expired_or_foreign_link_lists_in_full() {
    let server = GraphServer::start().await.unwrap();
    let mail = source(&server);
    mail.ensure_folder("CRM").await.unwrap();
    let crm = server.folder_id(GraphResource::Messages, "CRM").unwrap();
    server.user_create(&crm, message("m1"));
    let first = mail.poll("CRM", None).await.unwrap();
    server.switches().expire_delta_tokens("resyncRequired");
    let again = mail.poll("CRM", Some(&first.position)).await.unwrap();
    assert!(again.full && again.present.as_ref().is_some_and(|p| p.len() == 1));
    assert_eq!(server.stats().gone, 1);
    let mut foreign = again.position.clone();
    foreign.cursor = Some("https://attacker.example/v1.0/delta?$deltatoken=x".into());
    let listed = mail.poll("CRM", Some(&foreign)).await.unwrap();
    assert!(listed.full);
    assert!(!server.stats().log.iter().any(|r| r.contains("attacker")));
}
