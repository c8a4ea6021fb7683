//! The frame of every page: skip link, navigation, sign-out, one stylesheet.

use maud::{DOCTYPE, Markup, html};

use crate::session::{CSRF_FIELD, SignedIn};

pub fn page(title: &str, who: Option<&SignedIn>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · crmsync" }
                link rel="stylesheet" href="/assets/style.css";
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header {
                    strong { "crmsync" }
                    @if let Some(who) = who {
                        nav aria-label="Main" {
                            a href="/" { "Profiles" }
                            a href="/runs" { "Runs" }
                            a href="/conflicts" { "Conflicts" }
                            a href="/duplicates" { "Duplicates" }
                            a href="/removed" { "Removed" }
                            a href="/quarantine" { "Quarantine" }
                            a href="/emails" { "E-mails" }
                            a href="/record" { "Record" }
                            a href="/profiles" { "Settings" }
                            @if who.actor().is_admin() {
                                a href="/admin/workers" { "Workers" }
                                a href="/admin/metrics" { "Metrics" }
                            }
                        }
                        form method="post" action="/sign-out" {
                            (csrf_field(who))
                            span { "Signed in as " (who.user.fields.name) " " }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" tabindex="-1" { (body) }
            }
        }
    }
}

/// The hidden CSRF field every form of a signed-in page carries (R-WEB-2).
pub fn csrf_field(who: &SignedIn) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(who.csrf); }
}

/// A time as the pages show it.
pub fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The page a button leads to: what was done, and the way back.
pub fn outcome(who: &SignedIn, title: &str, text: Markup, back: (&str, &str)) -> Markup {
    let body = html! {
        h1 { (title) }
        div role="status" { (text) }
        p { a href=(back.0) { (back.1) } }
    };
    page(title, Some(who), body)
}

/// Percent-encodes a query value (names and ids are mostly plain; anything
/// else is escaped byte by byte).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The record page of CRM record `id` in `profile`.
pub fn record_href(profile: &str, id: &str) -> String {
    format!("/record?profile={}&id={}", encode(profile), encode(id))
}

/// Links to the other pages of a long list (plain links: no JavaScript);
/// `href` makes the link of page `n`.
pub fn pager(label: &str, page: usize, pages: usize, href: impl Fn(usize) -> String) -> Markup {
    html! {
        nav.pager aria-label=(label) {
            @if page > 1 { a href=(href(page - 1)) rel="prev" { "Previous" } " " }
            "Page " (page) " of " (pages)
            @if page < pages { " " a href=(href(page + 1)) rel="next" { "Next" } }
        }
    }
}
