//! The HTTP API (axum on a small tokio runtime; solves never run on it).
//!
//! | method | path | answer |
//! |---|---|---|
//! | `POST` | `/v1/jobs` | `202 {"id"}` (a solve request; `Idempotency-Key` honoured) |
//! | `POST` | `/v1/plans` | `202 {"id"}` (an orchestration scenario) |
//! | `GET` | `/v1/jobs?limit=&cursor=` | a page of jobs, newest first, and `next_cursor` |
//! | `GET` | `/v1/jobs/{id}` | status, progress, result (as `qam solve --output json`) |
//! | `DELETE` | `/v1/jobs/{id}` | cancels (a running solver keeps its best state) |
//! | `GET` | `/v1/jobs/{id}/events` | server-sent events: `progress` ... `end` |
//! | `GET` | `/metrics` | Prometheus text |
//! | `GET` | `/healthz` | `ok` (no token needed) |
//! | `GET` | `/` | the dashboard page (no token needed; it asks for one) |

use super::request::{PlanRequest, Rejection, SolveRequest, parse_json};
use super::runner::{Shared, internal};
use super::{ServeError, journal::JobRow};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How often the event stream looks at a running job.
const EVENT_INTERVAL: Duration = Duration::from_millis(100);

/// Longest `Idempotency-Key` accepted.
const MAX_KEY_LEN: usize = 255;

/// Most jobs on one page of `GET /v1/jobs`.
const MAX_PAGE: usize = 500;

type Ctx = State<Arc<Shared>>;

/// Serves the API on `shared.config.listen` until the process ends.
pub fn serve(shared: Arc<Shared>, on_listen: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let io = |what: &str| {
        let what = what.to_string();
        move |source| ServeError::Io { what, source }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("qam-http")
        .enable_all()
        .build()
        .map_err(io("cannot start the async runtime"))?;
    let addr = shared.config.listen;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(io(&format!("cannot listen on {addr}")))?;
        on_listen(listener.local_addr().map_err(io("local address"))?);
        axum::serve(listener, router(shared)).await.map_err(io("serving HTTP"))
    })
}

/// The routes.
pub fn router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/v1/jobs", post(submit_job).get(list_jobs))
        .route("/v1/plans", post(submit_plan))
        .route("/v1/jobs/{id}", get(get_job).delete(cancel_job))
        .route("/v1/jobs/{id}/events", get(events))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(shared.clone(), auth));
    Router::new()
        .route("/", get(dashboard))
        .route("/healthz", get(|| async { "ok\n" }))
        .merge(api)
        .layer(DefaultBodyLimit::max(shared.config.limits.max_body_bytes))
        .with_state(shared)
}

/// Compares in time independent of where the inputs differ (length still shows).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn auth(State(s): Ctx, req: Request, next: Next) -> Response {
    if let Some(token) = &s.config.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| constant_time_eq(g.trim().as_bytes(), token.as_bytes())) {
            s.metrics.rejected(401);
            let mut r = error_response(&Rejection::new(
                401,
                "missing or wrong bearer token (Authorization: Bearer ...)",
            ));
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    }
    next.run(req).await
}

fn error_response(r: &Rejection) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut body = json!({"error": r.message});
    if let Some(l) = r.limit {
        body["limit"] = json!(l);
    }
    (status, axum::Json(body)).into_response()
}

fn reply(s: &Shared, r: Result<(u16, Value), Rejection>) -> Response {
    match r {
        Ok((code, body)) => (StatusCode::from_u16(code).unwrap_or(StatusCode::OK), axum::Json(body)).into_response(),
        Err(e) => {
            s.metrics.rejected(e.status);
            error_response(&e)
        }
    }
}

fn body_or_reject(s: &Shared, body: Result<Bytes, BytesRejection>) -> Result<Bytes, Rejection> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Rejection::limit(
                413,
                "max-body-bytes",
                format!(
                    "the request body is over the limit max-body-bytes = {} bytes",
                    s.config.limits.max_body_bytes
                ),
            )
        } else {
            Rejection::new(e.status().as_u16(), e.body_text())
        }
    })
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Rejection> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => match v.to_str() {
            Ok(k) if !k.is_empty() && k.len() <= MAX_KEY_LEN => Ok(Some(k.to_string())),
            _ => Err(Rejection::new(
                400,
                format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
            )),
        },
    }
}

async fn submit(
    s: Arc<Shared>,
    kind: &'static str,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let pre = body_or_reject(&s, body).and_then(|b| Ok((b, idempotency_key(&headers)?)));
    let (body, key) = match pre {
        Ok(x) => x,
        Err(e) => return reply(&s, Err(e)),
    };
    // Parsing a model and committing the journal are blocking work: off the runtime.
    let s2 = s.clone();
    let r = tokio::task::spawn_blocking(move || {
        let limits = &s2.config.limits;
        let request = if kind == "plan" {
            let req: PlanRequest = parse_json(&body)?;
            req.check(limits)?;
            serde_json::to_string(&req)
        } else {
            let req: SolveRequest = parse_json(&body)?;
            req.check(limits)?;
            serde_json::to_string(&req)
        }
        .map_err(|e| Rejection::new(500, e.to_string()))?;
        s2.admit(kind, &request, key.as_deref())
    })
    .await
    .unwrap_or_else(|e| Err(Rejection::new(500, format!("internal error: {e}"))));
    reply(&s, r)
}

async fn submit_job(State(s): Ctx, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    submit(s, "solve", headers, body).await
}

async fn submit_plan(State(s): Ctx, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    submit(s, "plan", headers, body).await
}

/// The API view of a job.
fn job_view(s: &Shared, row: &JobRow, history: bool) -> Value {
    let result: Option<Value> = row.result.as_deref().and_then(|t| serde_json::from_str(t).ok());
    let progress = match (row.status.as_str(), s.live(&row.id)) {
        ("running", Some(live)) => live.snapshot(history),
        ("queued", _) | ("running", None) => json!({"fraction": 0.0, "best_energy": null}),
        _ => json!({
            "fraction": 1.0,
            "best_energy": result.as_ref().and_then(|r| r.get("energy")).cloned(),
        }),
    };
    let req: Value = serde_json::from_str(&row.request).unwrap_or(Value::Null);
    json!({
        "id": row.id,
        "kind": row.kind,
        "status": row.status,
        "solver": req.get("solver"),
        "name": req.get("name"),
        "created_at": row.created_at,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "attempts": row.attempts,
        "cancel_requested": row.cancel_requested,
        "progress": progress,
        "result": result,
        "error": row.error,
    })
}

fn not_found(id: &str) -> Rejection {
    Rejection::new(404, format!("no job {id}"))
}

async fn get_job(State(s): Ctx, Path(id): Path<String>) -> Response {
    let row = s.journal().get(&id).map_err(internal);
    let r = match row {
        Ok(Some(row)) => Ok((200, job_view(&s, &row, true))),
        Ok(None) => Err(not_found(&id)),
        Err(e) => Err(e),
    };
    reply(&s, r)
}

#[derive(Deserialize)]
struct Page {
    limit: Option<usize>,
    cursor: Option<i64>,
}

async fn list_jobs(State(s): Ctx, Query(p): Query<Page>) -> Response {
    let limit = p.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let rows = s.journal().list(limit, p.cursor).map_err(internal);
    let r = rows.map(|rows| {
        let next = if rows.len() == limit {
            rows.last().map(|r| r.seq)
        } else {
            None
        };
        let jobs: Vec<Value> = rows
            .iter()
            .map(|row| {
                let mut v = job_view(&s, row, false);
                // The list stays small: the energy, not the state.
                let energy = v["result"].get("energy").cloned();
                v["energy"] = energy.unwrap_or(Value::Null);
                v.as_object_mut().map(|o| o.remove("result"));
                v
            })
            .collect();
        (200, json!({"jobs": jobs, "next_cursor": next}))
    });
    reply(&s, r)
}

async fn cancel_job(State(s): Ctx, Path(id): Path<String>) -> Response {
    let r = match s.cancel(&id) {
        Ok(Some(x)) => Ok(x),
        Ok(None) => Err(not_found(&id)),
        Err(e) => Err(e),
    };
    reply(&s, r)
}

async fn metrics(State(s): Ctx) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.render_metrics(),
    )
        .into_response()
}

async fn dashboard() -> Html<&'static str> {
    Html(include_str!("dashboard.html"))
}

struct Watch {
    shared: Arc<Shared>,
    id: String,
    last: Option<(String, u64, Option<u64>)>,
    ended: bool,
    first: bool,
}

/// `progress` events while the job is queued or running (at most one per 100 ms, only when
/// something changed: status, work done or best energy; the first one carries the
/// best-energy history), then
/// one `end` event with the final status and energy, then the stream closes.
async fn events(State(s): Ctx, Path(id): Path<String>) -> Response {
    match s.journal().get(&id) {
        Ok(Some(_)) => {}
        Ok(None) => return reply(&s, Err(not_found(&id))),
        Err(e) => return reply(&s, Err(internal(e))),
    }
    let start = Watch {
        shared: s.clone(),
        id,
        last: None,
        ended: false,
        first: true,
    };
    let stream = futures_util::stream::unfold(start, |mut w| async move {
        if w.ended {
            return None;
        }
        loop {
            if !w.first {
                // At most one event per interval, however fast the work counter moves.
                tokio::time::sleep(EVENT_INTERVAL).await;
            }
            let row = match w.shared.journal().get(&w.id) {
                Ok(Some(row)) => row,
                _ => return None,
            };
            let v = job_view(&w.shared, &row, w.first);
            let terminal = !matches!(row.status.as_str(), "queued" | "running");
            let mut data = json!({
                "id": w.id,
                "status": row.status,
                "progress": v["progress"],
            });
            if terminal {
                w.ended = true;
                data["energy"] = v["result"].get("energy").cloned().unwrap_or(Value::Null);
                data["error"] = v["error"].clone();
                let ev = Event::default().event("end").json_data(data);
                return Some((ev, w));
            }
            let key = (
                row.status.clone(),
                v["progress"]["done"].as_u64().unwrap_or(0),
                v["progress"]["best_energy"].as_f64().map(f64::to_bits),
            );
            w.first = false;
            if w.last.as_ref() != Some(&key) {
                w.last = Some(key);
                let ev = Event::default().event("progress").json_data(data);
                return Some((ev, w));
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn token_compare() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
