//! Outlook stores event and task bodies as HTML; the CRM holds text. This
//! reads the text of an `itemBody` (https://learn.microsoft.com/en-us/graph/api/resources/itembody):
//! block ends become line ends, tags go, the common entities are decoded.
//! crmsync writes `text` bodies, so only what Outlook wrote is HTML.

use serde_json::Value;

pub(crate) fn body_text(body: &Value) -> String {
    let content = body["content"].as_str().unwrap_or_default();
    if !body["contentType"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case("html"))
    {
        return content.to_string();
    }
    let lower = content.to_ascii_lowercase();
    // Only the body element holds text; <head> holds styles and meta.
    let start = lower
        .find("<body")
        .and_then(|i| lower[i..].find('>').map(|j| i + j + 1))
        .unwrap_or(0);
    let end = lower.rfind("</body>").unwrap_or(content.len()).max(start);
    let mut text = String::new();
    let mut rest = &content[start..end];
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close]
            .trim_start_matches('/')
            .to_ascii_lowercase();
        let name = tag.split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or("");
        if matches!(name, "br" | "p" | "div" | "li" | "tr") && (name == "br" || rest[open + 1..].starts_with('/')) {
            text.push('\n');
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(rest);
    decode_entities(&text)
}

fn decode_entities(s: &str) -> String {
    s.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn outlook_html_reads_as_text() {
        let body = json!({"contentType": "html", "content": "<html><head><style>p{}</style></head><body><p>Agenda &amp; notes</p><div>line two<br>three</div></body></html>"});
        assert_eq!(body_text(&body).trim_end(), "Agenda & notes\nline two\nthree");
        assert_eq!(body_text(&json!({"contentType": "text", "content": "a <b>"})), "a <b>");
    }
}
