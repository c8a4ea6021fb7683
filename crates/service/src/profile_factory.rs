//! The one profile factory: a profile definition and its CRM user → a
//! runnable [`SyncProfile`]. `crmsync sync`, the API's runs and the scheduler
//! all build profiles here, so the rights limitation (R-PERM-1: a profile
//! never does more than its CRM user may) holds on every path.

use std::sync::Arc;

use crmsync_connector::memory::MemoryConnector;
use crmsync_connector::{Connector, OpenOptions, Reach, VaultHandle};
use crmsync_engine::EntityClass;
use crmsync_model::{Actor, User};
use crmsync_sync::{MailProfile, SyncProfile};

use crate::definition::ProfileDefinition;
use crate::error::ServiceError;
use crate::factory::{ConnectorFactory, open_error};

/// Narrows the rules to the user's rights as of now and refuses a direction
/// the user may not write (R-PERM-1), then opens the connector, limited to
/// `reach` (R-SEC-1), with `vault` for a delegated sign-in (R-GRAPH-32).
pub fn build_sync_profile(
    def: &ProfileDefinition,
    user: &User,
    factory: &dyn ConnectorFactory,
    reach: &Reach,
    vault: Option<VaultHandle>,
) -> Result<SyncProfile, ServiceError> {
    def.check_mail()?;
    let mut rules = def.engine_rules(user)?;
    // R-FIELD-6: the profile inherits its connector's declared limits.
    let limits = def.connector.field_limits();
    for (class, declared) in [
        (EntityClass::Contacts, &limits.contacts),
        (EntityClass::Events, &limits.events),
        (EntityClass::Tasks, &limits.tasks),
    ] {
        rules.inherit_field_limits(class, declared);
    }
    let actor = Actor {
        user_id: user.meta.id.clone(),
        role: user.fields.role,
    };
    // A mail kind (imap) tracks e-mail only (SPEC §10): the runner runs the
    // Mail class alone and never asks the item connector, which therefore
    // is an empty in-memory one.
    let mail_options = OpenOptions {
        create_local_root: false,
        reach: reach.clone(),
        token_vault: vault.clone(),
    };
    if def.mail.is_none()
        && def.connector.is_mail_only()
        && let Some(mail) = def.connector.open_mail(mail_options)
    {
        let (source, tracking) = mail.map_err(|e| open_error(&def.name, e))?;
        let items: Arc<dyn Connector> = Arc::new(MemoryConnector::new());
        return Ok(SyncProfile::new(def.name.clone(), actor, rules, items).mail_only(MailProfile { source, tracking }));
    }
    let connector = factory.open_with_vault(&def.name, &def.connector, reach, vault.clone())?;
    // R-SYNC-PERF-2: a DAV profile's `concurrency` (R-CFG-DAV-1) sets the writes in flight.
    let writes = crmsync_sync::write_concurrency_for(def.connector.requests_in_flight());
    let profile = SyncProfile::new(def.name.clone(), actor, rules, connector)
        .with_write_concurrency(writes)
        .with_collections(def.connector.collections());
    // R-PROFILE-MAIL-1: contacts and calendars over `connector`, e-mail over
    // `mail`, in one run (the Mail class runs after the others).
    let Some(mail_spec) = &def.mail else {
        // R-GRAPH-25: a connector of items that tracks mail too (graph with
        // `tracking`) runs both, its mail after the other classes.
        let mail_options = OpenOptions {
            create_local_root: false,
            reach: reach.clone(),
            token_vault: vault.clone(),
        };
        return match def.connector.open_mail(mail_options) {
            Some(opened) => {
                let (source, tracking) = opened.map_err(|e| open_error(&def.name, e))?;
                Ok(profile.with_mail(MailProfile { source, tracking }))
            }
            None => Ok(profile),
        };
    };
    let mail_options = OpenOptions {
        create_local_root: false,
        reach: reach.clone(),
        token_vault: vault.clone(),
    };
    let (source, tracking) = match mail_spec.open_mail(mail_options) {
        Some(opened) => opened.map_err(|e| open_error(&def.name, e))?,
        None => {
            return Err(ServiceError::InvalidField {
                profile: def.name.clone(),
                field: "mail".into(),
                message: format!("a `{}` connector holds no e-mail", mail_spec.kind()),
            });
        }
    };
    Ok(profile.with_mail(MailProfile { source, tracking }))
}
