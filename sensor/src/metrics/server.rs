//! The metrics HTTP endpoint: `GET /metrics` in the Prometheus text format,
//! served by a small tokio runtime on its own thread.

use std::{net::SocketAddr, sync::Arc, thread::JoinHandle};

use anyhow::Context;
use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use tokio::sync::oneshot;

use crate::metrics::MetricsSources;

/// A running metrics endpoint; [`MetricsServer::stop`] shuts it down.
pub struct MetricsServer {
    local_addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    handle: JoinHandle<()>,
}

impl MetricsServer {
    /// Binds `listen` now, so a taken port fails at start, then serves on a
    /// thread of its own.
    pub fn start(listen: SocketAddr, sources: Arc<MetricsSources>) -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind(listen).with_context(|| {
            format!(
                "failed to listen on {listen} for metrics: pick a free --metrics-listen address"
            )
        })?;
        listener
            .set_nonblocking(true)
            .context("failed to make the metrics socket non-blocking")?;
        let local_addr = listener
            .local_addr()
            .context("metrics socket has no address")?;

        let (shutdown, shutdown_rx) = oneshot::channel();
        let handle = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || serve(listener, sources, shutdown_rx))
            .context("failed to start the metrics thread")?;

        tracing::info!(%local_addr, "serving metrics on /metrics");
        Ok(MetricsServer {
            local_addr,
            shutdown,
            handle,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops serving and waits for the thread.
    pub fn stop(self) {
        let _ = self.shutdown.send(());
        if self.handle.join().is_err() {
            tracing::error!("the metrics thread panicked");
        }
    }
}

fn serve(
    listener: std::net::TcpListener,
    sources: Arc<MetricsSources>,
    shutdown: oneshot::Receiver<()>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "failed to start the metrics runtime; metrics are off");
            return;
        }
    };

    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(error) => {
                tracing::error!(%error, "failed to register the metrics socket; metrics are off");
                return;
            }
        };
        let app = Router::new()
            .route("/metrics", get(metrics))
            .with_state(sources);
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = shutdown.await;
            })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "metrics endpoint failed");
        }
    });
}

async fn metrics(State(sources): State<Arc<MetricsSources>>) -> impl IntoResponse {
    match sources.render() {
        Ok(body) => (
            StatusCode::OK,
            [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, "failed to render metrics");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("failed to render metrics: {error}\n"),
            )
                .into_response()
        }
    }
}
