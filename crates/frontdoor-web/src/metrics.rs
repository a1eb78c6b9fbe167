//! Prometheus metrics: request counts and latencies by route (never by URL, which holds ids).

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

/// The process-wide recorder. `metrics` is process-global by design, so several servers in one
/// test process share it.
pub(crate) fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed already; ours then just stays empty.
            let _ = ::metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

pub(crate) async fn track(req: Request, next: Next) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    let elapsed = start.elapsed();
    // The route template, never the URL: ids stay out of logs as well as metrics.
    tracing::info!(method = %method, route = %route, status = resp.status().as_u16(), ms = elapsed.as_secs_f64() * 1000.0, "request");
    let status = resp.status().as_u16().to_string();
    ::metrics::counter!("frontdoor_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    ::metrics::histogram!("frontdoor_http_request_duration_seconds", "method" => method, "route" => route)
        .record(elapsed.as_secs_f64());
    resp
}

pub(crate) async fn render(State(state): State<crate::AppState>) -> Response {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}
