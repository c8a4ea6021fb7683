//! A CRM store, a real Dovecot with two users (alice, bob) and their mail
//! profiles, for the e-mail tracking tests. Messages are placed with Python's
//! imaplib, as the users' mail clients would.
#![allow(dead_code)]

use std::sync::Arc;

use crmsync_connector::MailSource;
use crmsync_imap::{ImapConfig, ImapConnector, TlsMode};
use crmsync_model::{Activity, ActivityFields, ActivityKind, Actor, ContactFields, LeadFields, Role, UserFields};
use crmsync_store::{ListQuery, MAX_PAGE, Store};
use crmsync_sync::{MailProfile, MailTracking, RunOptions, RunReport, SyncError, SyncProfile, run_profile};
use crmsync_testkit::{Dovecot, MailClient};
use crmsync_vdir::{VdirConfig, VdirConnector};

pub const ALICE_PASSWORD: &str = "alice-pw";
pub const BOB_PASSWORD: &str = "bob-pw";

pub struct MailWorld {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub dovecot: Dovecot,
    pub alice: Actor,
    pub bob: Actor,
    pub contact_id: String,
    pub lead_id: String,
}

impl MailWorld {
    pub async fn new() -> MailWorld {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("crm.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let alice = user(&store, "alice", "alice@crm.example").await;
        let bob = user(&store, "bob", "bob@crm.example").await;
        let contact = ContactFields {
            first_name: Some("Carla".into()),
            last_name: Some("Kunde".into()),
            email1: Some("carla@customer.example".into()),
            ..ContactFields::default()
        };
        let contact_id = store.records().create(&alice.user_id, contact).await.unwrap().meta.id;
        let lead = LeadFields {
            first_name: Some("Lena".into()),
            last_name: Some("Lead".into()),
            email: Some("lena@prospect.example".into()),
            ..LeadFields::default()
        };
        let lead_id = store.records().create(&alice.user_id, lead).await.unwrap().meta.id;
        let dovecot = Dovecot::start(&[("alice", ALICE_PASSWORD), ("bob", BOB_PASSWORD)]);
        MailWorld {
            dir,
            store,
            dovecot,
            alice,
            bob,
            contact_id,
            lead_id,
        }
    }

    pub fn client(&self, user: &str) -> MailClient {
        self.dovecot.client(user)
    }

    pub fn imap(&self, user: &str, password: &str) -> Arc<ImapConnector> {
        let config = ImapConfig::with_password("127.0.0.1", self.dovecot.port, TlsMode::None, user, password);
        Arc::new(ImapConnector::new(config).unwrap())
    }

    /// A mail-only profile of `actor` on `source`.
    pub fn profile(
        &self,
        name: &str,
        actor: &Actor,
        source: Arc<dyn MailSource>,
        tracking: MailTracking,
    ) -> SyncProfile {
        let root = self.dir.path().join(format!("vdir-{name}"));
        std::fs::create_dir_all(&root).unwrap();
        let vdir = VdirConnector::open(&VdirConfig::new(root)).unwrap();
        SyncProfile::new(
            name,
            actor.clone(),
            crmsync_engine::Profile::new(&actor.user_id),
            Arc::new(vdir),
        )
        .mail_only(MailProfile { source, tracking })
    }

    pub async fn run(&self, profile: &SyncProfile) -> Result<RunReport, SyncError> {
        run_profile(&self.store, profile, &RunOptions::default()).await
    }

    /// Every e-mail activity in the CRM.
    pub async fn emails(&self) -> Vec<Activity> {
        let page = self
            .store
            .records()
            .list::<ActivityFields>(&ListQuery {
                limit: MAX_PAGE,
                ..ListQuery::default()
            })
            .await
            .unwrap();
        page.items
            .into_iter()
            .filter(|a| a.fields.kind == ActivityKind::Email)
            .collect()
    }

    pub async fn email_with_subject(&self, subject: &str) -> Activity {
        let emails = self.emails().await;
        let found: Vec<_> = emails.iter().filter(|e| e.fields.subject == subject).collect();
        assert_eq!(found.len(), 1, "one CRM e-mail {subject:?}: {:?}", subjects(&emails));
        found[0].clone()
    }
}

pub fn subjects(emails: &[Activity]) -> Vec<String> {
    emails.iter().map(|e| e.fields.subject.clone()).collect()
}

async fn user(store: &Store, name: &str, email: &str) -> Actor {
    let (user, _) = store
        .records()
        .create_user(UserFields::active_user(name, email))
        .await
        .unwrap();
    Actor {
        user_id: user.meta.id,
        role: Role::User,
    }
}

/// An RFC 5322 message; `headers` go between the fixed ones and the body.
pub fn message(id: Option<&str>, from: &str, to: &str, subject: &str, headers: &str, body: &str) -> Vec<u8> {
    let id = id.map(|i| format!("Message-ID: <{i}>\r\n")).unwrap_or_default();
    format!(
        "{id}From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n{headers}\r\n{body}\r\n"
    )
    .into_bytes()
}
