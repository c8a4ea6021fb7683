//! Opening an IMAP session: TCP, TLS or STARTTLS (rustls with the Mozilla
//! roots and the profile's `ca_file`), then LOGIN or SASL XOAUTH2. Every step has the profile's time-out,
//! so a server that stops answering ends the call instead of the run.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use crmsync_connector::{ConnectorError, Reach, Secret};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use crate::config::{ImapConfig, Login, TlsMode};
use crate::error::from_imap;

/// A plain or TLS connection, so one session type serves every mode.
pub(crate) trait Wire: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> Wire for T {}

pub(crate) type Session = async_imap::Session<Box<dyn Wire>>;

/// Runs `fut` with the profile's time-out.
pub(crate) async fn timed<T>(
    limit: Duration,
    what: &str,
    fut: impl Future<Output = Result<T, ConnectorError>>,
) -> Result<T, ConnectorError> {
    tokio::time::timeout(limit, fut).await.unwrap_or_else(|_| {
        Err(ConnectorError::Timeout {
            detail: format!("{what} took longer than {}s", limit.as_secs()),
        })
    })
}

/// Connects and logs in. The host is resolved and its addresses checked
/// against `reach` first (R-SEC-1); the socket connects to those checked
/// addresses only, so nothing internal is contacted, not even by TCP.
pub(crate) async fn open(config: &ImapConfig, reach: &Reach) -> Result<Session, ConnectorError> {
    let login = config
        .login()
        .map_err(|e| ConnectorError::Unauthorized { detail: e.to_string() })?;
    let limit = Duration::from_secs(config.timeout_secs);
    let address = format!("{}:{}", config.host, config.port());
    let allowed = timed(limit, "resolving", reach.resolve(&config.host, config.port())).await?;
    let tcp = timed(limit, "connecting", async {
        TcpStream::connect(allowed.as_slice())
            .await
            .map_err(|e| ConnectorError::Unreachable {
                detail: format!("connecting to {address}: {e}"),
            })
    })
    .await?;
    let _ = tcp.set_nodelay(true);
    let wire: Box<dyn Wire> = match config.tls {
        TlsMode::None => Box::new(tcp),
        TlsMode::Tls => Box::new(tls(config, tcp, limit).await?),
        TlsMode::Starttls => {
            let mut client = async_imap::Client::new(tcp);
            timed(limit, "the greeting", async {
                greeting(&mut client).await?;
                client
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .map_err(|e| ConnectorError::Forbidden {
                        detail: format!(
                            "the server refused STARTTLS ({e}); use tls = \"tls\" or a server that offers it"
                        ),
                    })
            })
            .await?;
            Box::new(tls(config, client.into_inner(), limit).await?)
        }
    };
    let mut client = async_imap::Client::new(wire);
    if config.tls != TlsMode::Starttls {
        timed(limit, "the greeting", greeting(&mut client)).await?;
    }
    timed(limit, "logging in", async {
        let result = match &login {
            Login::Password(password) => client.login(&config.username, password.expose()).await,
            Login::XOauth2(token) => {
                client
                    .authenticate(
                        "XOAUTH2",
                        XOauth2 {
                            user: config.username.clone(),
                            token: token.clone(),
                        },
                    )
                    .await
            }
        };
        result.map_err(|(e, _)| match e {
            async_imap::error::Error::No(text) | async_imap::error::Error::Bad(text) => ConnectorError::Unauthorized {
                detail: format!("the IMAP server refused the login of {}: {text}", config.username),
            },
            other => from_imap("logging in", other),
        })
    })
    .await
}

async fn greeting<T: Wire>(client: &mut async_imap::Client<T>) -> Result<(), ConnectorError> {
    match client.read_response().await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(ConnectorError::Unreachable {
            detail: "the server closed the connection before its greeting".into(),
        }),
        Err(e) => Err(ConnectorError::Unreachable {
            detail: format!("reading the greeting: {e}"),
        }),
    }
}

async fn tls<T: Wire + 'static>(
    config: &ImapConfig,
    stream: T,
    limit: Duration,
) -> Result<tokio_rustls::client::TlsStream<T>, ConnectorError> {
    let host = config.host.as_str();
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(file) = &config.ca_file {
        add_ca_file(&mut roots, file)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls_config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectorError::InvalidResponse {
            detail: format!("TLS setup: {e}"),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string()).map_err(|e| ConnectorError::Unreachable {
        detail: format!("{host} is no valid TLS server name: {e}"),
    })?;
    timed(limit, "the TLS handshake", async {
        TlsConnector::from(Arc::new(tls_config))
            .connect(name, stream)
            .await
            .map_err(|e| handshake_error(host, e))
    })
    .await
}

/// The certificates of the profile's `ca_file` join the trusted roots. A
/// file that cannot be read or holds no certificate is a setting to fix,
/// not a server to wait for.
fn add_ca_file(roots: &mut RootCertStore, file: &std::path::Path) -> Result<(), ConnectorError> {
    let refused = |why: String| ConnectorError::Forbidden {
        detail: format!(
            "ca_file {}: {why}; name a readable PEM file of CA certificates",
            file.display()
        ),
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(file)
        .map_err(|e| refused(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| refused(e.to_string()))?;
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(refused("no usable certificate in it".into()));
    }
    Ok(())
}

/// A certificate the client does not trust is no outage: waiting does not
/// fix it, so it is not transient, and the message says what does.
fn handshake_error(host: &str, e: std::io::Error) -> ConnectorError {
    let rejected = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|r| matches!(r, rustls::Error::InvalidCertificate(_)));
    if rejected {
        ConnectorError::Forbidden {
            detail: format!(
                "the TLS certificate of {host} is not trusted ({e}): give its CA in ca_file, or have the server use a certificate for this host name from a public CA"
            ),
        }
    } else {
        ConnectorError::Unreachable {
            detail: format!("TLS with {host}: {e}"),
        }
    }
}

/// SASL XOAUTH2 (Google, Microsoft): user and token in one response.
struct XOauth2 {
    user: String,
    token: Secret,
}

impl async_imap::Authenticator for XOauth2 {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token.expose())
    }
}
