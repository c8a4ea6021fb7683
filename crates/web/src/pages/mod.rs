//! One module per page; `layout` is the frame they share.

pub mod actions;
pub mod chart;
pub mod conflicts;
pub mod connection;
pub mod duplicates;
pub mod emails;
pub mod home;
pub mod layout;
pub mod live;
pub mod metrics;
pub mod profile_input;
pub mod profiles;
pub mod quarantine;
pub mod record;
pub mod removed;
pub mod runs;
pub mod sign_in;
pub mod workers;

use crmsync_ops::{ProfileInfo, ProfileOverview, ProfileSource, profiles_overview};

use crate::WebState;
use crate::error::WebError;
use crate::session::SignedIn;

/// The profile source, or none at all (a server without profiles).
fn source(state: &WebState) -> Option<&ProfileSource> {
    state.profiles.as_ref()
}

fn directory_error(e: crmsync_ops::ProfileError) -> WebError {
    WebError::Failed {
        transient: e.is_transient(),
        message: e.to_string(),
    }
}

/// The profiles the signed-in user may see (R-OPS-2: admin all, user own).
pub async fn visible(state: &WebState, who: &SignedIn) -> Result<Vec<ProfileInfo>, WebError> {
    let Some(source) = source(state) else {
        return Ok(Vec::new());
    };
    let actor = who.actor();
    Ok(source
        .profiles()
        .await
        .map_err(directory_error)?
        .into_iter()
        .filter(|p| p.visible_to(&actor))
        .collect())
}

/// The visible profiles for which `count` of their overview is not zero,
/// by name: a list page reads the details of those only, so it costs one
/// query plus one per profile that has something to show.
pub async fn with_any(
    state: &WebState,
    who: &SignedIn,
    count: impl Fn(&ProfileOverview) -> u64,
) -> Result<Vec<String>, WebError> {
    let profiles = visible(state, who).await?;
    Ok(profiles_overview(&state.store.sync_state(), &profiles)
        .await?
        .into_iter()
        .filter(|o| count(o) > 0)
        .map(|o| o.profile)
        .collect())
}

/// No id or name crmsync issues holds a control character (NUL, newline):
/// such text is "not found" before it reaches the store, which on
/// PostgreSQL could not even compare it (as the API does, R-API-14).
pub fn issued_text(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

/// The named profile when the user may see it; another user's is "not found".
pub async fn visible_profile(state: &WebState, who: &SignedIn, name: &str) -> Result<ProfileInfo, WebError> {
    if !issued_text(name) {
        return Err(WebError::NotFound("sync profile"));
    }
    let source = source(state).ok_or(WebError::NotFound("sync profile"))?;
    source
        .profile(name)
        .await
        .map_err(directory_error)?
        .filter(|p| p.visible_to(&who.actor()))
        .ok_or(WebError::NotFound("sync profile"))
}

/// The profile ready to run (its connector opened).
pub async fn ready(state: &WebState, info: &ProfileInfo) -> Result<crmsync_sync::SyncProfile, WebError> {
    let source = source(state).ok_or(WebError::NotFound("sync profile"))?;
    source.sync_profile(&info.name).await.map_err(directory_error)
}

/// The page a list's `page` query names (1-based; absent: the first); one
/// out of range or not a number is 400.
pub fn page_number(asked: Option<&str>, pages: usize) -> Result<usize, WebError> {
    match asked {
        None | Some("") => Ok(1),
        Some(p) => match p.parse::<usize>() {
            Ok(n) if (1..=pages).contains(&n) => Ok(n),
            _ => Err(WebError::BadForm(format!(
                "page: `{p}` is not a page from 1 to {pages}"
            ))),
        },
    }
}

/// The page a list of `total` items, `size` per page, shows for the
/// `page` query, and how many pages there are (at least one).
pub fn page_of(asked: Option<&str>, total: usize, size: usize) -> Result<(usize, usize), WebError> {
    let pages = total.div_ceil(size).max(1);
    Ok((page_number(asked, pages)?, pages))
}
