//! Delta rounds of the test server, shaped after
//! https://learn.microsoft.com/en-us/graph/delta-query-overview and
//! https://learn.microsoft.com/en-us/graph/delta-query-events:
//! a round is pages linked by `@odata.nextLink` (`$skiptoken`), the last
//! carrying `@odata.deltaLink` (`$deltatoken`); deleted items come as
//! `{"id", "@removed": {"reason": "deleted"}}`. State tokens are opaque to the
//! client; here they carry the change sequence they cover, the calendar
//! window and the server's token generation (bumped to expire all tokens).
//!
//! Simplifications, each harmless for a client that follows the docs: event
//! times are read as UTC whatever their `timeZone` when the window is
//! checked, and a series master is shown as one `occurrence` row (Graph shows
//! every occurrence inside the window).

use chrono::NaiveDateTime;
use serde_json::{Map, Value, json};

use super::store::{Folder, Item, Resource};

/// Where a round stands: items changed in `(since, until]`, after `after` in id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Round {
    pub generation: u64,
    pub since: u64,
    pub until: u64,
    pub after: Option<String>,
    /// Calendar window as Unix seconds (calendarView only).
    pub window: Option<(i64, i64)>,
    /// The next page is an injected empty one.
    pub empty_next: bool,
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(T::to_string).unwrap_or_else(|| "-".into())
}

fn parse_opt<T: std::str::FromStr>(s: &str) -> Result<Option<T>, ()> {
    if s == "-" {
        Ok(None)
    } else {
        s.parse().map(Some).map_err(|_| ())
    }
}

impl Round {
    pub(crate) fn skip_token(&self) -> String {
        let (ws, we) = (self.window.map(|w| w.0), self.window.map(|w| w.1));
        format!(
            "s{}.{}.{}.{}.{}.{}.{}",
            self.generation,
            self.since,
            self.until,
            opt(&self.after),
            opt(&ws),
            opt(&we),
            u8::from(self.empty_next)
        )
    }

    /// The `$deltatoken` that starts the next round where this one ended.
    pub(crate) fn delta_token(&self) -> String {
        let (ws, we) = (self.window.map(|w| w.0), self.window.map(|w| w.1));
        format!("d{}.{}.{}.{}", self.generation, self.until, opt(&ws), opt(&we))
    }

    /// Reads a `$skiptoken` or `$deltatoken` (`until` is the current
    /// sequence for a new round); `None` for text this server never issued.
    pub(crate) fn parse(token: &str, current_seq: u64) -> Option<Round> {
        let (kind, rest) = token.split_at_checked(1)?;
        let parts: Vec<&str> = rest.split('.').collect();
        let window = |ws: &str, we: &str| -> Option<Option<(i64, i64)>> {
            Some(match (parse_opt::<i64>(ws).ok()?, parse_opt::<i64>(we).ok()?) {
                (Some(a), Some(b)) => Some((a, b)),
                _ => None,
            })
        };
        match (kind, parts.as_slice()) {
            ("s", [g, since, until, after, ws, we, empty]) => Some(Round {
                generation: g.parse().ok()?,
                since: since.parse().ok()?,
                until: until.parse().ok()?,
                after: parse_opt(after).ok()?,
                window: window(ws, we)?,
                empty_next: *empty == "1",
            }),
            ("d", [g, since, ws, we]) => Some(Round {
                generation: g.parse().ok()?,
                since: since.parse().ok()?,
                until: current_seq,
                after: None,
                window: window(ws, we)?,
                empty_next: false,
            }),
            _ => None,
        }
    }
}

/// One page of a round: its rows and, unless it is the last, where the next starts.
pub(crate) fn page(folder: &Folder, round: &Round, size: usize) -> (Vec<Value>, Option<String>) {
    let initial = round.since == 0;
    let mut rows = Vec::new();
    let mut last = None;
    let candidates = folder
        .items
        .iter()
        .filter(|(id, _)| round.after.as_ref().is_none_or(|a| id.as_str() > a.as_str()))
        .filter(|(_, item)| item.changed_at > round.since && item.changed_at <= round.until);
    for (id, item) in candidates {
        if rows.len() == size {
            return (rows, last);
        }
        last = Some(id.clone());
        let visible = !item.removed && in_window(folder.resource, item, round.window);
        match (visible, initial) {
            (true, _) => rows.push(row(folder.resource, item)),
            // A full listing leaves out what is gone; a delta reports it.
            (false, true) => {}
            (false, false) => rows.push(removed_row(folder.resource, id, item)),
        }
    }
    (rows, None)
}

fn row(resource: Resource, item: &Item) -> Value {
    let series = resource == Resource::Events && item.body.get("type").and_then(Value::as_str) == Some("seriesMaster");
    if !series {
        return Value::Object(item.body.clone());
    }
    let mut occurrence: Map<String, Value> = item.body.clone();
    let master = item.body.get("id").cloned().unwrap_or(Value::Null);
    occurrence.insert(
        "id".into(),
        json!(format!("{}OCC1", master.as_str().unwrap_or_default())),
    );
    occurrence.insert("type".into(), json!("occurrence"));
    occurrence.insert("seriesMasterId".into(), master);
    occurrence.insert("recurrence".into(), Value::Null);
    Value::Object(occurrence)
}

fn removed_row(resource: Resource, id: &str, item: &Item) -> Value {
    let series = resource == Resource::Events && item.body.get("type").and_then(Value::as_str) == Some("seriesMaster");
    let id = if series { format!("{id}OCC1") } else { id.to_string() };
    json!({ "@odata.type": resource.odata_type(), "id": id, "@removed": { "reason": "deleted" } })
}

fn in_window(resource: Resource, item: &Item, window: Option<(i64, i64)>) -> bool {
    let (Resource::Events, Some((from, to))) = (resource, window) else {
        return true;
    };
    let at = |key: &str| {
        item.body
            .get(key)
            .and_then(|t| t.get("dateTime"))
            .and_then(Value::as_str)
            .and_then(parse_graph_time)
    };
    match (at("start"), at("end")) {
        (Some(start), Some(end)) => start < to && end > from,
        // Unreadable times: shown, so nothing hides.
        _ => true,
    }
}

/// `2026-11-21T09:00:00.0000000` (Graph's dateTime) or RFC 3339, as Unix seconds.
pub(crate) fn parse_graph_time(s: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    let trimmed = s.trim_end_matches('Z');
    NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .map(|t| t.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_read_back_what_they_wrote() {
        let round = Round {
            generation: 3,
            since: 5,
            until: 9,
            after: Some("AAMkItem000000000001".into()),
            window: Some((100, 200)),
            empty_next: true,
        };
        assert_eq!(Round::parse(&round.skip_token(), 0), Some(round.clone()));
        let next = Round::parse(&round.delta_token(), 12).unwrap();
        assert_eq!(
            (next.since, next.until, next.window, next.after),
            (9, 12, Some((100, 200)), None)
        );
        assert_eq!(Round::parse("not-a-token", 1), None);
    }

    #[test]
    fn graph_times_parse_with_and_without_fraction() {
        assert_eq!(parse_graph_time("1970-01-01T00:01:00.0000000"), Some(60));
        assert_eq!(parse_graph_time("1970-01-01T00:01:00Z"), Some(60));
    }
}
