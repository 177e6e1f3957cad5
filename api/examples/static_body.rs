//! The reference for `scripts/bench-markets.sh`: a plain Axum server that answers every request
//! with the bytes of one file, as fast as this machine serves a fixed body. The market pages are
//! measured against it in the same run, so the ratio does not depend on how busy the machine is.
//!
//! ```sh
//! cargo run --release -p kairos-api --example static_body -- 127.0.0.1:18181 page.json
//! ```

use axum::body::Bytes;
use axum::http::header;

#[tokio::main]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let [_, addr, file] = args.as_slice() else { return Err("usage: static_body ADDRESS FILE".to_string()) };
    let body = Bytes::from(std::fs::read(file).map_err(|e| format!("{file}: {e}"))?);
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], body) }
    });
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| e.to_string())?;
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}
