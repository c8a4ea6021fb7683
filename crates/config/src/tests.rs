use std::collections::BTreeMap;

use super::*;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse_with_env(text, "test.toml", &BTreeMap::new())
}

#[test]
fn empty_file_gives_documented_defaults() {
    let c = parse("").unwrap();
    assert_eq!(c.database.url, "sqlite://crmsync.db");
    assert_eq!(c.server.listen, "127.0.0.1:8080");
    assert!(c.profiles.is_empty());
}

#[test]
fn env_overrides_file() {
    let text = "[database]\nurl = \"sqlite://a.db\"\n";
    let c = Config::parse_with_env(
        text,
        "t",
        &env(&[
            ("CRMSYNC_DATABASE_URL", "postgres://u@127.0.0.1/db"),
            ("CRMSYNC_SERVER_LISTEN", "127.0.0.1:9999"),
            ("CRMSYNC_SERVER_MAX_BODY_BYTES", "4096"),
        ]),
    )
    .unwrap();
    assert_eq!(c.database.url, "postgres://u@127.0.0.1/db");
    assert_eq!(c.server.listen, "127.0.0.1:9999");
    assert_eq!(c.server.max_body_bytes, 4096);
}

#[test]
fn unknown_key_is_named() {
    let err = parse("[server]\nlisen = \"127.0.0.1:1\"\n").unwrap_err();
    assert_eq!(err.key(), Some("server.lisen"), "{err}");
    let err = parse("[databse]\nurl = \"x\"\n").unwrap_err();
    assert_eq!(err.key(), Some("databse"), "{err}");
}

#[test]
fn wrong_type_is_named() {
    let err = parse("[server]\nlisten = 42\n").unwrap_err();
    assert_eq!(err.key(), Some("server.listen"), "{err}");
}

#[test]
fn bad_values_are_named() {
    let err = parse("[server]\nlisten = \"localhost\"\n").unwrap_err();
    assert_eq!(err.key(), Some("server.listen"));
    let err = parse("[database]\nurl = \"mysql://root:hunter2@db/x\"\n").unwrap_err();
    assert_eq!(err.key(), Some("database.url"));
    assert!(!err.to_string().contains("hunter2"), "password leaked: {err}");
}

#[test]
fn bad_env_var_is_named() {
    let err = Config::parse_with_env("", "t", &env(&[("CRMSYNC_SERVER_LISTN", "x")])).unwrap_err();
    assert!(err.to_string().contains("CRMSYNC_SERVER_LISTN"), "{err}");
    let err = Config::parse_with_env("", "t", &env(&[("CRMSYNC_SERVER_MAX_BODY_BYTES", "lots")])).unwrap_err();
    assert!(err.to_string().contains("CRMSYNC_SERVER_MAX_BODY_BYTES"), "{err}");
}

#[test]
fn syntax_error_names_the_file() {
    let err = parse("[server\n").unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }));
    assert!(err.to_string().contains("test.toml"));
}

#[test]
fn profiles_parse_and_must_be_unique() {
    let text = r#"
[[profile]]
name = "alice"
user = "alice"
connector = { kind = "vdir", root = "mail/alice" }

[[profile]]
name = "alice"
user = "bob"
connector = { kind = "vdir", root = "mail/bob" }
"#;
    let err = parse(text).unwrap_err();
    assert_eq!(err.key(), Some("profile[1].name"));
    let ok = text.replacen("name = \"alice\"\nuser = \"bob\"", "name = \"bob\"\nuser = \"bob\"", 1);
    let c = parse(&ok).unwrap();
    assert_eq!(c.profiles.len(), 2);
    assert_eq!(
        c.profiles[1].connector,
        ConnectorConfig::Vdir {
            root: "mail/bob".into()
        }
    );
}

#[test]
fn unknown_connector_kind_is_named() {
    let text = "[[profile]]\nname = \"a\"\nuser = \"a\"\nconnector = { kind = \"exchange2003\" }\n";
    let err = parse(text).unwrap_err();
    assert!(err.key().unwrap().contains("connector"), "{err}");
}

#[test]
fn missing_file_is_a_clear_error() {
    let err = Config::load_with_env(
        Some(std::path::Path::new("/nonexistent/crmsync.toml")),
        &BTreeMap::new(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/crmsync.toml"));
}

#[test]
fn redacts_passwords() {
    assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
    assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
}
