//! What a vdir folder holds. vdir has no standard metadata for that, so we look
//! at, in order: our own marker file (written by `ensure_collection`, hidden so
//! other vdir tools ignore it), then the item files' extensions, then for
//! calendars whether the items hold VEVENT and/or VTODO.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use crmsync_connector::{CollectionKind, VCardVersion};

use crate::file_name::is_item_file_name;

/// Hidden file naming the kind of a folder crmsync created or adopted.
pub const KIND_MARKER: &str = ".crmsync-kind";
/// The vdir metadata file with the collection's human-readable name.
pub const DISPLAYNAME_FILE: &str = "displayname";

/// How many calendar files to peek into; enough to see both component types in
/// practice without reading a whole large calendar on every discovery.
const PEEK_FILES: usize = 50;
/// How much of each file to peek at.
const PEEK_BYTES: u64 = 64 * 1024;

pub fn marker_text(kind: CollectionKind) -> &'static str {
    match kind {
        CollectionKind::Contacts => "contacts",
        CollectionKind::Events => "events",
        CollectionKind::Tasks => "tasks",
        CollectionKind::EventsAndTasks => "events-and-tasks",
    }
}

fn parse_marker(text: &str) -> Option<CollectionKind> {
    Some(match text.trim() {
        "contacts" => CollectionKind::Contacts,
        "events" => CollectionKind::Events,
        "tasks" => CollectionKind::Tasks,
        "events-and-tasks" => CollectionKind::EventsAndTasks,
        _ => return None,
    })
}

fn peek(path: &Path) -> io::Result<String> {
    let mut bytes = Vec::new();
    fs::File::open(path)?.take(PEEK_BYTES).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Item file names of `dir`, sorted (so detection is deterministic).
pub fn item_names(dir: &Path) -> io::Result<Vec<String>> {
    let mut names: Vec<String> = fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_item_file_name(n))
        .collect();
    names.sort();
    Ok(names)
}

/// The folder's kind, or `None` for an unmarked folder without items.
pub fn detect_kind(dir: &Path) -> io::Result<Option<CollectionKind>> {
    match fs::read_to_string(dir.join(KIND_MARKER)) {
        Ok(text) => {
            if let Some(kind) = parse_marker(&text) {
                return Ok(Some(kind));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let names = item_names(dir)?;
    let cards = names
        .iter()
        .filter(|n| n.to_ascii_lowercase().ends_with(".vcf"))
        .count();
    let calendars = names.len() - cards;
    if cards == 0 && calendars == 0 {
        return Ok(None);
    }
    if cards >= calendars {
        return Ok(Some(CollectionKind::Contacts));
    }
    let (mut events, mut tasks) = (false, false);
    for name in names
        .iter()
        .filter(|n| n.to_ascii_lowercase().ends_with(".ics"))
        .take(PEEK_FILES)
    {
        // An unreadable file says nothing about the kind; skip it here (the
        // listing reports it).
        let Ok(text) = peek(&dir.join(name)) else { continue };
        events |= text.contains("BEGIN:VEVENT");
        tasks |= text.contains("BEGIN:VTODO");
    }
    Ok(Some(match (events, tasks) {
        (true, false) => CollectionKind::Events,
        (false, true) => CollectionKind::Tasks,
        _ => CollectionKind::EventsAndTasks,
    }))
}

/// The vCard version the folder's first readable card declares.
pub fn detect_vcard_version(dir: &Path) -> Option<VCardVersion> {
    let names = item_names(dir).ok()?;
    names
        .iter()
        .filter(|n| n.to_ascii_lowercase().ends_with(".vcf"))
        .find_map(|name| {
            let text = peek(&dir.join(name)).ok()?;
            text.lines().find_map(|line| match line.trim() {
                "VERSION:4.0" => Some(VCardVersion::V4),
                "VERSION:3.0" => Some(VCardVersion::V3),
                _ => None,
            })
        })
}

/// The `displayname` metadata file's content, if any.
pub fn display_name(dir: &Path) -> Option<String> {
    let text = fs::read_to_string(dir.join(DISPLAYNAME_FILE)).ok()?;
    let name = text.trim();
    (!name.is_empty()).then(|| name.to_owned())
}
