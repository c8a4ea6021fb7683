//! R-GRAPH-20: a series' exceptions and cancelled occurrences, which Graph
//! keeps on instances, not on the master
//! (https://learn.microsoft.com/en-us/graph/api/resources/event,
//! https://learn.microsoft.com/en-us/graph/api/event-list-instances).
//!
//! Reading: a series master is fetched a second time with
//! `$select=cancelledOccurrences,exceptionOccurrences&$expand=exceptionOccurrences`
//! (both are returned only when asked for) and the two lists are added to
//! its body for the mapping.
//!
//! Writing: the mapping puts the wanted lists in the master's body under
//! the same names; both are read-only on the master, so they are taken out
//! before the master is written and applied after it to the instances,
//! each named by its original date (`occurrenceId`): an exception is a PATCH
//! of its instance, a cancelled occurrence a DELETE. Every step looks at
//! what Graph already has first, so a re-run after a crash does nothing
//! twice.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate};
use crmsync_connector::Etag;
use crmsync_mapping::graph::occurrences::{CANCELLED, EXCEPTIONS, occurrence_date};
use reqwest::Method;
use serde_json::Value;

use crate::GraphError;
use crate::http::{Call, GraphHttp};

/// The exceptions and cancelled occurrences a write wants.
#[derive(Debug, Default)]
pub(crate) struct Wanted {
    exceptions: BTreeMap<NaiveDate, Value>,
    cancelled: BTreeSet<NaiveDate>,
}

impl Wanted {
    /// No exception and no cancellation: what a series Graph just created
    /// already is, so a create needs no second look (R-GRAPH-20).
    pub(crate) fn is_plain(&self) -> bool {
        self.exceptions.is_empty() && self.cancelled.is_empty()
    }
}

fn dates_of(list: &Value) -> BTreeSet<NaiveDate> {
    list.as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|id| id.as_str().and_then(occurrence_date))
        .collect()
}

fn exceptions_of(list: &Value) -> BTreeMap<NaiveDate, Value> {
    list.as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| Some((e["occurrenceId"].as_str().and_then(occurrence_date)?, e.clone())))
        .collect()
}

/// Takes the wanted occurrences out of a master's body; `None` when the
/// body names none (not a series, or a PATCH that leaves them as they are).
pub(crate) fn take(item: &mut Value) -> Option<Wanted> {
    let obj = item.as_object_mut()?;
    let exceptions = obj.remove(EXCEPTIONS);
    let cancelled = obj.remove(CANCELLED);
    if exceptions.is_none() && cancelled.is_none() {
        return None;
    }
    let mut exceptions = exceptions.map(|e| exceptions_of(&e)).unwrap_or_default();
    for body in exceptions.values_mut() {
        if let Some(o) = body.as_object_mut() {
            o.remove("occurrenceId");
        }
    }
    Some(Wanted {
        exceptions,
        cancelled: cancelled.map(|c| dates_of(&c)).unwrap_or_default(),
    })
}

/// Adds `cancelledOccurrences` and `exceptionOccurrences` to a series
/// master's `body` read from `item_url`; other items are returned as they are.
pub(crate) async fn with_occurrences(http: &GraphHttp, item_url: &str, body: Vec<u8>) -> Result<Vec<u8>, GraphError> {
    let Ok(Value::Object(mut item)) = serde_json::from_slice::<Value>(&body) else {
        return Ok(body);
    };
    if item.get("type").and_then(Value::as_str) != Some("seriesMaster") {
        return Ok(body);
    }
    let current = occurrences(http, item_url).await?;
    for key in [CANCELLED, EXCEPTIONS] {
        item.insert(key.into(), current[key].clone());
    }
    Ok(Value::Object(item).to_string().into_bytes())
}

async fn occurrences(http: &GraphHttp, item_url: &str) -> Result<Value, GraphError> {
    let url = format!("{item_url}?$select={CANCELLED},{EXCEPTIONS}&$expand={EXCEPTIONS}");
    http.json(&Call::get(&url)).await
}

/// The instances of the series at `item_url` originally dated within
/// `[from, to]`, by date (id and `@odata.etag`), following
/// `@odata.nextLink`. The window is a day wider on each side: its bounds are
/// UTC, the dates the series' own zone.
async fn instances(
    http: &GraphHttp,
    item_url: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<BTreeMap<NaiveDate, Instance>, GraphError> {
    let day = |d: NaiveDate| d.format("%Y-%m-%dT00:00:00Z").to_string();
    let mut url = format!(
        "{item_url}/instances?startDateTime={}&endDateTime={}&$select=id,occurrenceId",
        day(from - Duration::days(1)),
        day(to + Duration::days(2))
    );
    let mut out = BTreeMap::new();
    // Bounded like a delta round: a server that keeps handing out next
    // links must not hold the run for ever.
    for _ in 0..MAX_INSTANCE_PAGES {
        let page = http.json(&Call::get(&url)).await?;
        for row in page["value"].as_array().map(Vec::as_slice).unwrap_or_default() {
            if let (Some(date), Some(id)) = (
                row["occurrenceId"].as_str().and_then(occurrence_date),
                row["id"].as_str(),
            ) {
                let etag = row["@odata.etag"].as_str().map(Etag::new);
                out.insert(
                    date,
                    Instance {
                        id: id.to_string(),
                        etag,
                    },
                );
            }
        }
        match page["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_string(),
            None => return Ok(out),
        }
    }
    Err(GraphError::InvalidResponse(format!(
        "the instances of a series run over more than {MAX_INSTANCE_PAGES} pages"
    )))
}

/// One instance as listed: its id, and the etag its write is conditional
/// on (R-GRAPH-40).
struct Instance {
    id: String,
    etag: Option<Etag>,
}

/// Pages of one series' instances read at most (a series spans the
/// calendar window; Graph pages them 10 or more at a time).
const MAX_INSTANCE_PAGES: usize = 10_000;

fn missing(date: NaiveDate, what: &str) -> GraphError {
    GraphError::Occurrence(format!(
        "the occurrence of {date} {what}; Graph cannot hold it (exceptions and cancellations apply to existing occurrences only)"
    ))
}

/// Brings the instances of the series at `item_url` (in folder
/// `items_url`) to `wanted`. Graph cannot bring back a cancelled
/// occurrence: wanting one is an error, as is an exception on a date the
/// series does not have.
pub(crate) async fn apply(
    http: &GraphHttp,
    items_url: &str,
    item_url: &str,
    wanted: &Wanted,
) -> Result<(), GraphError> {
    let current = occurrences(http, item_url).await?;
    let (have_exceptions, have_cancelled) = (exceptions_of(&current[EXCEPTIONS]), dates_of(&current[CANCELLED]));
    if let Some(date) = wanted.exceptions.keys().find(|d| have_cancelled.contains(d)) {
        return Err(missing(*date, "was cancelled in Outlook"));
    }
    let patches: Vec<(&NaiveDate, &Value)> = wanted
        .exceptions
        .iter()
        .filter(|(d, body)| have_exceptions.get(d).is_none_or(|have| !same(body, have)))
        .collect();
    let deletions: Vec<&NaiveDate> = wanted.cancelled.difference(&have_cancelled).collect();
    if patches.is_empty() && deletions.is_empty() {
        return Ok(());
    }
    // Each write is conditional on the instance's etag, listed just before
    // it: an instance Outlook changed since is not overwritten; its 412
    // makes the caller re-plan the series (R-GRAPH-40, R-SAFE-2). Listed
    // per write, not once for all: Exchange keeps exceptions on the series
    // master, so writing one instance can change its siblings' change keys,
    // and an etag listed before the first write would then fail the second
    // with a 412 no one caused.
    for (date, body) in patches {
        let ids = instances(http, item_url, *date, *date).await?;
        let instance = ids.get(date).ok_or_else(|| missing(*date, "is not in the series"))?;
        let url = format!("{items_url}/{}", crate::folder::segment(&instance.id));
        let text = body.to_string();
        http.json(&Call {
            method: Method::PATCH,
            url: &url,
            if_match: instance.etag.as_ref(),
            body: Some(text.as_bytes()),
        })
        .await?;
    }
    for date in deletions {
        let ids = instances(http, item_url, *date, *date).await?;
        // Not listed: not an occurrence (any more); nothing to cancel.
        let Some(instance) = ids.get(date) else { continue };
        let url = format!("{items_url}/{}", crate::folder::segment(&instance.id));
        match http
            .send(&Call {
                method: Method::DELETE,
                url: &url,
                if_match: instance.etag.as_ref(),
                body: None,
            })
            .await
        {
            Ok(_) => {}
            Err(e) if e.status() == Some(404) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Whether the exception Graph has already shows every wanted value.
fn same(wanted: &Value, have: &Value) -> bool {
    wanted.as_object().is_some_and(|w| {
        w.iter()
            .all(|(k, v)| k == "occurrenceId" || values_match(k, v, &have[k]))
    })
}

fn values_match(key: &str, wanted: &Value, have: &Value) -> bool {
    match key {
        // Graph writes `.0000000` fractions and may name the zone otherwise.
        "start" | "end" => {
            let trim = |v: &Value| {
                v["dateTime"]
                    .as_str()
                    .map(|s| s.split('.').next().unwrap_or(s).to_string())
            };
            trim(wanted) == trim(have) && wanted["timeZone"] == have["timeZone"]
        }
        "body" => wanted["content"] == have["content"],
        _ => wanted == have,
    }
}
