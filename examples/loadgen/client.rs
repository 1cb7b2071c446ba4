//! One HTTP/1.1 keep-alive connection to the server, speaking GraphQL over HTTP as a client
//! would.

use std::net::SocketAddr;

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A connection of one virtual client.
pub struct Client {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

impl Client {
    /// Opens a connection (no TLS: all traffic stays on the loopback).
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Ends when the client is dropped or the server closes the connection.
            let _ = conn.await;
        });
        Ok(Self {
            sender,
            host: addr.to_string(),
        })
    }

    /// Posts a GraphQL request body with a bearer token (none if empty); returns the status
    /// and the body.
    pub async fn post(&mut self, token: &str, body: Bytes) -> anyhow::Result<(StatusCode, Bytes)> {
        self.post_from(None, token, body).await
    }

    /// Like [`Client::post`], as if relayed by a proxy for the client at `forwarded_for`
    /// (sent as `X-Forwarded-For`) when it is given.
    pub async fn post_from(
        &mut self,
        forwarded_for: Option<&str>,
        token: &str,
        body: Bytes,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut request = Request::post("/graphql")
            .header(HOST, &self.host)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json");
        if !token.is_empty() {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(address) = forwarded_for {
            request = request.header("x-forwarded-for", address);
        }
        let request = request.body(Full::new(body))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// A GET without credentials (health checks).
    pub async fn get(&mut self, path: &str) -> anyhow::Result<StatusCode> {
        let request = Request::get(path)
            .header(HOST, &self.host)
            .body(Full::new(Bytes::new()))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        response.into_body().collect().await?;
        Ok(status)
    }
}

/// Whether a GraphQL response is a success: status 200, data, and no `errors` entry. A
/// quoted `"errors"` key cannot occur inside a JSON string (its quotes would be escaped),
/// so a byte search is exact and spares parsing every response.
pub fn is_success(status: StatusCode, body: &[u8]) -> bool {
    status == StatusCode::OK
        && contains(body, b"\"data\"")
        && !contains(body, b"\"errors\"")
        && !body.starts_with(b"{\"data\":null")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
