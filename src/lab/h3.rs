//! The lab's HTTP/3 side: the same login site over QUIC (quinn) and HTTP/3 (h3), on the HTTPS
//! port number over UDP, with the same certificate and the same key log as the HTTPS side. The
//! HTTPS side advertises it with `Alt-Svc`, as real sites do, so browsers move to it.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use bytes::{Buf, Bytes};
use rustls::ServerConfig;

use super::{route, LabError, MAX_REQUEST};

/// How often the server looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(100);

/// Starts the HTTP/3 server on `socket` (already bound, so the caller knows its port) with a
/// TLS configuration like the HTTPS side's (ALPN `h3`, TLS 1.3 only, which QUIC requires).
pub fn start(
    socket: UdpSocket,
    mut tls: ServerConfig,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, LabError> {
    tls.alpn_protocols = vec![b"h3".to_vec()];
    tls.max_early_data_size = 0;
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls)
        .map_err(|e| LabError::Certificate(format!("QUIC: {e}")))?;
    let server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| LabError::Certificate(format!("the HTTP/3 runtime: {e}")))?;
    let endpoint = {
        let _guard = runtime.enter();
        quinn::Endpoint::new(
            quinn::EndpointConfig::default(),
            Some(server),
            socket,
            Arc::new(quinn::TokioRuntime),
        )
        .map_err(|e| LabError::Certificate(format!("the HTTP/3 endpoint: {e}")))?
    };
    Ok(thread::spawn(move || {
        runtime.block_on(async move {
            while !stop.load(Ordering::Relaxed) {
                let incoming = tokio::time::timeout(STOP_POLL, endpoint.accept()).await;
                match incoming {
                    Ok(Some(incoming)) => {
                        tokio::spawn(connection(incoming));
                    }
                    Ok(None) => break,
                    Err(_) => {}
                }
            }
            endpoint.close(0u32.into(), b"lab stopped");
            // Let the CONNECTION_CLOSE frames go out before the runtime goes.
            let _ = tokio::time::timeout(Duration::from_secs(1), endpoint.wait_idle()).await;
        });
    }))
}

/// One QUIC connection: its requests, each answered as the HTTPS side would.
async fn connection(incoming: quinn::Incoming) {
    let Ok(conn) = incoming.await else {
        return;
    };
    let Ok(mut h3) = h3::server::Connection::<_, Bytes>::new(h3_quinn::Connection::new(conn)).await
    else {
        return;
    };
    while let Ok(Some(resolver)) = h3.accept().await {
        tokio::spawn(async move {
            let Ok((request, mut stream)) = resolver.resolve_request().await else {
                return;
            };
            let mut body = Vec::new();
            while let Ok(Some(mut chunk)) = stream.recv_data().await {
                while chunk.has_remaining() && body.len() < MAX_REQUEST {
                    let piece = chunk.chunk();
                    let take = piece.len().min(MAX_REQUEST - body.len());
                    body.extend_from_slice(&piece[..take]);
                    chunk.advance(take);
                }
                if body.len() >= MAX_REQUEST {
                    break;
                }
            }
            let path = request
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_string();
            let (status, page) = route(request.method().as_str(), &path, &body, "https");
            let code = status
                .split(' ')
                .next()
                .and_then(|c| c.parse::<u16>().ok())
                .unwrap_or(500);
            let response = http::Response::builder()
                .status(code)
                .header("content-type", "text/html; charset=utf-8")
                .header("strict-transport-security", "max-age=31536000")
                .header("content-length", page.len())
                .body(());
            let Ok(response) = response else {
                return;
            };
            if stream.send_response(response).await.is_ok()
                && stream.send_data(Bytes::from(page)).await.is_ok()
            {
                let _ = stream.finish().await;
            }
        });
    }
}
