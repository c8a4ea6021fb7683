//! The blocking core of the vdir connector: every operation on the folders.
//! [`crate::VdirConnector`] runs these on tokio's blocking pool.

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crmsync_connector::{
    ChangeSet, Collection, CollectionId, CollectionKind, ConnectorError, ContentType, Etag, Fetched, FetchedItem, Href,
    ItemFailure, ItemMeta, SyncToken,
};

use crate::atomic::{self, STALE_TEMP_AGE};
use crate::etag::{etag_of, listing_token, unreadable_etag};
use crate::file_name::{checked_component, checked_href, is_item_file_name, item_file_name, safe_base_name};
use crate::kind::{self, DISPLAYNAME_FILE, KIND_MARKER};
use crate::names::ItemNames;

pub(crate) struct VdirStore {
    root: PathBuf,
    /// A folder's content type never changes once known; caching it spares a
    /// directory scan per `create` for folders without our marker.
    content_types: Mutex<HashMap<CollectionId, ContentType>>,
    /// Folders with renames or unlinks not yet fsynced (R-VDIR-11): made
    /// durable by [`VdirStore::flush`], once per batch.
    unsynced: Mutex<BTreeSet<PathBuf>>,
}

/// What a listing answers: the whole of it, or, when its digest is the
/// token the caller holds, an empty delta.
pub(crate) fn answer(since: Option<&SyncToken>, new_token: SyncToken, listing: Vec<ItemMeta>) -> ChangeSet {
    if since == Some(&new_token) {
        return ChangeSet {
            changed: Vec::new(),
            deleted: Vec::new(),
            new_token,
            complete: false,
        };
    }
    ChangeSet {
        changed: listing,
        deleted: Vec::new(),
        new_token,
        complete: true,
    }
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> ConnectorError {
    let context = context.into();
    move |e| ConnectorError::from_io(context, e)
}

impl VdirStore {
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            content_types: Mutex::new(HashMap::new()),
            unsynced: Mutex::new(BTreeSet::new()),
        }
    }

    /// Called after each rename or unlink, never before: a flush that began
    /// before the rename took the folder out of the set and may have
    /// fsynced it too early, so the rename puts it back for the next flush
    /// (R-VDIR-14 flushes while the next batch writes).
    fn written_in(&self, dir: &Path) {
        let mut unsynced = self.unsynced.lock().unwrap_or_else(|p| p.into_inner());
        if !unsynced.contains(dir) {
            unsynced.insert(dir.to_path_buf());
        }
    }

    /// Fsyncs every folder written in since the last flush: one fsync per
    /// folder and batch instead of one per file (see `atomic`). A folder that
    /// fails stays listed, so the next flush tries it again. Flushes are not
    /// to overlap one another (the runner awaits each): a second one would
    /// find the set already taken and return before the first's fsync ended.
    pub fn flush(&self) -> Result<(), ConnectorError> {
        let dirs = std::mem::take(&mut *self.unsynced.lock().unwrap_or_else(|p| p.into_inner()));
        let mut left = dirs.into_iter();
        while let Some(dir) = left.next() {
            if let Err(e) = atomic::sync_dir(&dir) {
                let mut unsynced = self.unsynced.lock().unwrap_or_else(|p| p.into_inner());
                unsynced.insert(dir.clone());
                unsynced.extend(left);
                return Err(ConnectorError::from_io(format!("fsync of folder {}", dir.display()), e));
            }
        }
        Ok(())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn collection_dir(&self, id: &CollectionId) -> Result<PathBuf, ConnectorError> {
        let name = checked_component(id.as_str()).map_err(|reason| ConnectorError::NotFound {
            what: format!("collection {id:?} ({reason})"),
        })?;
        let dir = self.root.join(name);
        let meta = fs::metadata(&dir).map_err(io_err(format!("collection folder {}", dir.display())))?;
        if !meta.is_dir() {
            return Err(ConnectorError::NotFound {
                what: format!("collection folder {} (not a folder)", dir.display()),
            });
        }
        Ok(dir)
    }

    fn describe(&self, id: &str, dir: &Path, kind: CollectionKind) -> Collection {
        Collection {
            id: CollectionId::new(id),
            display_name: kind::display_name(dir).unwrap_or_else(|| id.to_owned()),
            kind,
            content_type: kind.content_type(),
            vcard_version: if kind == CollectionKind::Contacts {
                kind::detect_vcard_version(dir)
            } else {
                None
            },
        }
    }

    pub fn discover(&self) -> Result<Vec<Collection>, ConnectorError> {
        let context = format!("listing vdir root {}", self.root.display());
        let mut found = Vec::new();
        for entry in fs::read_dir(&self.root).map_err(io_err(&context))? {
            let entry = entry.map_err(io_err(&context))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if checked_component(&name).is_err() {
                continue;
            }
            let dir = entry.path();
            // fs::metadata follows symlinks: linked collection folders count.
            if !fs::metadata(&dir).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            // An unreadable folder or an empty unmarked one has no kind we could
            // report; `changes` on it gives the precise error.
            if let Ok(Some(kind)) = kind::detect_kind(&dir) {
                found.push(self.describe(&name, &dir, kind));
            }
        }
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }

    pub fn ensure_collection(&self, wanted: CollectionKind, name: &str) -> Result<Collection, ConnectorError> {
        let folder = safe_base_name(name);
        let dir = self.root.join(&folder);
        let created = match fs::create_dir(&dir) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(ConnectorError::from_io(format!("creating folder {}", dir.display()), e)),
        };
        let found = if created {
            None
        } else {
            if !fs::metadata(&dir).is_ok_and(|m| m.is_dir()) {
                return Err(ConnectorError::Unsupported {
                    what: format!("{} exists and is not a folder", dir.display()),
                });
            }
            kind::detect_kind(&dir).map_err(io_err(format!("reading folder {}", dir.display())))?
        };
        let kind = match found {
            Some(found) if !found.serves(wanted) => {
                return Err(ConnectorError::KindMismatch {
                    collection: folder,
                    found,
                    wanted,
                });
            }
            Some(found) => found,
            None => {
                let write = |file: &str, text: &str| {
                    fs::write(dir.join(file), text).map_err(io_err(format!("writing {}", dir.join(file).display())))
                };
                write(KIND_MARKER, kind::marker_text(wanted))?;
                if kind::display_name(&dir).is_none() {
                    write(DISPLAYNAME_FILE, name)?;
                }
                wanted
            }
        };
        Ok(self.describe(&folder, &dir, kind))
    }

    fn content_type(&self, id: &CollectionId, dir: &Path) -> Result<ContentType, ConnectorError> {
        let mut cache = self.content_types.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(ct) = cache.get(id) {
            return Ok(*ct);
        }
        let kind = kind::detect_kind(dir)
            .map_err(io_err(format!("reading folder {}", dir.display())))?
            .ok_or_else(|| ConnectorError::Unsupported {
                what: format!(
                    "folder {} is empty and unmarked, so it is unknown whether it holds contacts or calendar items; set it up with ensure_collection",
                    dir.display()
                ),
            })?;
        cache.insert(id.clone(), kind.content_type());
        Ok(kind.content_type())
    }

    /// The names of every item file, sorted: what a listing reads, in its
    /// order, before it reads any file.
    pub fn item_names(&self, id: &CollectionId) -> Result<ItemNames, ConnectorError> {
        let dir = self.collection_dir(id)?;
        // Best effort: a failure here must not stop the sync, and the listing
        // below reports any real access problem.
        let _ = atomic::clean_stale_temps(&dir, STALE_TEMP_AGE, SystemTime::now());
        let context = format!("listing folder {}", dir.display());
        let mut names = ItemNames::default();
        for entry in fs::read_dir(&dir).map_err(io_err(&context))? {
            let entry = entry.map_err(io_err(&context))?;
            // A name that is not UTF-8 cannot be an href; such files are left alone.
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if is_item_file_name(&name) {
                names.push(&name);
            }
        }
        Ok(names.sorted())
    }

    /// The items among `names` (in their order) with their ETags: a file
    /// gone since it was named, or that is no regular file, is left out.
    pub fn item_metas(&self, id: &CollectionId, names: Vec<String>) -> Result<Vec<ItemMeta>, ConnectorError> {
        let dir = self.collection_dir(id)?;
        let mut items = Vec::with_capacity(names.len());
        for name in names {
            let path = dir.join(&name);
            let meta = match fs::metadata(&path) {
                Ok(m) => m,
                // Removed while we listed, or a dangling symlink.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(ConnectorError::from_io(format!("reading {}", path.display()), e)),
            };
            // Never open FIFOs or devices (a read would block or have side effects).
            if !meta.is_file() {
                continue;
            }
            let etag = match fs::read(&path) {
                Ok(body) => etag_of(&body),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                // Listed with a stat-based ETag, so it is neither taken for
                // deleted nor silently dropped; get_many reports why it fails.
                Err(_) => unreadable_etag(meta.len(), modified_ns(&meta)),
            };
            items.push(ItemMeta {
                href: Href::new(name),
                etag,
            });
        }
        Ok(items)
    }

    pub fn changes(&self, id: &CollectionId, since: Option<&SyncToken>) -> Result<ChangeSet, ConnectorError> {
        let names = self.item_names(id)?;
        let listing = self.item_metas(id, names.page(0, names.len()))?;
        let new_token = listing_token(&listing);
        Ok(answer(since, new_token, listing))
    }

    pub fn get_many(&self, id: &CollectionId, hrefs: &[Href]) -> Result<Fetched, ConnectorError> {
        let dir = self.collection_dir(id)?;
        let mut fetched = Fetched::default();
        for href in hrefs {
            match read_item(&dir, href) {
                Ok(Some((body, _))) => fetched.found.push(FetchedItem {
                    href: href.clone(),
                    etag: etag_of(&body),
                    body,
                }),
                Ok(None) => fetched.missing.push(href.clone()),
                Err(error) => fetched.failed.push(ItemFailure {
                    href: href.clone(),
                    error,
                }),
            }
        }
        Ok(fetched)
    }

    pub fn create(&self, id: &CollectionId, suggested_name: &str, body: &[u8]) -> Result<ItemMeta, ConnectorError> {
        let dir = self.collection_dir(id)?;
        let extension = self.content_type(id, &dir)?.file_extension();
        let name = item_file_name(suggested_name, extension);
        match atomic::create_new(&dir, &name, body) {
            Ok(()) => {
                self.written_in(&dir);
                Ok(ItemMeta {
                    href: Href::new(name),
                    etag: etag_of(body),
                })
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Err(ConnectorError::AlreadyExists { href: Href::new(name) })
            }
            Err(e) => Err(ConnectorError::from_io(
                format!("creating {}", dir.join(&name).display()),
                e,
            )),
        }
    }

    pub fn update(&self, id: &CollectionId, href: &Href, expected: &Etag, body: &[u8]) -> Result<Etag, ConnectorError> {
        let dir = self.collection_dir(id)?;
        let (current, meta) = existing_item(&dir, href)?;
        if etag_of(&current) != *expected {
            return Err(ConnectorError::PreconditionFailed { href: href.clone() });
        }
        let name = checked_href(href)?;
        let path = dir.join(name);
        // Re-checked once the new body is on disk, right before the rename, to
        // keep the window for an unnoticed concurrent edit as small as vdir's
        // lock-free design allows.
        let still_current = || fs::read(&path).map(|now| etag_of(&now) == *expected);
        let replaced = atomic::replace(&dir, name, body, meta.permissions(), still_current)
            .map_err(io_err(format!("replacing {}", path.display())))?;
        if !replaced {
            return Err(ConnectorError::PreconditionFailed { href: href.clone() });
        }
        self.written_in(&dir);
        Ok(etag_of(body))
    }

    pub fn delete(&self, id: &CollectionId, href: &Href, expected: &Etag) -> Result<(), ConnectorError> {
        let dir = self.collection_dir(id)?;
        let (current, _) = existing_item(&dir, href)?;
        if etag_of(&current) != *expected {
            return Err(ConnectorError::PreconditionFailed { href: href.clone() });
        }
        let name = checked_href(href)?;
        atomic::remove(&dir, name).map_err(io_err(format!("deleting {}", dir.join(name).display())))?;
        self.written_in(&dir);
        Ok(())
    }
}

impl Drop for VdirStore {
    /// A caller that never flushed (not the runner, which flushes every
    /// batch) still gets its writes made durable, as far as it goes.
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Reads an item: `Ok(None)` when it does not exist.
fn read_item(dir: &Path, href: &Href) -> Result<Option<(Vec<u8>, Metadata)>, ConnectorError> {
    let name = checked_href(href)?;
    let path = dir.join(name);
    let context = format!("reading {}", path.display());
    let meta = match fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ConnectorError::from_io(context, e)),
    };
    if !meta.is_file() {
        return Err(ConnectorError::Unsupported {
            what: format!("{} is not a regular file", path.display()),
        });
    }
    match fs::read(&path) {
        Ok(body) => Ok(Some((body, meta))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ConnectorError::from_io(context, e)),
    }
}

/// Reads an item that must exist (for conditional writes).
fn existing_item(dir: &Path, href: &Href) -> Result<(Vec<u8>, Metadata), ConnectorError> {
    read_item(dir, href)?.ok_or_else(|| ConnectorError::NotFound {
        what: format!("{}", dir.join(href.as_str()).display()),
    })
}

fn modified_ns(meta: &Metadata) -> u128 {
    meta.modified()
        .ok()
        .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}
