//! The independent client of a world whose mailbox is the testkit's Graph
//! test server: it creates, edits and deletes items the way Outlook would
//! (straight on the server, no precondition), with bodies rendered by the
//! Graph mapping, and reads them back for the end-state checks.

use std::collections::BTreeMap;
use std::sync::Arc;

use crmsync_connector::{CollectionKind, Href};
use crmsync_mapping::{GraphResource, parse_graph, render_graph};
use crmsync_model::FieldMap;
use crmsync_testkit::{GraphResource as ServerResource, GraphServer};

use super::{GwView, Kind, new_item_fields};

pub struct GraphSide {
    pub server: Arc<GraphServer>,
    /// The folder id of each kind's folder on the server.
    folders: BTreeMap<Kind, String>,
}

pub fn resource(kind: Kind) -> GraphResource {
    match kind {
        Kind::Contact => GraphResource::Contact,
        Kind::Task => GraphResource::Task,
        Kind::Event => GraphResource::Event,
    }
}

impl GraphSide {
    /// Creates the three folders crmsync looks for (R-GRAPH-2), so the
    /// client can add items before the first sync.
    pub fn new(server: Arc<GraphServer>) -> GraphSide {
        let mut folders = BTreeMap::new();
        for kind in Kind::ALL {
            let on_server = match kind.collection_kind() {
                CollectionKind::Contacts => ServerResource::Contacts,
                CollectionKind::Events => ServerResource::Events,
                _ => ServerResource::Tasks,
            };
            folders.insert(kind, server.create_folder(on_server, kind.collection()));
        }
        GraphSide { server, folders }
    }

    fn folder(&self, kind: Kind) -> &str {
        &self.folders[&kind]
    }

    pub fn create(&self, kind: Kind, fields: &FieldMap, uid: &str) -> Href {
        let body = render_graph(resource(kind), &new_item_fields(kind, fields), uid, None).unwrap();
        let created = self
            .server
            .user_create(self.folder(kind), serde_json::from_str(&body).unwrap());
        Href::new(created["id"].as_str().expect("an id"))
    }

    /// A PATCH of the changed properties only, as Outlook sends one.
    pub fn edit(&self, kind: Kind, href: &Href, changes: &[(String, String)]) {
        let view = self.item(kind, href).expect("item exists");
        let mut fields = view.fields.clone();
        for (k, v) in changes {
            fields.set(k.clone(), v.clone());
        }
        let patch = render_graph(resource(kind), &fields, &view.uid, Some(&view.body)).unwrap();
        self.server
            .user_update(self.folder(kind), href.as_str(), serde_json::from_str(&patch).unwrap());
    }

    pub fn delete(&self, kind: Kind, href: &Href) {
        self.server.user_delete(self.folder(kind), href.as_str());
    }

    pub fn hrefs(&self, kind: Kind) -> Vec<Href> {
        let mut out: Vec<Href> = self
            .server
            .items(self.folder(kind))
            .iter()
            .filter_map(|i| i["id"].as_str().map(Href::new))
            .collect();
        out.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        out
    }

    pub fn item(&self, kind: Kind, href: &Href) -> Option<GwView> {
        let body = self.server.item(self.folder(kind), href.as_str())?.to_string();
        let parsed = parse_graph(resource(kind), body.as_bytes()).unwrap();
        Some(GwView {
            kind,
            uid: parsed.uid,
            fields: parsed.fields,
            body,
        })
    }
}
