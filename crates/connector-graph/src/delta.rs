//! One delta round (https://learn.microsoft.com/en-us/graph/delta-query-overview):
//! follow `@odata.nextLink` (pages may be empty) until `@odata.deltaLink`,
//! whose URL is the sync token. Rows of one round may repeat an item; the
//! last row wins. `@removed` rows are deletions, except in a full listing,
//! where they say nothing about items the caller has.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::GraphError;
use crate::http::{Call, GraphHttp};

/// What one round saw, by item id.
#[derive(Debug, Default)]
pub(crate) struct DeltaRound {
    /// id → etag of the last row showing the item.
    pub changed: BTreeMap<String, String>,
    pub removed: Vec<String>,
    /// Ids that came as occurrences of a series (`seriesMasterId`): their
    /// etag above is the occurrence's, not the master's.
    pub series: Vec<String>,
    pub delta_link: String,
}

/// Guards against a server that links pages in a circle.
const MAX_PAGES: usize = 100_000;

pub(crate) async fn run(http: &GraphHttp, first: &str) -> Result<DeltaRound, GraphError> {
    let mut round = DeltaRound::default();
    let mut url = first.to_string();
    for _ in 0..MAX_PAGES {
        let page = http.json(&Call::get(&url)).await?;
        for row in page["value"].as_array().map(Vec::as_slice).unwrap_or_default() {
            read_row(&mut round, row)?;
        }
        if let Some(next) = page["@odata.nextLink"].as_str() {
            url = next.to_string();
        } else if let Some(delta) = page["@odata.deltaLink"].as_str() {
            round.delta_link = delta.to_string();
            round.removed.retain(|id| !round.changed.contains_key(id));
            return Ok(round);
        } else {
            return Err(GraphError::InvalidResponse(format!(
                "a delta page without @odata.nextLink or @odata.deltaLink ({url})"
            )));
        }
    }
    Err(GraphError::InvalidResponse(format!(
        "a delta round of more than {MAX_PAGES} pages"
    )))
}

fn read_row(round: &mut DeltaRound, row: &Value) -> Result<(), GraphError> {
    let id = row["id"]
        .as_str()
        .ok_or_else(|| GraphError::InvalidResponse("a delta row without id".into()))?;
    if row.get("@removed").is_some() {
        round.changed.remove(id);
        round.removed.push(id.to_string());
        return Ok(());
    }
    // An occurrence or exception of a series: crmsync syncs the series master.
    let (id, series) = match row["seriesMasterId"].as_str() {
        Some(master) => (master, true),
        None => (id, false),
    };
    let etag = row["@odata.etag"].as_str().unwrap_or_default();
    round.changed.insert(id.to_string(), etag.to_string());
    round.removed.retain(|r| r != id);
    if series && !round.series.iter().any(|s| s == id) {
        round.series.push(id.to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_last_row_of_an_item_wins_and_occurrences_name_their_series() {
        let mut round = DeltaRound::default();
        for row in [
            json!({"id": "a", "@odata.etag": "1"}),
            json!({"id": "b", "@odata.etag": "1"}),
            json!({"id": "a", "@odata.etag": "2"}),
            json!({"id": "b", "@removed": {"reason": "deleted"}}),
            json!({"id": "occ", "seriesMasterId": "m", "@odata.etag": "9", "type": "occurrence"}),
        ] {
            read_row(&mut round, &row).unwrap();
        }
        assert_eq!(round.changed.get("a").map(String::as_str), Some("2"));
        assert_eq!(round.removed, vec!["b".to_string()]);
        assert_eq!(round.series, vec!["m".to_string()]);
        assert!(read_row(&mut round, &json!({"@odata.etag": "x"})).is_err());
    }
}
