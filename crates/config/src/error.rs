use thiserror::Error;

/// Every configuration problem names the key (or file) at fault and is
/// permanent: retrying with the same file and environment cannot help.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config file {origin} is not valid TOML: {message}")]
    Syntax { origin: String, message: String },
    #[error("config key `{key}`: {message}")]
    Invalid { key: String, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
}

impl ConfigError {
    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }

    /// The key this error is about, when it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }
}

/// Names the offending key of a deserialisation error: the path to where it
/// failed, plus the field itself when serde reports an unknown or missing one
/// (a missing field's error is raised on the enclosing table, so its path stops short).
pub(crate) fn key_of(path: &str, message: &str) -> String {
    let path = if path == "." { "" } else { path };
    let field = ["unknown field `", "missing field `", "unknown variant `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    match (path.is_empty(), field) {
        (true, Some(f)) => f.to_string(),
        // serde_path_to_error already ends the path with an unknown field.
        (false, Some(f)) if !message.starts_with("unknown variant") && !path.ends_with(f) => format!("{path}.{f}"),
        (false, _) => path.to_string(),
        (true, None) => "<config>".to_string(),
    }
}
