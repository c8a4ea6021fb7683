//! R-GRAPH-20: a series' exceptions and cancelled occurrences go to and come
//! from Graph's instances (https://learn.microsoft.com/en-us/graph/api/resources/event,
//! https://learn.microsoft.com/en-us/graph/api/event-list-instances).

use chrono::NaiveDate;
use crmsync_connector::{CollectionId, CollectionKind, Connector, ConnectorError, Etag, Href, ItemMeta};
use crmsync_graph::GraphConnector;
use crmsync_testkit::GraphServer;
use serde_json::{Value, json};

use crate::common;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A daily series of five in UTC with the wanted occurrence lists, as the
/// mapping writes them (occurrences named by `OID.{master}.{date}`; the
/// master id is not known before the create).
fn series_body(exceptions: Value, cancelled: Value) -> Value {
    json!({
        "subject": "Daily sync",
        "start": {"dateTime": "2026-10-05T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-10-05T09:30:00", "timeZone": "UTC"},
        "recurrence": {
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": "2026-10-05", "numberOfOccurrences": 5, "recurrenceTimeZone": "UTC"}
        },
        "exceptionOccurrences": exceptions,
        "cancelledOccurrences": cancelled,
    })
}

fn moved(date: &str, subject: &str) -> Value {
    json!({
        "occurrenceId": format!("OID..{date}"),
        "subject": subject,
        "start": {"dateTime": format!("{date}T11:00:00"), "timeZone": "UTC"},
        "end": {"dateTime": format!("{date}T11:30:00"), "timeZone": "UTC"},
    })
}

async fn setup(server: &GraphServer) -> (GraphConnector, CollectionId, String) {
    let (graph, _clock) = common::connector(server);
    let coll = graph
        .ensure_collection(CollectionKind::Events, "calendar")
        .await
        .unwrap()
        .id;
    let folder = coll.as_str().trim_start_matches("events:").to_string();
    (graph, coll, folder)
}

async fn body_of(graph: &GraphConnector, coll: &CollectionId, href: &Href) -> Value {
    let fetched = graph.get_many(coll, std::slice::from_ref(href)).await.unwrap();
    serde_json::from_slice(&fetched.found[0].body).unwrap()
}

// A create writes the master, then the exception and the cancellation to the
// instances; a fetch shows both lists; the same body again writes no instance.
#[tokio::test]
async fn r_graph_20_a_created_series_gets_its_exceptions_and_cancellations() {
    let server = GraphServer::start().await.unwrap();
    let (graph, coll, folder) = setup(&server).await;
    let body = series_body(json!([moved("2026-10-07", "Moved")]), json!(["OID..2026-10-08"]));
    let ItemMeta { href, etag } = graph.create(&coll, "uid-1", body.to_string().as_bytes()).await.unwrap();
    let id = href.as_str();
    let stored = server.series(&folder, id).unwrap();
    assert_eq!(stored["cancelledOccurrences"], json!([format!("OID.{id}.2026-10-08")]));
    assert_eq!(stored["exceptionOccurrences"][0]["subject"], "Moved");
    assert_eq!(stored["exceptionOccurrences"][0]["type"], "exception");
    assert_eq!(
        stored["@odata.etag"].as_str(),
        Some(etag.as_str()),
        "the etag after the instances"
    );
    let listed: Vec<String> = server
        .instances(&folder, id, day("2026-10-01"), day("2026-10-31"))
        .iter()
        .map(|i| i["occurrenceId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed.len(), 4, "five less the cancelled one: {listed:?}");

    let fetched = body_of(&graph, &coll, &href).await;
    assert_eq!(fetched["cancelledOccurrences"], stored["cancelledOccurrences"]);
    assert_eq!(
        fetched["exceptionOccurrences"][0]["occurrenceId"],
        format!("OID.{id}.2026-10-07")
    );

    // The same wish again (a re-run after a lost reply): the master only.
    let before = server.stats().log.len();
    graph
        .update(&coll, &href, &etag, body.to_string().as_bytes())
        .await
        .unwrap();
    let writes: Vec<String> = server.stats().log[before..]
        .iter()
        .filter(|l| !l.starts_with("GET"))
        .cloned()
        .collect();
    assert_eq!(writes.len(), 1, "only the master's PATCH: {writes:?}");
}

// An exception edited again is PATCHed; one more occurrence cancelled is DELETEd.
#[tokio::test]
async fn r_graph_20_an_update_changes_and_cancels_instances() {
    let server = GraphServer::start().await.unwrap();
    let (graph, coll, folder) = setup(&server).await;
    let body = series_body(json!([moved("2026-10-07", "Moved")]), json!([]));
    let created = graph.create(&coll, "uid-2", body.to_string().as_bytes()).await.unwrap();
    let patch = json!({
        "exceptionOccurrences": [moved("2026-10-07", "Moved again")],
        "cancelledOccurrences": ["OID..2026-10-09"],
    });
    let etag = graph
        .update(&coll, &created.href, &created.etag, patch.to_string().as_bytes())
        .await
        .unwrap();
    let stored = server.series(&folder, created.href.as_str()).unwrap();
    assert_eq!(stored["exceptionOccurrences"][0]["subject"], "Moved again");
    assert_eq!(
        stored["cancelledOccurrences"],
        json!([format!("OID.{}.2026-10-09", created.href)])
    );
    assert_eq!(stored["@odata.etag"].as_str(), Some(etag.as_str()));
    assert!(stored.get("subject").is_some(), "the master kept its properties");
}

// Graph cannot restore an occurrence cancelled in Outlook, nor hold an
// exception on a day the series does not have: the write fails with a
// message naming the day, and nothing else is touched.
#[tokio::test]
async fn r_graph_20_occurrences_graph_cannot_hold_are_refused() {
    let server = GraphServer::start().await.unwrap();
    let (graph, coll, folder) = setup(&server).await;
    let created = graph
        .create(&coll, "uid-3", series_body(json!([]), json!([])).to_string().as_bytes())
        .await
        .unwrap();
    let id = created.href.as_str();
    // Outlook cancels the 6th.
    let sixth = server.instances(&folder, id, day("2026-10-06"), day("2026-10-06"));
    server.user_delete(&folder, sixth[0]["id"].as_str().unwrap());

    for (name, date) in [
        ("cancelled in Outlook", "2026-10-06"),
        ("not in the series", "2026-11-20"),
    ] {
        let etag = Etag::new(server.item(&folder, id).unwrap()["@odata.etag"].as_str().unwrap());
        let patch = json!({"exceptionOccurrences": [moved(date, "Back")]});
        let err = graph
            .update(&coll, &created.href, &etag, patch.to_string().as_bytes())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ConnectorError::Unsupported { what } if what.contains(date)),
            "{name}: {err:?}"
        );
    }
    let stored = server.series(&folder, id).unwrap();
    assert_eq!(stored["exceptionOccurrences"], json!([]));
    assert_eq!(stored["cancelledOccurrences"], json!([format!("OID.{id}.2026-10-06")]));
}

// R-GRAPH-40, R-SAFE-2: each instance write is conditional on the etag the
// instances listing gave. Outlook renames the listed instances just after
// the listing: the PATCH of the exception meets 412, nothing of Outlook's is
// overwritten and no occurrence is cancelled; the update fails as the
// series' conflict, and once re-read the same update goes through.
#[tokio::test]
async fn r_graph_40_a_stale_instance_etag_is_a_conflict_and_overwrites_nothing() {
    let server = GraphServer::start().await.unwrap();
    let (graph, coll, folder) = setup(&server).await;
    let body = series_body(json!([moved("2026-10-07", "Moved")]), json!([]));
    let created = graph
        .create(&coll, "uid-40", body.to_string().as_bytes())
        .await
        .unwrap();
    let patch = json!({
        "exceptionOccurrences": [moved("2026-10-07", "Moved again")],
        "cancelledOccurrences": ["OID..2026-10-09"],
    });
    let outlook = json!({"subject": "Renamed in Outlook"});
    server
        .switches()
        .edit_instances_after_next_listing(outlook.as_object().unwrap().clone());
    let raced = graph
        .update(&coll, &created.href, &created.etag, patch.to_string().as_bytes())
        .await;
    assert!(
        matches!(&raced, Err(ConnectorError::PreconditionFailed { href }) if *href == created.href),
        "{raced:?}"
    );
    assert_eq!(server.stats().precondition_failed, 1);
    let stored = server.series(&folder, created.href.as_str()).unwrap();
    let subjects: Vec<&Value> = stored["exceptionOccurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["subject"])
        .collect();
    assert!(subjects.iter().all(|s| **s == "Renamed in Outlook"), "{subjects:?}");
    assert_eq!(stored["cancelledOccurrences"], json!([]), "nothing cancelled");

    // Re-planned on what Graph has now: the same wanted lists go through.
    let fresh = Etag::new(stored["@odata.etag"].as_str().unwrap());
    graph
        .update(&coll, &created.href, &fresh, patch.to_string().as_bytes())
        .await
        .unwrap();
    let stored = server.series(&folder, created.href.as_str()).unwrap();
    let moved_again = stored["exceptionOccurrences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["occurrenceId"] == format!("OID.{}.2026-10-07", created.href))
        .unwrap();
    assert_eq!(moved_again["subject"], "Moved again");
    assert_eq!(
        stored["cancelledOccurrences"],
        json!([format!("OID.{}.2026-10-09", created.href)])
    );
}
