//! The load generator's HTTP/1.1 client: one persistent connection per worker, each request
//! written as prepared bytes and each response read by its Content-Length. Far cheaper per
//! request than a general client, so the generator does not become the bottleneck of the
//! measurement.

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Largest response accepted.
const MAX_RESPONSE: usize = 1 << 20;

/// A keep-alive connection to one `http://host:port`.
pub(crate) struct HttpConn {
    authority: String,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    request: Vec<u8>,
}

impl HttpConn {
    /// A connection to `authority` (`host:port`), opened on first use.
    pub(crate) fn new(authority: &str) -> Self {
        Self {
            authority: authority.to_owned(),
            stream: None,
            buf: Vec::with_capacity(8192),
            request: Vec::new(),
        }
    }

    /// POSTs `body` to `path` and returns the status and the body. Reconnects once when a
    /// kept-alive connection turns out closed. `extra` is more header lines, each ending
    /// in CRLF (or empty).
    pub(crate) async fn post(
        &mut self,
        path: &str,
        content_type: &str,
        body: &[u8],
        bearer: Option<&str>,
        extra: &str,
    ) -> Result<(u16, Vec<u8>), String> {
        self.request.clear();
        self.push_request(path, content_type, body, bearer, extra);
        let reused = self.stream.is_some();
        match self.round_trip().await {
            Ok(r) => Ok(r),
            Err(_) if reused => {
                self.stream = None;
                self.round_trip().await
            }
            Err(e) => Err(e),
        }
    }

    /// Appends one request to the bytes to send.
    fn push_request(
        &mut self,
        path: &str,
        content_type: &str,
        body: &[u8],
        bearer: Option<&str>,
        extra: &str,
    ) {
        let auth = bearer
            .map(|k| format!("Authorization: Bearer {k}\r\n"))
            .unwrap_or_default();
        self.request.extend_from_slice(
            format!(
                "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{auth}{extra}\r\n",
                self.authority,
                body.len()
            )
            .as_bytes(),
        );
        self.request.extend_from_slice(body);
    }

    async fn round_trip(&mut self) -> Result<(u16, Vec<u8>), String> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.authority)
                .await
                .map_err(|e| format!("connect {}: {e}", self.authority))?;
            let _ = s.set_nodelay(true);
            self.stream = Some(s);
        }
        let result = self.exchange().await;
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    /// Sends all `requests` (each a body and its extra header lines, as for
    /// [`post`](Self::post)) at once (HTTP/1.1 pipelining) and reads every answer, in order.
    pub(crate) async fn post_pipelined(
        &mut self,
        path: &str,
        content_type: &str,
        requests: &[(&[u8], &str)],
        bearer: Option<&str>,
    ) -> Result<Vec<(u16, Vec<u8>)>, String> {
        self.request.clear();
        for (body, extra) in requests {
            self.push_request(path, content_type, body, bearer, extra);
        }
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.authority)
                .await
                .map_err(|e| format!("connect {}: {e}", self.authority))?;
            let _ = s.set_nodelay(true);
            self.stream = Some(s);
        }
        let written = match self.stream.as_mut() {
            Some(stream) => stream
                .write_all(&self.request)
                .await
                .map_err(|e| e.to_string()),
            None => Err("not connected".into()),
        };
        if let Err(e) = written {
            self.stream = None;
            return Err(e);
        }
        self.buf.clear();
        let mut out = Vec::with_capacity(requests.len());
        for _ in 0..requests.len() {
            match self.read_response().await {
                Ok(r) => out.push(r),
                Err(e) => {
                    self.stream = None;
                    return Err(e);
                }
            }
        }
        Ok(out)
    }

    async fn exchange(&mut self) -> Result<(u16, Vec<u8>), String> {
        let stream = self.stream.as_mut().ok_or("not connected")?;
        stream
            .write_all(&self.request)
            .await
            .map_err(|e| e.to_string())?;
        self.buf.clear();
        self.read_response().await
    }

    /// Reads one response from what is buffered and the stream; what follows it stays
    /// buffered for the next.
    async fn read_response(&mut self) -> Result<(u16, Vec<u8>), String> {
        let stream = self.stream.as_mut().ok_or("not connected")?;
        let mut chunk = [0u8; 8192];
        let header_end = loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                break end + 4;
            }
            if self.buf.len() > MAX_RESPONSE {
                return Err("response header too large".into());
            }
            let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("connection closed".into());
            }
            self.buf
                .extend_from_slice(chunk.get(..n).unwrap_or_default());
        };
        let head = std::str::from_utf8(self.buf.get(..header_end).unwrap_or_default())
            .map_err(|e| e.to_string())?;
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {:?}", head.lines().next()))?;
        let mut length = None;
        let mut close = false;
        for line in head.lines().skip(1) {
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>().ok();
                } else if name.eq_ignore_ascii_case("connection")
                    && value.trim().eq_ignore_ascii_case("close")
                {
                    close = true;
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    return Err("chunked responses are not supported by the load generator".into());
                }
            }
        }
        let length = length.ok_or("response without Content-Length")?;
        if length > MAX_RESPONSE {
            return Err("response too large".into());
        }
        while self.buf.len() < header_end + length {
            let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("connection closed mid-body".into());
            }
            self.buf
                .extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
        let body = self
            .buf
            .get(header_end..header_end + length)
            .unwrap_or_default()
            .to_vec();
        self.buf.drain(..header_end + length);
        if close {
            self.stream = None;
        }
        Ok((status, body))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Splits `http://host:port/path` into `host:port` and `/path`.
pub(crate) fn split_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: the load generator speaks plain http only"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (
            rest.get(..i).unwrap_or_default(),
            rest.get(i..).unwrap_or("/"),
        ),
        None => (rest, "/"),
    };
    let authority = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Ok((authority, path.to_owned()))
}
