//! Test harness: a real SQLite store in a temp file, three users (an admin,
//! alice, bob), records of every entity, and a helper that drives the router
//! in-process with `tower::ServiceExt::oneshot`.

#![allow(dead_code)] // each test binary uses a different part of the harness

#[macro_use]
pub mod backend;
pub mod routes;
pub mod service;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use crmsync_model::{
    AccountFields, ActivityFields, ActivityKind, CaseFields, ContactFields, LeadFields, OpportunityFields, Participant,
    ParticipantRole, ParticipantSyncStatus, Party, PartyKind, ResponseStatus, Role, UserFields,
};
use crmsync_server::{AppState, router};
use crmsync_store::{Entity, Store};

use routes::On;
use serde_json::Value;
use tower::ServiceExt;

/// Small so that 413 tests need no large buffers.
pub const TEST_MAX_BODY: usize = 16 * 1024;

pub struct Person {
    pub id: String,
    pub token: String,
}

/// Ids of one entity's fixture records.
#[derive(Clone)]
pub struct Fixture {
    /// Owned by alice, not shared.
    pub alice_own: String,
    /// Owned by bob, private: alice must not learn it exists.
    pub bob_private: String,
    /// Owned by bob, readable by alice (shared, or alice is a participant).
    pub bob_readable: String,
}

pub struct World {
    pub _dir: tempfile::TempDir,
    pub store: Store,
    pub app: Router,
    pub admin: Person,
    pub alice: Person,
    pub bob: Person,
    pub accounts: Fixture,
    pub contacts: Fixture,
    pub leads: Fixture,
    pub activities: Fixture,
    pub opportunities: Fixture,
    pub cases: Fixture,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

impl Reply {
    pub fn error_code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }
    pub fn error_field(&self) -> Option<&str> {
        self.json["error"]["field"].as_str()
    }
    pub fn etag(&self) -> Option<&str> {
        self.headers.get(header::ETAG).and_then(|v| v.to_str().ok())
    }
}

fn user(name: &str, role: Role) -> UserFields {
    UserFields {
        name: name.into(),
        email: Some(format!("{}@example.org", name.to_lowercase())),
        role,
        active: true,
    }
}

pub fn participant(kind: PartyKind, id: &str, role: ParticipantRole) -> Participant {
    Participant {
        party: Party {
            kind,
            id: Some(id.into()),
            email: None,
            name: None,
        },
        role,
        invite: true,
        response: ResponseStatus::NeedsAction,
        sync_status: ParticipantSyncStatus::Pending,
    }
}

pub fn contact(last: &str, shared: bool) -> ContactFields {
    ContactFields {
        last_name: Some(last.into()),
        shared,
        active: true,
        ..Default::default()
    }
}

impl World {
    pub async fn new() -> World {
        World::with_limit(TEST_MAX_BODY).await
    }

    pub async fn with_limit(max_body_bytes: usize) -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("crm.db").display());
        World::on(dir, &url, max_body_bytes).await
    }

    /// The same world in the database at `url` (see `backend.rs` for PostgreSQL).
    pub async fn on(dir: tempfile::TempDir, url: &str, max_body_bytes: usize) -> World {
        let store = Store::connect(url).await.expect("open the store");
        store.migrate().await.expect("migrate");
        let mut people = Vec::new();
        for (name, role) in [("Admin", Role::Admin), ("Alice", Role::User), ("Bob", Role::User)] {
            let (u, token) = store
                .records()
                .create_user(user(name, role))
                .await
                .expect("create user");
            people.push(Person { id: u.meta.id, token });
        }
        let bob = people.pop().unwrap();
        let alice = people.pop().unwrap();
        let admin = people.pop().unwrap();

        let accounts = Fixture {
            alice_own: store
                .records()
                .create(&alice.id, account("Alice Ltd", false))
                .await
                .unwrap()
                .meta
                .id,
            bob_private: store
                .records()
                .create(&bob.id, account("Bob Secret Inc", false))
                .await
                .unwrap()
                .meta
                .id,
            bob_readable: store
                .records()
                .create(&bob.id, account("Bob Shared Inc", true))
                .await
                .unwrap()
                .meta
                .id,
        };
        let contacts = Fixture {
            alice_own: store
                .records()
                .create(&alice.id, contact("Alicecontact", false))
                .await
                .unwrap()
                .meta
                .id,
            bob_private: store
                .records()
                .create(&bob.id, contact("Bobsecret", false))
                .await
                .unwrap()
                .meta
                .id,
            bob_readable: store
                .records()
                .create(&bob.id, contact("Bobshared", true))
                .await
                .unwrap()
                .meta
                .id,
        };
        let leads = Fixture {
            alice_own: store
                .records()
                .create(&alice.id, lead("Alicelead", false))
                .await
                .unwrap()
                .meta
                .id,
            bob_private: store
                .records()
                .create(&bob.id, lead("Bobsecretlead", false))
                .await
                .unwrap()
                .meta
                .id,
            bob_readable: store
                .records()
                .create(&bob.id, lead("Bobsharedlead", true))
                .await
                .unwrap()
                .meta
                .id,
        };
        let mut with_alice = ActivityFields::new(ActivityKind::Task, "Bob's task with Alice");
        with_alice.participants = vec![
            participant(PartyKind::User, &bob.id, ParticipantRole::Organizer),
            participant(PartyKind::User, &alice.id, ParticipantRole::Required),
        ];
        let activities = Fixture {
            alice_own: store
                .records()
                .create(&alice.id, ActivityFields::new(ActivityKind::Task, "Alice's task"))
                .await
                .unwrap()
                .meta
                .id,
            bob_private: store
                .records()
                .create(
                    &bob.id,
                    ActivityFields::new(ActivityKind::PhoneCall, "Bob's secret call"),
                )
                .await
                .unwrap()
                .meta
                .id,
            bob_readable: store.records().create(&bob.id, with_alice).await.unwrap().meta.id,
        };
        let opportunities = Fixture {
            alice_own: created(&store, &alice.id, opportunity("Alice deal", false)).await,
            bob_private: created(&store, &bob.id, opportunity("Bob secret deal", false)).await,
            bob_readable: created(&store, &bob.id, opportunity("Bob shared deal", true)).await,
        };
        let cases = Fixture {
            alice_own: created(&store, &alice.id, case("Alice case", false)).await,
            bob_private: created(&store, &bob.id, case("Bob secret case", false)).await,
            bob_readable: created(&store, &bob.id, case("Bob shared case", true)).await,
        };
        let state = AppState::new(store.clone()).with_max_body_bytes(max_body_bytes);
        World {
            _dir: dir,
            app: router(state),
            store,
            admin,
            alice,
            bob,
            accounts,
            contacts,
            leads,
            activities,
            opportunities,
            cases,
        }
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let resp = self.app.clone().oneshot(req).await.expect("router never fails");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Reply { status, headers, json }
    }

    /// A request as a client would send it: bearer token, JSON body, optional If-Match.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        self.call_with(method, path, token, body, None).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        if_match: Option<i64>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(v) = if_match {
            req = req.header(header::IF_MATCH, format!("\"{v}\""));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        };
        self.send(req.unwrap()).await
    }

    /// Raw bytes with a chosen content type.
    pub async fn call_raw(&self, method: Method, path: &str, token: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }
}

pub fn account(name: &str, shared: bool) -> AccountFields {
    AccountFields {
        name: name.into(),
        shared,
        active: true,
        ..Default::default()
    }
}

async fn created<F: Entity>(store: &Store, owner: &str, fields: F) -> String {
    store
        .records()
        .create(owner, fields)
        .await
        .expect("fixture record")
        .meta
        .id
}

pub fn opportunity(title: &str, shared: bool) -> OpportunityFields {
    OpportunityFields {
        title: title.into(),
        shared,
        ..Default::default()
    }
}

pub fn case(title: &str, shared: bool) -> CaseFields {
    CaseFields {
        title: title.into(),
        shared,
        ..Default::default()
    }
}

pub fn lead(last: &str, shared: bool) -> LeadFields {
    LeadFields {
        last_name: Some(last.into()),
        shared,
        ..Default::default()
    }
}

impl World {
    fn fixture(&self, on: On) -> Option<&Fixture> {
        match on {
            On::Account => Some(&self.accounts),
            On::Contact => Some(&self.contacts),
            On::Lead => Some(&self.leads),
            On::Activity => Some(&self.activities),
            On::Opportunity => Some(&self.opportunities),
            On::Case => Some(&self.cases),
            On::User | On::Nothing => None,
        }
    }

    /// Alice's own record of that kind (for users: alice herself).
    pub fn alice_own(&self, on: On) -> String {
        match on {
            On::User => self.alice.id.clone(),
            On::Nothing => "none".into(),
            _ => self.fixture(on).unwrap().alice_own.clone(),
        }
    }

    /// Bob's record alice may read but not change (for users: bob).
    pub fn bob_readable(&self, on: On) -> Option<String> {
        match on {
            On::User => Some(self.bob.id.clone()),
            On::Nothing => None,
            _ => Some(self.fixture(on).unwrap().bob_readable.clone()),
        }
    }

    /// Bob's private record; users have none (every user may see the users).
    pub fn bob_private(&self, on: On) -> Option<String> {
        self.fixture(on).map(|f| f.bob_private.clone())
    }

    /// Changes the record behind the API's back (same fields, next version),
    /// so that the version a client read becomes stale.
    pub async fn bump(&self, on: On, id: &str) {
        async fn again<F: Entity>(store: &Store, id: &str) {
            let r = store.records().get::<F>(id).await.expect("record to bump");
            store
                .records()
                .update::<F>(id, r.meta.version, r.fields)
                .await
                .expect("bump");
        }
        match on {
            On::User => again::<UserFields>(&self.store, id).await,
            On::Account => again::<AccountFields>(&self.store, id).await,
            On::Contact => again::<ContactFields>(&self.store, id).await,
            On::Lead => again::<LeadFields>(&self.store, id).await,
            On::Activity => again::<ActivityFields>(&self.store, id).await,
            On::Opportunity => again::<OpportunityFields>(&self.store, id).await,
            On::Case => again::<CaseFields>(&self.store, id).await,
            On::Nothing => unreachable!("only records have versions"),
        }
    }

    /// The record as the admin reads it through the API.
    pub async fn read_back(&self, on: On, id: &str) -> Reply {
        let path = on.read_path(id).expect("a record route");
        self.call(Method::GET, &path, Some(&self.admin.token), None).await
    }
}

pub fn user_fields(name: &str) -> UserFields {
    user(name, Role::User)
}
