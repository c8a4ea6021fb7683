//! Stored profiles on SQLite and PostgreSQL: credentials sealed at rest and
//! absent from every output, R-PERM-1 on save and run, the config import,
//! the interval's range (R-SCHED-1) and who sees which profile (R-PERM-2).

use crate::common;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::Utc;
use common::*;
use crmsync_config::Config;
use crmsync_model::{Actor, Role, UserFields};
use crmsync_service::{
    Clock as _, ConnectorSpec, ManualClock, ProfileCatalog, ProfileDefinition, ProfileSource, RunResult, SecretKey,
    ServiceError,
};
use crmsync_store::ProfileUpsert;
use serde_json::json;

const PASSWORD: &str = "hunter2-Sekr3t";

/// Everything every thread logs, at debug level, for the whole test binary.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || SharedWriter(sink.clone()))
            .init();
        buffer
    })
    .clone()
}

struct SharedWriter(Arc<Mutex<Vec<u8>>>);

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn dav_profile(name: &str, user_id: &str) -> ProfileDefinition {
    ProfileDefinition {
        name: name.into(),
        user_id: user_id.into(),
        // Port 9 (discard) on loopback: nothing listens, the run fails fast.
        connector: ConnectorSpec::from_json(json!({
            "kind": "dav", "url": "http://127.0.0.1:9/dav/", "username": "anna",
            "password": PASSWORD, "retry": { "max_retries": 0 }
        }))
        .unwrap(),
        mail: None,
        rules: json!({}),
        pull_interval: Duration::from_secs(900),
        push: true,
        enabled: true,
    }
}

// Credentials are sealed in the row, and absent from the API view, Debug,
// the failure reason and every log line, also when a run with them fails.
both_backends!(credentials_are_sealed_at_rest_and_never_shown, |store| {
    let logs = captured_logs();
    let anna = user(&store, "anna").await;
    let key = SecretKey::generate();
    let catalog = ProfileCatalog::new(store.clone(), Some(key.clone()));
    let name = format!("anna-dav-{}", uuid::Uuid::new_v4().simple());
    let def = dav_profile(&name, &anna.meta.id);
    assert!(matches!(
        ProfileCatalog::new(store.clone(), None)
            .save(&def, ProfileSource::Api, Utc::now())
            .await,
        Err(ServiceError::NoSecurityKey { .. })
    ));
    assert_eq!(
        catalog.save(&def, ProfileSource::Api, Utc::now()).await.unwrap(),
        ProfileUpsert::Created
    );

    use sqlx::Row as _;
    let raw = sqlx::query("SELECT connector_settings, connector_secret, rules FROM sync_profiles WHERE name = $1")
        .bind(&name)
        .fetch_one(store.pool())
        .await
        .unwrap();
    let settings: String = raw.get("connector_settings");
    let sealed: String = raw.get("connector_secret");
    assert!(
        settings.contains("127.0.0.1:9") && !settings.contains(PASSWORD),
        "{settings}"
    );
    assert!(sealed.starts_with("v1.") && !sealed.contains(PASSWORD), "{sealed}");
    assert!(!format!("{:?}", raw.get::<String, _>("rules")).contains(PASSWORD));

    let row = store.catalog().profile_row(&name).await.unwrap().unwrap();
    let view = catalog.view(&name).await.unwrap().unwrap();
    assert!(view.has_credentials);
    for shown in [
        serde_json::to_string(&view).unwrap(),
        format!("{view:?}"),
        format!("{row:?}"),
        format!("{def:?}"),
        format!("{catalog:?}"),
    ] {
        assert!(!shown.contains(PASSWORD), "leaked: {shown}");
        assert!(!shown.contains(&key.to_base64()), "key leaked: {shown}");
    }
    let back = catalog.definition_of(&row).unwrap();
    assert_eq!(back.connector, def.connector, "the right key opens it");
    assert!(matches!(
        ProfileCatalog::new(store.clone(), Some(SecretKey::generate())).definition_of(&row),
        Err(ServiceError::SecretUnreadable { .. })
    ));
    assert_eq!(
        catalog.save(&def, ProfileSource::Api, Utc::now()).await.unwrap(),
        ProfileUpsert::Unchanged,
        "re-saving the same secret is no change"
    );

    // Run it: the server is unreachable, the run fails and is logged.
    let clock = Arc::new(ManualClock::new(Utc::now() + chrono::Duration::seconds(1)));
    let scheduler = crmsync_service::Scheduler::new(crmsync_service::SchedulerParts {
        catalog: catalog.clone(),
        factory: Arc::new(crmsync_service::DefaultConnectorFactory),
        clock: clock.clone(),
        metrics: crmsync_service::Metrics::new(),
        settings: settings_for_test(),
    })
    .await
    .unwrap();
    let mut rx = scheduler.subscribe();
    assert!(scheduler.tick().await.unwrap().started.contains(&name));
    let event = next_events(&mut rx, 1).await.remove(0);
    let RunResult::Failed { message, .. } = &event.result else {
        panic!("an unreachable server fails the run: {event:?}")
    };
    assert!(!message.contains(PASSWORD));
    let reason = catalog.view(&name).await.unwrap().unwrap().state_reason.unwrap();
    assert!(!reason.contains(PASSWORD), "{reason}");
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).to_string();
    assert!(
        logged.contains("profile run failed") && logged.contains(&name),
        "the failure is logged"
    );
    assert!(!logged.contains(PASSWORD), "a log line holds the password");
});

fn settings_for_test() -> crmsync_service::SchedulerSettings {
    settings("w1", Duration::from_secs(60), 8)
}

// R-PERM-1: a direction that writes to the CRM needs create and update
// rights; the CRM grants none to a deactivated user, and rules may narrow.
both_backends!(r_perm_1_two_way_needs_create_and_update_rights, |store| {
    let dir = tempfile::tempdir().unwrap();
    let catalog = ProfileCatalog::new(store.clone(), None);
    let now = Utc::now();
    let (gone, _) = store
        .records()
        .create_user(UserFields {
            name: "gone".into(),
            email: None,
            role: Role::User,
            active: false,
        })
        .await
        .unwrap();
    let refused = catalog
        .save(
            &vdir_profile("gone-p", &gone, dir.path(), Duration::from_secs(900)),
            ProfileSource::Api,
            now,
        )
        .await;
    assert!(matches!(refused, Err(ServiceError::Permission { .. })), "{refused:?}");
    let msg = refused.unwrap_err().to_string();
    assert!(
        msg.contains("create and update") && msg.contains("crm-to-groupware"),
        "{msg}"
    );
    let mut read_only = vdir_profile("gone-ro", &gone, dir.path(), Duration::from_secs(900));
    read_only.rules = json!({
        "contacts": { "direction": "crm-to-groupware" }, "events": { "direction": "crm-to-groupware" },
        "tasks": { "direction": "crm-to-groupware" }, "mail": { "direction": "crm-to-groupware" }
    });
    catalog.save(&read_only, ProfileSource::Api, now).await.unwrap();

    let anna = user(&store, "anna").await;
    let mut narrowed = vdir_profile("anna-p", &anna, dir.path(), Duration::from_secs(900));
    narrowed.rules = json!({ "tasks": { "rights": { "update": false } } });
    let err = catalog.save(&narrowed, ProfileSource::Api, now).await.unwrap_err();
    assert!(err.to_string().contains("tasks"), "{err}");
    narrowed.rules = json!({ "tasks": { "direction": "crm-to-groupware", "rights": { "update": false } } });
    catalog.save(&narrowed, ProfileSource::Api, now).await.unwrap();

    // Rights are checked again at every run: anna is deactivated later.
    let ana = store.records().get::<UserFields>(&anna.meta.id).await.unwrap();
    let mut fields = ana.fields.clone();
    fields.active = false;
    store
        .records()
        .update(&anna.meta.id, ana.meta.version, fields)
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now() + chrono::Duration::seconds(1)));
    let scheduler = manual_scheduler(&store, clock).await;
    let mut rx = scheduler.subscribe();
    let tick = scheduler.tick().await.unwrap();
    assert!(tick.started.contains(&"anna-p".to_string()), "{tick:?}");
    let events = next_events(&mut rx, tick.started.len()).await;
    let anna_run = events.iter().find(|e| e.profile == "anna-p").unwrap();
    assert!(
        matches!(&anna_run.result, RunResult::Failed { message, transient: false } if message.contains("right")),
        "{anna_run:?}"
    );
});

// R-PERM-1 on the scheduler's path: the profile is built by the one factory
// at every run, so once its user lost the right to create (deactivated), a
// new groupware contact creates nothing in the CRM.
both_backends!(
    r_perm_1_the_scheduler_never_creates_for_a_user_without_rights,
    |store| {
        let dir = tempfile::tempdir().unwrap();
        let anna = user(&store, "anna").await;
        let def = vdir_profile("anna-box", &anna, dir.path(), Duration::from_secs(900));
        save(&store, &def, Utc::now()).await;
        let contacts = dir.path().join("anna-box").join("contacts");
        std::fs::create_dir_all(&contacts).unwrap();
        std::fs::write(
            contacts.join("r-perm-1.vcf"),
            "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:r-perm-1\r\nFN:Zed Permless\r\nN:Permless;Zed;;;\r\nEND:VCARD\r\n",
        )
        .unwrap();
        let fields = UserFields {
            active: false,
            ..anna.fields.clone()
        };
        store
            .records()
            .update(&anna.meta.id, anna.meta.version, fields)
            .await
            .unwrap();

        let clock = Arc::new(ManualClock::new(Utc::now() + chrono::Duration::seconds(1)));
        let scheduler = manual_scheduler(&store, clock).await;
        let mut rx = scheduler.subscribe();
        let tick = scheduler.tick().await.unwrap();
        assert_eq!(tick.started, ["anna-box"], "{tick:?}");
        let ended = next_events(&mut rx, 1).await;
        assert!(
            matches!(&ended[0].result, RunResult::Failed { message, transient: false } if message.contains("right")),
            "{ended:?}"
        );
        let page = store
            .records()
            .list::<crmsync_model::ContactFields>(&crmsync_store::ListQuery::default())
            .await
            .unwrap();
        assert!(
            page.items
                .iter()
                .all(|c| c.fields.last_name.as_deref() != Some("Permless")),
            "nothing was created in the CRM"
        );
    }
);

// R-SCHED-1: "minutes to days".
both_backends!(r_sched_1_interval_outside_minutes_to_days_is_refused, |store| {
    let dir = tempfile::tempdir().unwrap();
    let anna = user(&store, "anna").await;
    let catalog = ProfileCatalog::new(store.clone(), None);
    for (secs, ok) in [(30, false), (60, true), (30 * 24 * 3600, true), (31 * 24 * 3600, false)] {
        let def = vdir_profile(&format!("p{secs}"), &anna, dir.path(), Duration::from_secs(secs));
        let saved = catalog.save(&def, ProfileSource::Api, Utc::now()).await;
        assert_eq!(saved.is_ok(), ok, "{secs} s: {saved:?}");
        if let Err(e) = saved {
            assert!(e.to_string().contains("R-SCHED-1"), "{e}");
        }
    }
});

// The config file's profiles are upserted at start and win over API edits
// of the same name; an unchanged file keeps the schedule.
both_backends!(config_profiles_are_imported_and_the_file_wins, |store| {
    let dir = tempfile::tempdir().unwrap();
    let anna = user(&store, "anna").await;
    let toml = r#"
        [[profile]]
        name = "anna-mail"
        user = "anna"
        pull_interval_secs = 600
        push = false
        connector = { kind = "vdir", root = "mail/anna" }
        [profile.rules.contacts]
        conflict = "groupware-wins"
    "#;
    let config = Config::parse_with_env(toml, "test.toml", &BTreeMap::new()).unwrap();
    let catalog = ProfileCatalog::new(store.clone(), None);
    let clock = ManualClock::new(Utc::now());
    let imported = catalog.import_config(&config, dir.path(), clock.now()).await.unwrap();
    assert_eq!(imported, [("anna-mail".to_string(), ProfileUpsert::Created)]);
    let v = catalog.view("anna-mail").await.unwrap().unwrap();
    assert_eq!(
        (v.user_id.as_str(), v.source.as_str()),
        (anna.meta.id.as_str(), "config")
    );
    assert_eq!((v.pull_interval_secs, v.push), (600, false));
    assert_eq!(
        v.connector["root"],
        json!(dir.path().join("mail/anna")),
        "relative to the config's folder"
    );
    assert_eq!(v.rules["contacts"]["conflict"], json!("groupware-wins"));

    let mut edited = catalog
        .definition_of(&store.catalog().profile_row("anna-mail").await.unwrap().unwrap())
        .unwrap();
    edited.pull_interval = Duration::from_secs(7200);
    std::fs::create_dir_all(dir.path().join("mail/anna")).unwrap();
    catalog.save(&edited, ProfileSource::Api, clock.now()).await.unwrap();
    assert_eq!(
        catalog.view("anna-mail").await.unwrap().unwrap().pull_interval_secs,
        7200
    );

    clock.advance(chrono::Duration::minutes(5));
    let again = catalog.import_config(&config, dir.path(), clock.now()).await.unwrap();
    assert_eq!(again[0].1, ProfileUpsert::Changed, "the file wins");
    let v = catalog.view("anna-mail").await.unwrap().unwrap();
    assert_eq!((v.pull_interval_secs, v.source.as_str()), (600, "config"));
    assert_eq!(v.next_run_at, clock.now(), "a changed profile is due at once");

    clock.advance(chrono::Duration::minutes(5));
    let third = catalog.import_config(&config, dir.path(), clock.now()).await.unwrap();
    assert_eq!(third[0].1, ProfileUpsert::Unchanged);
    assert_eq!(
        catalog.view("anna-mail").await.unwrap().unwrap().next_run_at,
        v.next_run_at,
        "an unchanged profile keeps its schedule"
    );

    let unknown = Config::parse_with_env(&toml.replace("\"anna\"", "\"nobody\""), "t", &BTreeMap::new()).unwrap();
    let err = catalog
        .import_config(&unknown, dir.path(), clock.now())
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::UnknownUser { .. }), "{err}");
    assert!(err.to_string().contains("crmsync user add"), "says what to do: {err}");
});

// R-PERM-2: a user sees and manages only their own profiles; another user's
// answers like a missing one. Admins see all.
both_backends!(r_perm_2_users_see_only_their_own_profiles, |store| {
    let dir = tempfile::tempdir().unwrap();
    let (anna, bob) = (user(&store, "anna").await, user(&store, "bob").await);
    save(
        &store,
        &vdir_profile("anna-p", &anna, dir.path(), Duration::from_secs(900)),
        Utc::now(),
    )
    .await;
    save(
        &store,
        &vdir_profile("bob-p", &bob, dir.path(), Duration::from_secs(900)),
        Utc::now(),
    )
    .await;
    let catalog = ProfileCatalog::new(store.clone(), None);
    let as_bob = Actor {
        user_id: bob.meta.id.clone(),
        role: Role::User,
    };
    let names = |v: Vec<crmsync_service::ProfileView>| v.into_iter().map(|p| p.name).collect::<Vec<_>>();
    assert_eq!(names(catalog.views_for(&as_bob).await.unwrap()), ["bob-p"]);
    assert!(matches!(
        catalog.view_for(&as_bob, "anna-p").await,
        Err(ServiceError::ProfileNotFound(_))
    ));
    assert_eq!(catalog.view_for(&as_bob, "bob-p").await.unwrap().name, "bob-p");
    let admin = Actor {
        user_id: "someone".into(),
        role: Role::Admin,
    };
    assert_eq!(names(catalog.views_for(&admin).await.unwrap()), ["anna-p", "bob-p"]);
});

// R-CFG-DAV-1, R-SYNC-PERF-4: a stored DAV profile's `concurrency` sets the
// writes its runs keep in flight; a vdir profile keeps the default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dav_concurrency_sets_the_write_concurrency_of_a_ready_profile() {
    common::on_sqlite(|store| async move {
        let anna = user(&store, "anna").await;
        let catalog = ProfileCatalog::new(store.clone(), Some(SecretKey::generate()));
        let factory = crmsync_service::DefaultConnectorFactory;
        let now = Utc::now();

        let mut dav = dav_profile("anna-dav", &anna.meta.id);
        dav.connector = ConnectorSpec::from_json(json!({
            "kind": "dav", "url": "http://127.0.0.1:9/dav/", "username": "anna",
            "password": PASSWORD, "concurrency": 3
        }))
        .unwrap();
        catalog.save(&dav, ProfileSource::Api, now).await.unwrap();
        let ready = catalog.ready_profile_named(&factory, "anna-dav").await.unwrap();
        assert_eq!(ready.write_concurrency, crmsync_sync::write_concurrency_for(Some(3)));
        assert_ne!(ready.write_concurrency, crmsync_sync::DEFAULT_WRITE_CONCURRENCY);

        let dir = tempfile::tempdir().unwrap();
        let vdir = vdir_profile("anna-vdir", &anna, dir.path(), Duration::from_secs(900));
        catalog.save(&vdir, ProfileSource::Api, now).await.unwrap();
        let ready = catalog.ready_profile_named(&factory, "anna-vdir").await.unwrap();
        assert_eq!(ready.write_concurrency, crmsync_sync::DEFAULT_WRITE_CONCURRENCY);
    })
    .await;
}

// R-GRAPH-25: a Graph profile with `tracking` runs its contacts, events and
// tasks over Graph and tracks the mailbox's mail in the same run; without
// `tracking` it has no mail side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_25_a_graph_profile_with_tracking_syncs_items_and_tracks_mail() {
    common::on_sqlite(|store| async move {
        let anna = user(&store, "anna").await;
        let catalog = ProfileCatalog::new(store.clone(), Some(SecretKey::generate()));
        let factory = crmsync_service::DefaultConnectorFactory;
        let now = Utc::now();
        let graph = |tracking: Option<serde_json::Value>| {
            let mut spec = json!({
                "kind": "graph", "tenant": "contoso.onmicrosoft.com", "mailbox": "anna@contoso.com",
                "client_id": "app", "client_secret": PASSWORD, "concurrency": 2
            });
            if let Some(t) = tracking {
                spec["tracking"] = t;
            }
            ConnectorSpec::from_json(spec).unwrap()
        };
        let mut tracked = dav_profile("anna-graph-mail", &anna.meta.id);
        tracked.connector = graph(Some(json!({"keyword": "CRM"})));
        catalog.save(&tracked, ProfileSource::Api, now).await.unwrap();
        let ready = catalog.ready_profile_named(&factory, "anna-graph-mail").await.unwrap();
        let mail = ready.mail.as_ref().expect("the mail side");
        assert_eq!(mail.tracking.keyword, "CRM");
        // The item side is Graph's (its concurrency: 2 batches of 20
        // creates, R-GRAPH-17), not the mail-only profile's empty connector.
        assert_eq!(
            ready.write_concurrency,
            crmsync_sync::write_concurrency_for(Some(2 * 20))
        );

        let mut plain = dav_profile("anna-graph", &anna.meta.id);
        plain.connector = graph(None);
        catalog.save(&plain, ProfileSource::Api, now).await.unwrap();
        let ready = catalog.ready_profile_named(&factory, "anna-graph").await.unwrap();
        assert!(ready.mail.is_none());
    })
    .await;
}

// R-PROFILE-MAIL-1, R-SEC-4: a profile's `mail` connector is stored with it,
// its password sealed, and read back as it was.
both_backends!(
    r_profile_mail_1_the_mail_connector_is_stored_sealed_and_read_back,
    |store| {
        let anna = user(&store, "anna").await;
        let key = SecretKey::generate();
        let catalog = ProfileCatalog::new(store.clone(), Some(key));
        let name = format!("anna-both-{}", uuid::Uuid::new_v4().simple());
        let mut def = dav_profile(&name, &anna.meta.id);
        def.mail = Some(
            ConnectorSpec::from_json(json!({
                "kind": "imap", "host": "127.0.0.1", "port": 9, "tls": "none", "username": "anna",
                "password": "imap-Sekr3t", "tracking": { "known_contacts": true }
            }))
            .unwrap(),
        );
        catalog.save(&def, ProfileSource::Api, Utc::now()).await.unwrap();
        let row = store.catalog().profile_row(&name).await.unwrap().unwrap();
        let settings = &row.definition.connector_settings;
        assert!(
            settings.contains("\"mail\"") && settings.contains("known_contacts"),
            "{settings}"
        );
        assert!(
            !settings.contains("imap-Sekr3t") && !settings.contains(PASSWORD),
            "{settings}"
        );
        let view = serde_json::to_string(&catalog.view(&name).await.unwrap().unwrap()).unwrap();
        assert!(!view.contains("imap-Sekr3t"), "{view}");
        assert_eq!(catalog.definition_of(&row).unwrap(), def);
        assert_eq!(
            catalog.save(&def, ProfileSource::Api, Utc::now()).await.unwrap(),
            ProfileUpsert::Unchanged
        );
        // A `mail` connector that holds no e-mail is refused.
        let mut wrong = def.clone();
        wrong.mail = Some(wrong.connector.clone());
        assert!(matches!(
            catalog.save(&wrong, ProfileSource::Api, Utc::now()).await,
            Err(ServiceError::InvalidField { field, .. }) if field == "mail"
        ));
    }
);
