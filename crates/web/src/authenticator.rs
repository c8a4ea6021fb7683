//! Who may sign in to the dashboard (R-WEB-15): the sign-in form hands what
//! the user typed to an [`Authenticator`], which proves a user and opens
//! their session, or says no. The one implementation is
//! [`TokenAuthenticator`], the API token (R-WEB-1); single sign-on later is
//! another implementation handed to the server, with no change to the pages.

use chrono::{DateTime, Utc};
use crmsync_store::{NewWebSession, Store, StoreError};
use futures_util::future::BoxFuture;

/// What the sign-in form asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prompt {
    /// The label of the one field.
    pub label: &'static str,
    /// A line under it that says where to get it.
    pub hint: &'static str,
}

/// Proves who signs in and opens their session.
pub trait Authenticator: Send + Sync + std::fmt::Debug {
    /// What the sign-in form asks for.
    fn prompt(&self) -> Prompt;

    /// Checks `credential` (the form's field, as typed) and, when it proves
    /// an active user, opens a session for them lasting until `expires_at`.
    /// `None`: it proves nobody, and nothing is opened.
    fn open_session<'a>(
        &'a self,
        store: &'a Store,
        credential: &'a str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Option<NewWebSession>, StoreError>>;
}

/// Sign-in with the API token, checked exactly as the API checks a bearer
/// token; the session ends when the token is rotated (R-WEB-1).
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenAuthenticator;

impl Authenticator for TokenAuthenticator {
    fn prompt(&self) -> Prompt {
        Prompt {
            label: "Your API token",
            hint: "It starts with crm_; an administrator gives it to you (crmsync users).",
        }
    }

    fn open_session<'a>(
        &'a self,
        store: &'a Store,
        credential: &'a str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Option<NewWebSession>, StoreError>> {
        Box::pin(async move {
            store
                .records()
                .open_web_session(credential.trim(), now, expires_at)
                .await
        })
    }
}
