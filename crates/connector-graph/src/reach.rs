//! Where a Graph connector may connect (R-SEC-1). A non-admin user chooses
//! `base_url` and `authority`; a profile of theirs must not reach the
//! machine itself or the private network. Every URL (token endpoint, API
//! calls, `@odata.nextLink`/`deltaLink` the server hands out) is checked
//! before its request, and the HTTP client's resolver hands out only
//! allowed addresses, so a name re-resolving inside gets nowhere. The
//! client follows no redirects at all.

use std::error::Error;
use std::sync::Arc;

use crmsync_connector::Reach;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::GraphError;

/// A client builder limited to `reach`: its resolver filters, and it uses
/// no proxy (a proxy would resolve names where the filter cannot see).
pub(crate) fn limit(builder: reqwest::ClientBuilder, reach: &Reach) -> reqwest::ClientBuilder {
    if *reach == Reach::Any {
        return builder;
    }
    builder
        .dns_resolver(Arc::new(ReachResolver { reach: reach.clone() }))
        .no_proxy()
}

/// Refuses `url` when its host is not one `reach` allows.
pub(crate) async fn check(reach: &Reach, url: &str) -> Result<(), GraphError> {
    if *reach == Reach::Any {
        return Ok(());
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| GraphError::InvalidResponse(format!("{url}: {e}")))?;
    let Some(host) = parsed.host_str() else {
        return Err(GraphError::Reach(crmsync_connector::ConnectorError::NotAllowed {
            detail: format!("{url} names no host"),
        }));
    };
    let port = parsed.port_or_known_default().unwrap_or(443);
    reach.resolve(host, port).await.map_err(GraphError::Reach)?;
    Ok(())
}

struct ReachResolver {
    reach: Reach,
}

impl Resolve for ReachResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let reach = self.reach.clone();
        Box::pin(async move {
            let allowed = reach
                .resolve(name.as_str(), 0)
                .await
                .map_err(|e| Box::new(e) as Box<dyn Error + Send + Sync>)?;
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}
