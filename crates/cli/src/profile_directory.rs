//! The profiles `crmsync serve` serves: those stored in the database (the
//! service's catalog). The configuration file's `[[profile]]`s are imported
//! into it first, so the `/sync` and `/profiles` routes see the file's
//! profiles and those created over the API alike (R-OPS-1, R-SVC-8).

use anyhow::Context as _;
use crmsync_service::ProfileCatalog;
use crmsync_store::Store;

use crate::context::Context;

/// The catalog with the `[security]` key, the file's profiles imported.
pub async fn serving_catalog(ctx: &Context, store: &Store) -> anyhow::Result<ProfileCatalog> {
    let catalog = ProfileCatalog::from_config(store.clone(), &ctx.config)?;
    // The scheduler imports too (an unchanged profile keeps its schedule);
    // importing here covers `scheduler.enabled = false`.
    for (name, outcome) in catalog
        .import_config(&ctx.config, &ctx.base_dir, chrono::Utc::now())
        .await
        .context("importing the configuration's [[profile]]s")?
    {
        tracing::info!(profile = %name, ?outcome, "profile from the configuration file");
    }
    catalog.warn_if_keyless().await?;
    Ok(catalog)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmsync_model::{Role, UserFields};

    // R-OPS-1/R-SVC-8: `serve` serves the database's profiles, the file's
    // imported with their users' ids; a profile whose user is missing stops
    // the start with the profile named (as the scheduler's import does).
    #[tokio::test]
    async fn the_files_profiles_are_imported_into_the_catalog_serve_uses() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("crmsync.toml");
        let write = |extra: &str| {
            std::fs::write(
                &config,
                format!(
                    "[database]\nurl = \"sqlite://crm.db\"\n\n\
                     [[profile]]\nname = \"alice\"\nuser = \"alice\"\nconnector = {{ kind = \"vdir\", root = \"mb/alice\" }}\n{extra}"
                ),
            )
            .unwrap()
        };
        write("");
        let ctx = Context::load(Some(&config)).unwrap();
        let store = ctx.open_store().await.unwrap();
        let (alice, _) = store
            .records()
            .create_user(UserFields {
                name: "alice".into(),
                email: None,
                role: Role::User,
                active: true,
            })
            .await
            .unwrap();

        let catalog = serving_catalog(&ctx, &store).await.unwrap();
        let view = catalog.view("alice").await.unwrap().expect("imported");
        assert_eq!(view.user_id, alice.meta.id);
        assert_eq!(view.source, "config");
        assert_eq!(
            view.connector["root"],
            dir.path().join("mb/alice").display().to_string()
        );

        write(
            "\n[[profile]]\nname = \"ghost\"\nuser = \"ghost\"\nconnector = { kind = \"vdir\", root = \"mb/ghost\" }\n",
        );
        let ctx = Context::load(Some(&config)).unwrap();
        let err = format!("{:#}", serving_catalog(&ctx, &store).await.unwrap_err());
        assert!(err.contains("ghost"), "{err}");
    }
}
