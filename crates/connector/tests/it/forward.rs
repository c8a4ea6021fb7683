//! R-CONN-6: a wrapper built on `Forward` sends every method it does not
//! override to its inner connector's own, those with a default body in
//! `Connector` included. The inner connector here overrides every one of
//! them and notes each call, so a wrapper that fell back to a trait default
//! (a listing in one piece instead of pages, no flush, `lists_early` true, a
//! hint dropped) shows as a call the inner connector never saw.
//!
//! Both types live outside `crmsync-connector`, as every wrapper does: the
//! blanket `impl<T: Forward> Connector for T` leaves other crates free to
//! implement `Connector` for their own types.

use std::sync::Mutex;

use async_trait::async_trait;
use crmsync_connector::{
    ChangeSet, Collection, CollectionId, CollectionKind, Connector, ConnectorError, ContentType, Etag, Fetched, Href,
    ItemMeta, SyncToken,
};

/// Notes the name of every call that reaches it; each answer names its
/// method too.
#[derive(Default)]
struct Recording {
    calls: Mutex<Vec<&'static str>>,
}

impl Recording {
    fn note(&self, method: &'static str) {
        self.calls.lock().unwrap().push(method);
    }

    fn take(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

fn collection(name: &str) -> Collection {
    Collection {
        id: CollectionId::new(name),
        display_name: name.to_string(),
        kind: CollectionKind::Contacts,
        content_type: ContentType::VCard,
        vcard_version: None,
    }
}

fn meta(name: &str) -> ItemMeta {
    ItemMeta {
        href: Href::new(name),
        etag: Etag::new(name),
    }
}

fn set(token: &str) -> ChangeSet {
    ChangeSet {
        changed: Vec::new(),
        deleted: Vec::new(),
        new_token: SyncToken::new(token),
        complete: true,
    }
}

#[async_trait]
impl Connector for Recording {
    async fn discover(&self) -> Result<Vec<Collection>, ConnectorError> {
        self.note("discover");
        Ok(vec![collection("discovered")])
    }
    async fn ensure_collection(&self, _: CollectionKind, name: &str) -> Result<Collection, ConnectorError> {
        self.note("ensure_collection");
        Ok(collection(name))
    }
    async fn changes(&self, _: &CollectionId, _: Option<&SyncToken>) -> Result<ChangeSet, ConnectorError> {
        self.note("changes");
        Ok(set("whole"))
    }
    async fn changes_paged(
        &self,
        _: &CollectionId,
        _: Option<&SyncToken>,
        page: &mut (dyn FnMut(Vec<ItemMeta>) + Send),
    ) -> Result<ChangeSet, ConnectorError> {
        self.note("changes_paged");
        page(vec![meta("first page")]);
        page(vec![meta("second page")]);
        Ok(set("paged"))
    }
    async fn get_many(&self, _: &CollectionId, _: &[Href]) -> Result<Fetched, ConnectorError> {
        self.note("get_many");
        Ok(Fetched {
            missing: vec![Href::new("get_many")],
            ..Fetched::default()
        })
    }
    async fn create(&self, _: &CollectionId, name: &str, _: &[u8]) -> Result<ItemMeta, ConnectorError> {
        self.note("create");
        Ok(meta(name))
    }
    async fn update(&self, _: &CollectionId, _: &Href, _: &Etag, _: &[u8]) -> Result<Etag, ConnectorError> {
        self.note("update");
        Ok(Etag::new("updated"))
    }
    async fn delete(&self, _: &CollectionId, _: &Href, _: &Etag) -> Result<(), ConnectorError> {
        self.note("delete");
        Ok(())
    }
    async fn flush_writes(&self) -> Result<(), ConnectorError> {
        self.note("flush_writes");
        Ok(())
    }
    fn lists_early(&self) -> bool {
        self.note("lists_early");
        false
    }
    fn remember_collection(&self, _: &Collection) {
        self.note("remember_collection");
    }
}

/// A wrapper that changes nothing: only its inner connector named.
struct Bare {
    inner: Recording,
}

impl crmsync_connector::Forward for Bare {
    fn inner(&self) -> &dyn Connector {
        &self.inner
    }
}

/// A wrapper that changes one call: creates are refused.
struct RefusesCreates {
    inner: Recording,
}

#[async_trait]
impl crmsync_connector::Forward for RefusesCreates {
    fn inner(&self) -> &dyn Connector {
        &self.inner
    }
    async fn create(&self, _: &CollectionId, _: &str, _: &[u8]) -> Result<ItemMeta, ConnectorError> {
        Err(ConnectorError::Unsupported {
            what: "creating (the wrapper's own answer)".into(),
        })
    }
}

#[tokio::test]
async fn r_conn_6_a_forwarding_wrapper_reaches_the_inner_connectors_default_bodied_methods() {
    let bare = Bare {
        inner: Recording::default(),
    };
    let wrapped: &dyn Connector = &bare;
    let id = CollectionId::new("contacts");

    // A listing a page at a time is the inner connector's paging: the
    // trait's default would list with `changes` and hand it over whole.
    let mut pages = Vec::new();
    let paged = wrapped
        .changes_paged(&id, None, &mut |page| pages.push(page))
        .await
        .unwrap();
    assert_eq!(bare.inner.take(), ["changes_paged"]);
    assert_eq!(paged.new_token, SyncToken::new("paged"));
    assert_eq!(pages, [vec![meta("first page")], vec![meta("second page")]]);

    // The flush reaches it (the default does nothing: vdir's fsync skipped).
    wrapped.flush_writes().await.unwrap();
    assert_eq!(bare.inner.take(), ["flush_writes"]);

    // Its answer, not the default's `true`.
    assert!(!wrapped.lists_early());
    assert_eq!(bare.inner.take(), ["lists_early"]);

    // The hint reaches it (the default drops it).
    wrapped.remember_collection(&collection("contacts"));
    assert_eq!(bare.inner.take(), ["remember_collection"]);
}

#[tokio::test]
async fn r_conn_6_a_forwarding_wrapper_reaches_every_required_method() {
    let bare = Bare {
        inner: Recording::default(),
    };
    let wrapped: &dyn Connector = &bare;
    let id = CollectionId::new("contacts");
    let (href, etag) = (Href::new("a.vcf"), Etag::new("e"));

    assert_eq!(wrapped.discover().await.unwrap(), [collection("discovered")]);
    let ensured = wrapped
        .ensure_collection(CollectionKind::Contacts, "new")
        .await
        .unwrap();
    assert_eq!(ensured, collection("new"));
    assert_eq!(
        wrapped.changes(&id, None).await.unwrap().new_token,
        SyncToken::new("whole")
    );
    assert_eq!(
        wrapped
            .get_many(&id, std::slice::from_ref(&href))
            .await
            .unwrap()
            .missing,
        [Href::new("get_many")]
    );
    assert_eq!(wrapped.create(&id, "a", b"body").await.unwrap(), meta("a"));
    assert_eq!(
        wrapped.update(&id, &href, &etag, b"body").await.unwrap(),
        Etag::new("updated")
    );
    wrapped.delete(&id, &href, &etag).await.unwrap();
    assert_eq!(
        bare.inner.take(),
        [
            "discover",
            "ensure_collection",
            "changes",
            "get_many",
            "create",
            "update",
            "delete"
        ]
    );
}

#[tokio::test]
async fn r_conn_6_an_override_replaces_its_method_only() {
    let refusing = RefusesCreates {
        inner: Recording::default(),
    };
    let wrapped: &dyn Connector = &refusing;
    let id = CollectionId::new("contacts");

    let refused = wrapped.create(&id, "a", b"body").await.unwrap_err();
    assert!(matches!(refused, ConnectorError::Unsupported { .. }), "{refused:?}");
    assert!(refusing.inner.take().is_empty(), "the override answered alone");

    wrapped.flush_writes().await.unwrap();
    wrapped.delete(&id, &Href::new("a.vcf"), &Etag::new("e")).await.unwrap();
    assert_eq!(refusing.inner.take(), ["flush_writes", "delete"]);
}
