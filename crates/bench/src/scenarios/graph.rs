//! CRM → the in-process Graph test server (issue #15 item 7): the first sync
//! of N contacts and M meetings against a raw client POSTing the same JSON
//! bodies at the same concurrency into a fresh test server (R-BENCH-1 as for
//! DAV), then a no-change sync, whose requests to Graph are counted: one
//! delta request per synced resource is the target.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crmsync_engine::EntityClass;
use crmsync_graph::{GraphConfig, GraphConnector};
use crmsync_sync::{RunOptions, run_profile, write_concurrency_for};
use crmsync_testkit::{GraphResource, GraphServer};

use crate::counting::CountingConnector;
use crate::edits::{applied, writes};
use crate::error::BenchError;
use crate::raw_graph::{RawGraph, posted_body};
use crate::report::{Report, Standing, ratio, secs};
use crate::world::Template;

const SECTION: &str = "graph";
/// The folders the runner creates (`crmsync_sync::collection_name`).
const CONTACTS: &str = "contacts";
const CALENDAR: &str = "calendar";

fn config(graph: &GraphServer) -> GraphConfig {
    GraphConfig {
        base_url: graph.base_url(),
        authority: graph.authority(),
        ..GraphConfig::new(
            GraphServer::TENANT,
            GraphServer::MAILBOX,
            GraphServer::CLIENT_ID,
            GraphServer::CLIENT_SECRET,
        )
    }
}

fn start_error(e: std::io::Error) -> BenchError {
    BenchError::Peer {
        tool: "graph test server".into(),
        message: e.to_string(),
    }
}

pub async fn run(template: &Template, report: &mut Report) -> Result<(), BenchError> {
    let (contacts, events) = (template.contacts, template.meetings);
    let graph = GraphServer::start().await.map_err(start_error)?;
    let connector = GraphConnector::new(config(&graph)).map_err(|e| BenchError::Unexpected(e.to_string()))?;
    let concurrency = connector.concurrency();
    let writes_in_flight = connector.writes_in_flight();
    let counting = CountingConnector::new(Arc::new(connector));
    let world = template.world().await?;
    let mut profile = world.profile(
        Arc::new(counting.clone()),
        &[EntityClass::Contacts, EntityClass::Events],
    );
    // As the service sets it for a Graph profile (R-GRAPH-17: enough writes to fill the batches).
    profile.write_concurrency = write_concurrency_for(Some(writes_in_flight));

    let started = Instant::now();
    let first_run = run_profile(&world.store, &profile, &RunOptions::default()).await?;
    let first = started.elapsed();
    let created = applied(&first_run, "groupware create");
    if created != contacts + events {
        return Err(BenchError::Unexpected(format!(
            "graph: first sync created {created} of {contacts} contacts + {events} events"
        )));
    }
    let first_http = graph.stats().http_requests;
    let first_log = graph.stats().log;
    let kind = |f: &dyn Fn(&String) -> bool| first_log.iter().filter(|l| f(l)).count();
    let breakdown = format!(
        "{} UID lookups, {} delta pages, {} other GETs",
        kind(&|l| l.starts_with("GET ") && l.contains("Any")),
        kind(&|l| l.starts_with("GET ") && l.contains("/delta")),
        kind(&|l| l.starts_with("GET ") && !l.contains("Any") && !l.contains("/delta")),
    );
    let first_batches = graph.stats().batches;

    let (raw, raw_posts, raw_http) = raw_first_sync(&graph, concurrency).await?;
    let r = ratio(first, raw);
    report.add(
        SECTION,
        format!("first sync {contacts} contacts + {events} events: crmsync / raw POSTs x{concurrency}"),
        format!("{r:.2}x ({} vs {})", secs(first), secs(raw)),
        "<= 1.05x raw",
        Standing::of(r <= 1.05),
    );
    report.add(
        SECTION,
        format!("first sync {contacts} contacts + {events} events: HTTP requests to Graph, crmsync / raw"),
        format!("{first_http} / {raw_http}"),
        "informational",
        Standing::Info,
    );
    report.note(format!(
        "graph first sync: crmsync sent {first_http} HTTP requests ({first_batches} `$batch` of at most 20 creates, \
         R-GRAPH-17; besides: {breakdown}) for {created} creates; the raw client {raw_http} ({raw_posts} POSTs)"
    ));

    // No change on either side: one delta round per folder, nothing written.
    counting.reset();
    let before = graph.stats().log.len();
    let again = run_profile(&world.store, &profile, &RunOptions::default()).await?;
    if writes(&again) != 0 {
        return Err(BenchError::Unexpected("graph: a no-change sync wrote".into()));
    }
    let log = graph.stats().log;
    let requests = &log[before..];
    let deltas = requests.iter().filter(|r| r.contains("/delta")).count();
    let resources = profile.classes.len();
    report.add(
        SECTION,
        format!("no-change sync of {contacts} + {events} ({resources} resources): requests to Graph"),
        format!("{} ({deltas} delta)", requests.len()),
        "1 delta request per resource",
        Standing::of(requests.len() == resources && deltas == resources),
    );
    report.note(format!(
        "graph no-change requests: {}",
        requests.iter().take(10).cloned().collect::<Vec<_>>().join("; ")
    ));
    Ok(())
}

/// The baseline: the bodies crmsync created, POSTed by a raw client into
/// the same folders of a fresh test server at crmsync's concurrency.
/// Returns the time taken, the number of POSTs and of HTTP requests the server saw.
async fn raw_first_sync(graph: &GraphServer, concurrency: usize) -> Result<(Duration, usize, u64), BenchError> {
    let raw_server = GraphServer::start().await.map_err(start_error)?;
    let base = format!("{}/users/{}", raw_server.base_url(), GraphServer::MAILBOX);
    let mut work = Vec::new();
    for (resource, name, path) in [
        (GraphResource::Contacts, CONTACTS, "contactFolders"),
        (GraphResource::Events, CALENDAR, "calendars"),
    ] {
        let folder = graph
            .folder_id(resource, name)
            .ok_or_else(|| BenchError::Unexpected(format!("graph: crmsync made no `{name}` folder")))?;
        let bodies: Vec<Vec<u8>> = graph.items(&folder).iter().map(posted_body).collect();
        let raw_folder = raw_server.create_folder(resource, name);
        let items = if resource == GraphResource::Contacts {
            "contacts"
        } else {
            "events"
        };
        work.push((format!("{base}/{path}/{raw_folder}/{items}"), Arc::new(bodies)));
    }
    let raw = Arc::new(RawGraph::sign_in(&raw_server).await?);
    let posts = work.iter().map(|(_, b)| b.len()).sum();
    let started = Instant::now();
    for (url, bodies) in work {
        raw.clone().post_all(url, bodies, concurrency).await?;
    }
    let took = started.elapsed();
    Ok((took, posts, raw_server.stats().http_requests))
}
