//! Just enough HTTP/1.1 framing to act per request: read a message head, tell
//! how its body is delimited (Content-Length, chunked, or until close), read
//! that body byte for byte, and rewrite the `Connection` header.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// Heads longer than this are refused (no DAV request comes close).
const MAX_HEAD: usize = 64 * 1024;

/// A request or status line and its header lines, without line ends.
#[derive(Clone, Debug)]
pub struct Head {
    pub start: String,
    pub headers: Vec<(String, String)>,
}

/// How a message body ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    Empty,
    Length(u64),
    Chunked,
    /// A reply without length: the body runs until the server closes.
    UntilClose,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Request method and target (`PUT`, `/crm/contacts/a.vcf`).
    pub fn method_and_target(&self) -> (&str, &str) {
        let mut parts = self.start.split(' ');
        (parts.next().unwrap_or(""), parts.next().unwrap_or(""))
    }

    /// Status code of a reply head.
    pub fn status(&self) -> u16 {
        self.start.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
    }

    fn chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    }

    fn length(&self) -> Option<u64> {
        self.header("content-length").and_then(|v| v.trim().parse().ok())
    }

    /// A request body is chunked, counted, or absent (RFC 9112 §6.3).
    pub fn request_framing(&self) -> Framing {
        if self.chunked() {
            Framing::Chunked
        } else {
            self.length().map_or(Framing::Empty, Framing::Length)
        }
    }

    /// A reply body; replies to HEAD and 1xx/204/304 have none.
    pub fn reply_framing(&self, request_method: &str) -> Framing {
        let status = self.status();
        if request_method.eq_ignore_ascii_case("HEAD") || (100..200).contains(&status) || matches!(status, 204 | 304) {
            Framing::Empty
        } else if self.chunked() {
            Framing::Chunked
        } else {
            self.length().map_or(Framing::UntilClose, Framing::Length)
        }
    }

    /// The head as bytes with `Connection: close` instead of whatever it said.
    pub fn to_bytes_closing(&self) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.start);
        for (name, value) in &self.headers {
            if !name.eq_ignore_ascii_case("connection") && !name.eq_ignore_ascii_case("keep-alive") {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        out.push_str("Connection: close\r\n\r\n");
        out.into_bytes()
    }
}

/// Reads one head; `None` when the peer closed before sending a byte.
pub async fn read_head<R: AsyncBufRead + Unpin>(reader: &mut R) -> io::Result<Option<Head>> {
    let mut lines = Vec::new();
    let mut total = 0;
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).await?;
        if n == 0 {
            return if lines.is_empty() {
                Ok(None)
            } else {
                Err(io::Error::new(io::ErrorKind::UnexpectedEof, "head cut short"))
            };
        }
        total += n;
        if total > MAX_HEAD {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "head too long"));
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            if lines.is_empty() {
                continue; // RFC 9112 §2.2: ignore empty lines before a request line.
            }
            break;
        }
        lines.push(line);
    }
    let start = lines.remove(0);
    let headers = lines
        .into_iter()
        .filter_map(|l| {
            l.split_once(':')
                .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        })
        .collect();
    Ok(Some(Head { start, headers }))
}

/// Reads a body exactly as framed, returning its bytes as sent (chunk sizes
/// and trailers included), so it can be forwarded unchanged.
pub async fn read_body<R: AsyncBufRead + Unpin>(reader: &mut R, framing: Framing) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    match framing {
        Framing::Empty => {}
        Framing::Length(n) => {
            reader.take(n).read_to_end(&mut body).await?;
            if (body.len() as u64) < n {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "body cut short"));
            }
        }
        Framing::UntilClose => {
            reader.read_to_end(&mut body).await?;
        }
        Framing::Chunked => loop {
            let size_line = read_line_raw(reader, &mut body).await?;
            let size_text = size_line.split(';').next().unwrap_or("").trim();
            let size = u64::from_str_radix(size_text, 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if size == 0 {
                // Trailer lines up to the empty line that ends the message.
                while !read_line_raw(reader, &mut body).await?.is_empty() {}
                break;
            }
            let start = body.len();
            reader.take(size + 2).read_to_end(&mut body).await?;
            if (body.len() - start) as u64 != size + 2 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "chunk cut short"));
            }
        },
    }
    Ok(body)
}

/// Appends one line (with its line end) to `out` and returns it trimmed.
async fn read_line_raw<R: AsyncBufRead + Unpin>(reader: &mut R, out: &mut Vec<u8>) -> io::Result<String> {
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line).await? == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "line cut short"));
    }
    out.extend_from_slice(&line);
    Ok(String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(raw: &[u8]) -> (Head, Vec<u8>, Vec<u8>) {
        let mut reader = tokio::io::BufReader::new(raw);
        let head = read_head(&mut reader).await.unwrap().unwrap();
        let framing = if head.start.starts_with("HTTP/") {
            head.reply_framing("GET")
        } else {
            head.request_framing()
        };
        let body = read_body(&mut reader, framing).await.unwrap();
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).await.unwrap();
        (head, body, rest)
    }

    #[tokio::test]
    async fn content_length_body_stops_at_its_length() {
        let (head, body, rest) =
            parse(b"PUT /c/a.vcf HTTP/1.1\r\nContent-Length: 5\r\nIf-Match: \"1\"\r\n\r\nhelloNEXT").await;
        assert_eq!(head.method_and_target(), ("PUT", "/c/a.vcf"));
        assert_eq!(head.header("if-match"), Some("\"1\""));
        assert_eq!(body, b"hello");
        assert_eq!(rest, b"NEXT", "the next request on the connection is left alone");
    }

    #[tokio::test]
    async fn chunked_body_is_kept_verbatim_up_to_its_end() {
        let wire = b"5;x=y\r\nhello\r\n3\r\nabc\r\n0\r\nTrailer: t\r\n\r\n";
        let mut raw = b"HTTP/1.1 207 Multi-Status\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        raw.extend_from_slice(wire);
        raw.extend_from_slice(b"NEXT");
        let (head, body, rest) = parse(&raw).await;
        assert_eq!(head.status(), 207);
        assert_eq!(body, wire);
        assert_eq!(rest, b"NEXT");
    }

    #[tokio::test]
    async fn reply_without_length_runs_until_close_and_204_has_no_body() {
        let (_, body, _) = parse(b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nall of it").await;
        assert_eq!(body, b"all of it");
        let (_, body, rest) = parse(b"HTTP/1.1 204 No Content\r\n\r\nNEXT").await;
        assert!(body.is_empty());
        assert_eq!(rest, b"NEXT");
    }

    #[tokio::test]
    async fn rewritten_head_says_close_once() {
        let mut reader = tokio::io::BufReader::new(
            &b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nKeep-Alive: 5\r\n\r\n"[..],
        );
        let head = read_head(&mut reader).await.unwrap().unwrap();
        let text = String::from_utf8(head.to_bytes_closing()).unwrap();
        assert_eq!(text, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    }
}
