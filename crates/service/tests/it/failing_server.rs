//! A DAV server that fails permanently, behind the fault proxy (issue 6): the
//! scheduler (on a hand-driven clock) retries the profile with back-off, then
//! marks it `failing` with a reason that says what to do, while a profile on
//! a healthy server keeps its own schedule (R-SVC-2, R-DAV-7, R-DAV-14,
//! R-SCHED-1, R-SCHED-3). SQLite only: the back-off is the scheduler's and is
//! proven on both backends in scheduling.rs; this is about the connector.

use crate::common;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::*;
use crmsync_service::{Clock as _, ConnectorSpec, ManualClock, ProfileCatalog, ProfileDefinition, RunEvent, RunResult};
use crmsync_testkit::{Fault, FaultPlan, FaultProxy, FaultRates, Peer, PeerKind};
use serde_json::json;

/// A DAV profile of `user` (also the Radicale account) at `url`, with the
/// connector's own retries kept short so the test does not wait.
fn dav_profile(name: &str, user: &crmsync_model::User, url: &str, interval: Duration) -> ProfileDefinition {
    let settings = json!({
        "kind": "dav",
        "url": url,
        "username": user.fields.name,
        "timeout_secs": 5,
        "retry": { "max_retries": 2, "base_delay_ms": 10, "max_delay_ms": 50, "max_retry_after_secs": 1 },
    });
    ProfileDefinition {
        name: name.into(),
        user_id: user.meta.id.clone(),
        connector: ConnectorSpec::from_json(settings).expect("dav settings"),
        mail: None,
        rules: json!({}),
        pull_interval: interval,
        push: true,
        enabled: true,
    }
}

fn failed_transient(e: &RunEvent) -> bool {
    matches!(e.result, RunResult::Failed { transient: true, .. })
}

fn finished(e: &RunEvent) -> bool {
    matches!(e.result, RunResult::Finished { .. })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_svc_2_permanently_failing_dav_server_ends_failing_with_what_to_do_and_others_run() {
    on_sqlite(|store| async move {
        let peer = Peer::start(PeerKind::Radicale);
        let proxy = FaultProxy::start(peer.addr(), FaultPlan::new(FaultRates::always(Fault::Http503), 3))
            .await
            .unwrap();
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let (anna, ben) = (user(&store, "anna").await, user(&store, "ben").await);
        contact(&store, &anna, "Lovelace").await;
        contact(&store, &ben, "Hopper").await;
        let hour = Duration::from_secs(3600);
        save(&store, &dav_profile("down", &anna, &proxy.url(), hour), clock.now()).await;
        save(&store, &dav_profile("up", &ben, &peer.url(), hour), clock.now()).await;
        let scheduler = manual_scheduler(&store, clock.clone()).await;
        let mut rx = scheduler.subscribe();
        let catalog = ProfileCatalog::new(store.clone(), None);

        assert_eq!(scheduler.tick().await.unwrap().started.len(), 2);
        let mut first = next_events(&mut rx, 2).await;
        first.sort_by(|a, b| a.profile.cmp(&b.profile));
        assert!(failed_transient(&first[0]), "{:?}", first[0]);
        assert!(finished(&first[1]), "the healthy profile ran beside it: {:?}", first[1]);
        let up_next = catalog.view("up").await.unwrap().unwrap().next_run_at;

        // R-SVC-2: retried after 60 s, then 120 s; failing from the third failure.
        for (delay_secs, failures, state) in [(60, 2, "ok"), (120, 3, "failing")] {
            let v = catalog.view("down").await.unwrap().unwrap();
            assert_eq!(v.next_run_at, clock.now() + chrono::Duration::seconds(delay_secs));
            clock.advance(chrono::Duration::seconds(delay_secs - 1));
            assert!(
                scheduler.tick().await.unwrap().started.is_empty(),
                "not before the back-off"
            );
            clock.advance(chrono::Duration::seconds(1));
            assert_eq!(
                scheduler.tick().await.unwrap().started,
                ["down"],
                "only the failing profile retries"
            );
            let e = next_events(&mut rx, 1).await.remove(0);
            assert!(failed_transient(&e), "{e:?}");
            let v = catalog.view("down").await.unwrap().unwrap();
            assert_eq!((v.failures, v.state.as_str()), (failures, state));
        }
        let reason = catalog.view("down").await.unwrap().unwrap().state_reason.unwrap();
        assert!(
            reason.contains("503"),
            "the reason names what the server said: {reason}"
        );
        assert!(
            reason.contains("check that it is running"),
            "the reason says what to do: {reason}"
        );
        // Every run really met the outage, each request retried in place first
        // (R-DAV-7: one attempt plus two retries), and none reached the server.
        let injected = proxy.counters().get(Fault::Http503);
        assert!(injected >= 3 * 3, "three runs of three attempts at least: {injected}");
        assert_eq!(proxy.counters().passed_through(), 0);

        // The healthy profile kept its own schedule: at its interval both are
        // due, it on its interval, the failing one on its back-off.
        assert_eq!(catalog.view("up").await.unwrap().unwrap().next_run_at, up_next);
        clock.set(up_next);
        let mut started = scheduler.tick().await.unwrap().started;
        started.sort();
        assert_eq!(started, ["down", "up"]);
        for e in next_events(&mut rx, 2).await {
            match e.profile.as_str() {
                "up" => assert!(finished(&e), "{e:?}"),
                _ => assert!(failed_transient(&e), "{e:?}"),
            }
        }
        assert_eq!(
            store.sync_state().pairs("up", "contacts").await.unwrap().len(),
            1,
            "ben's contact is on the server"
        );

        // The server comes back: the next retry succeeds and clears the state.
        proxy.set_rates(FaultRates::none());
        let v = catalog.view("down").await.unwrap().unwrap();
        assert_eq!(v.state, crmsync_store::ScheduleState::Failing);
        clock.set(v.next_run_at);
        assert_eq!(scheduler.tick().await.unwrap().started, ["down"]);
        let e = next_events(&mut rx, 1).await.remove(0);
        assert!(finished(&e), "{e:?}");
        let v = catalog.view("down").await.unwrap().unwrap();
        assert_eq!((v.failures, v.state.as_str(), v.state_reason), (0, "ok", None));
        assert_eq!(store.sync_state().pairs("down", "contacts").await.unwrap().len(), 1);
    })
    .await;
}
