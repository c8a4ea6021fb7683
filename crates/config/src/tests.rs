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
        ConnectorSpec::Vdir(crmsync_vdir::VdirConfig::new("mail/bob"))
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

fn dav_profile(connector: &str) -> String {
    format!("[[profile]]\nname = \"anna\"\nuser = \"anna\"\nconnector = {{ kind = \"dav\", {connector} }}\n")
}

#[test]
fn dav_connector_parses_literal_env_and_file_passwords() {
    let c = parse(&dav_profile(
        "url = \"https://dav.example.com/\", username = \"anna\", password = \"hunter2\", concurrency = 2, timeout_secs = 10",
    ))
    .unwrap();
    match &c.profiles[0].connector {
        ConnectorSpec::Dav(dav) => {
            let Some(SecretSource::Value(secret)) = &dav.password else {
                panic!("expected a literal password");
            };
            assert_eq!(dav.url, "https://dav.example.com/");
            assert_eq!(dav.username.as_deref(), Some("anna"));
            assert_eq!(secret.expose(), "hunter2");
            assert_eq!((dav.concurrency, dav.timeout_secs), (2, 10));
            assert!(dav.bearer_token.is_none());
        }
        other => panic!("expected a dav connector, got {other:?}"),
    }
    assert!(!format!("{c:?}").contains("hunter2"), "Debug leaked the password");

    let env = parse(&dav_profile(
        "url = \"http://h/\", username = \"a\", password = { env = \"ANNA_PW\" }",
    ))
    .unwrap();
    assert!(matches!(
        &env.profiles[0].connector,
        ConnectorSpec::Dav(dav) if dav.password == Some(SecretSource::Env { env: "ANNA_PW".into() })
    ));
    let file = parse(&dav_profile(
        "url = \"http://h/\", username = \"a\", password = { file = \"/run/secrets/dav\" }",
    ))
    .unwrap();
    assert!(matches!(
        &file.profiles[0].connector,
        ConnectorSpec::Dav(dav) if dav.password == Some(SecretSource::File { file: "/run/secrets/dav".into() })
    ));
}

#[test]
fn dav_connector_rejects_unknown_keys_and_unworkable_values_by_name() {
    let err = parse(&dav_profile("url = \"http://h/\", pasword = \"x\"")).unwrap_err();
    assert!(err.to_string().contains("pasword"), "{err}");
    let cases = [
        ("url = \"ftp://h/\"", "profile[0].connector.url"),
        ("url = \"http://anna:hunter2@h/\"", "profile[0].connector.url"),
        (
            "url = \"http://h/\", password = \"hunter2\"",
            "profile[0].connector.username",
        ),
        (
            "url = \"http://h/\", username = \"a\", password = \"hunter2\", bearer_token = \"t\"",
            "profile[0].connector.bearer_token",
        ),
        (
            "url = \"http://h/\", concurrency = 0",
            "profile[0].connector.concurrency",
        ),
        (
            "url = \"http://h/\", timeout_secs = 0",
            "profile[0].connector.timeout_secs",
        ),
        // R-CFG-DAV-2: the top of each range too (issue 12: a billion
        // requests at once aborted the process).
        (
            "url = \"http://h/\", concurrency = 1000000000",
            "profile[0].connector.concurrency",
        ),
        (
            "url = \"http://h/\", timeout_secs = 9223372036854775807",
            "profile[0].connector.timeout_secs",
        ),
        // R-COL-1, R-LIMIT-1: the collection choice and the declared limits.
        (
            "url = \"http://h/\", collections = { contacts = \"\" }",
            "profile[0].connector.collections.contacts",
        ),
        (
            "url = \"http://h/\", field_limits = { tasks = { subject = 0 } }",
            "profile[0].connector.field_limits.tasks.subject",
        ),
    ];
    for (connector, key) in cases {
        let err = parse(&dav_profile(connector)).unwrap_err();
        assert_eq!(err.key(), Some(key), "{connector}: {err}");
        assert!(!err.to_string().contains("hunter2"), "password leaked: {err}");
    }
    // A misspelt class is refused naming it and the classes there are (the
    // key path through the tagged connector table stops at `connector`).
    let err = parse(&dav_profile(
        "url = \"http://h/\", collections = { calender = \"Work\" }",
    ))
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("unknown field `calender`") && text.contains("`contacts`, `calendar`, `tasks`"),
        "{text}"
    );
}

// R-CFG-SECRET-2
#[test]
fn a_syntax_error_on_the_password_line_does_not_quote_it() {
    let err = parse("[[profile]]\nname = \"a\"\nuser = \"a\"\nconnector = { kind = \"dav\", url = \"http://h/\", password = \"hunter2 }\n")
        .unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }), "{err}");
    assert!(err.to_string().contains("line 4"), "{err}");
    assert!(!err.to_string().contains("hunter2"), "password leaked: {err}");
}

// R-CFG-SECRET-1
#[test]
fn the_env_var_a_password_names_is_not_taken_for_a_mistyped_key() {
    let text = dav_profile("url = \"http://h/\", username = \"a\", password = { env = \"CRMSYNC_ANNA_DAV_PASSWORD\" }");
    let ok = Config::parse_with_env(&text, "t", &env(&[("CRMSYNC_ANNA_DAV_PASSWORD", "hunter2")]));
    assert!(ok.is_ok(), "{ok:?}");
    // Without the reference it is an unknown configuration variable again.
    let err = Config::parse_with_env("", "t", &env(&[("CRMSYNC_ANNA_DAV_PASSWORD", "hunter2")])).unwrap_err();
    assert!(err.to_string().contains("CRMSYNC_ANNA_DAV_PASSWORD"), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

// R-SEC-1: the allow-list comes from the file or, comma-separated, from the environment.
#[test]
fn r_sec_1_allowed_hosts_from_the_file_or_the_environment() {
    let file = Config::parse_with_env("[security]\nallowed_hosts = [\"dav.lan\"]\n", "t", &env(&[])).unwrap();
    assert_eq!(file.security.allowed_hosts, ["dav.lan"]);
    let from_env = Config::parse_with_env(
        "",
        "t",
        &env(&[("CRMSYNC_SECURITY_ALLOWED_HOSTS", "dav.lan, 10.0.0.0/8")]),
    )
    .unwrap();
    assert_eq!(from_env.security.allowed_hosts, ["dav.lan", "10.0.0.0/8"]);
    assert!(Config::default().security.allowed_hosts.is_empty());
}

// R-API-11: one body limit; a configuration that names none gets the 5 MiB
// that a contact with the largest photo needs (it was 1 MiB here).
#[test]
fn r_api_11_the_default_body_limit_holds_the_largest_photo() {
    let c = parse("").unwrap();
    assert_eq!(c.server.max_body_bytes, crate::DEFAULT_MAX_BODY_BYTES);
    assert_eq!(crate::DEFAULT_MAX_BODY_BYTES, 5 * 1024 * 1024);
}

// R-PROFILE-MAIL-1
#[test]
fn r_profile_mail_1_a_mail_connector_beside_a_vdir_or_dav_one() {
    let imap = "{ kind = \"imap\", host = \"imap.example.com\", username = \"anna\", password = \"pw\" }";
    let text = format!(
        "[[profile]]\nname = \"anna\"\nuser = \"anna\"\nconnector = {{ kind = \"vdir\", root = \"/srv/anna\" }}\n\
         mail = {imap}\n"
    );
    let c = parse(&text).unwrap();
    assert_eq!(c.profiles[0].connector.kind(), "vdir");
    assert_eq!(c.profiles[0].mail.as_ref().map(|m| m.kind()), Some("imap"));
    // `mail` must hold e-mail, and not sit beside another mail connector.
    let vdir_as_mail = "[[profile]]\nname = \"anna\"\nuser = \"anna\"\nconnector = { kind = \"vdir\", root = \"/a\" }\n\
                        mail = { kind = \"vdir\", root = \"/b\" }\n";
    assert!(
        parse(vdir_as_mail)
            .unwrap_err()
            .to_string()
            .contains("profile[0].mail.kind")
    );
    let two_mail = format!("[[profile]]\nname = \"anna\"\nuser = \"anna\"\nconnector = {imap}\nmail = {imap}\n");
    assert!(parse(&two_mail).unwrap_err().to_string().contains("profile[0].mail"));
    // The mail connector's own checks name its keys.
    let bad = text.replace("host = \"imap.example.com\"", "host = \"\"");
    assert!(
        parse(&bad).unwrap_err().to_string().contains("profile[0].mail.host"),
        "{:?}",
        parse(&bad)
    );
}

#[test]
fn r_sched_2_the_public_url_is_checked_and_overridable() {
    let config = Config::parse_with_env(
        "",
        "t",
        &env(&[("CRMSYNC_SERVER_PUBLIC_URL", "https://sync.example.com/crm")]),
    )
    .expect("valid");
    assert_eq!(config.server.public_url, "https://sync.example.com/crm");
    assert_eq!(parse("").unwrap().server.public_url, "", "off by default");
    for bad in [
        "sync.example.com",
        "ftp://x",
        "https://u:hunter2@x",
        "https://x/?a=1",
        "https://x/#f",
    ] {
        let err = parse(&format!("[server]\npublic_url = \"{bad}\"\n")).unwrap_err();
        assert_eq!(err.key(), Some("server.public_url"), "{bad}: {err}");
        assert!(!err.to_string().contains("hunter2"), "leaked: {err}");
    }
}

#[test]
fn r_web_21_the_live_poll_interval_is_checked_and_overridable() {
    assert_eq!(parse("").unwrap().server.live_poll_millis, 1000, "a second by default");
    let config = Config::parse_with_env("", "t", &env(&[("CRMSYNC_SERVER_LIVE_POLL_MILLIS", "250")])).expect("valid");
    assert_eq!(config.server.live_poll_millis, 250);
    for bad in [0, 99, 60_001] {
        let err = parse(&format!("[server]\nlive_poll_millis = {bad}\n")).unwrap_err();
        assert_eq!(err.key(), Some("server.live_poll_millis"), "{bad}: {err}");
    }
}
