//! Operations: the administrators' page (outbox, dead letters, audit trail),
//! health and readiness probes, Prometheus metrics.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use sportello_app::AppError;
use sportello_core::authz::Action;
use sportello_store::audit::{self, Verification};
use sportello_store::outbox::{self, Depth, OutboxItem};

use crate::ctx::{Ctx, PageCtx};
use crate::error::WebError;
use crate::pages::{CsrfFormPublic, render};
use crate::{Shared, state_ready};

pub struct AuditRow {
    pub seq: i64,
    pub when: String,
    pub actor: String,
    pub action: String,
    pub target: String,
}

#[derive(Template)]
#[template(path = "operations.html")]
struct OperationsPage {
    ctx: PageCtx,
    depth: Depth,
    dead: Vec<OutboxItem>,
    audit: Vec<AuditRow>,
    verification: Option<(bool, String)>,
    notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "outbox_depth.html")]
struct DepthFragment {
    ctx: PageCtx,
    depth: Depth,
}

/// Formats a stored UTC instant in the configured business time zone.
pub fn local_time(micros: i64, tz: &str) -> String {
    let Ok(ts) = jiff::Timestamp::from_microsecond(micros) else {
        return String::new();
    };
    let zone = jiff::tz::TimeZone::get(tz).unwrap_or(jiff::tz::TimeZone::UTC);
    ts.to_zoned(zone).strftime("%d/%m/%Y %H:%M:%S").to_string()
}

async fn page(
    state: &Shared,
    ctx: &Ctx,
    verification: Option<(bool, String)>,
    notice: Option<&'static str>,
) -> Result<Html<String>, WebError> {
    state
        .app
        .authorize(ctx.session.as_ref(), &Action::ViewOperations)?;
    let db = &state.app.db;
    let depth = outbox::depth(db).await.map_err(AppError::from)?;
    let dead = outbox::list(db, outbox::DEAD, 50)
        .await
        .map_err(AppError::from)?;
    let tz = &state.app.config.time_zone;
    let audit = audit::recent(db, 30)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|e| AuditRow {
            seq: e.seq,
            when: local_time(e.occurred_at, tz),
            actor: e.actor,
            action: e.action,
            target: e.target,
        })
        .collect();
    render(&OperationsPage {
        ctx: ctx.page(),
        depth,
        dead,
        audit,
        verification,
        notice,
    })
}

pub async fn operations(
    State(state): State<Shared>,
    ctx: Ctx,
    uri: axum::http::Uri,
) -> Result<Html<String>, WebError> {
    let notice = (uri.query() == Some("requeued=1")).then(|| ctx.page().t("ops.requeued"));
    page(&state, &ctx, None, notice).await
}

pub async fn outbox_depth_fragment(
    State(state): State<Shared>,
    ctx: Ctx,
) -> Result<Html<String>, WebError> {
    state
        .app
        .authorize(ctx.session.as_ref(), &Action::ViewOperations)?;
    let depth = outbox::depth(&state.app.db).await.map_err(AppError::from)?;
    render(&DepthFragment {
        ctx: ctx.page(),
        depth,
    })
}

pub async fn verify_audit(State(state): State<Shared>, ctx: Ctx) -> Result<Html<String>, WebError> {
    state
        .app
        .authorize(ctx.session.as_ref(), &Action::ViewOperations)?;
    let p = ctx.page();
    let v = match audit::verify(&state.app.db).await.map_err(AppError::from)? {
        Verification::Intact { events } => {
            (true, format!("{} ({events})", p.t("ops.audit.intact")))
        }
        Verification::Broken(e) => (false, format!("{}: {e}", p.t("ops.audit.broken"))),
    };
    page(&state, &ctx, Some(v), None).await
}

pub async fn requeue(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    form: Result<Form<CsrfFormPublic>, axum::extract::rejection::FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.map_err(|e| WebError::BadRequest(e.body_text()))?;
    ctx.check_csrf(&form.csrf_token)?;
    state
        .app
        .requeue_outbox(ctx.session.as_ref(), id, &ctx.origin)
        .await?;
    Ok(Redirect::to("/admin/operazioni?requeued=1").into_response())
}

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(state: State<Shared>) -> Response {
    if !state_ready(&state) {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    match state.app.db.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

pub async fn metrics(State(state): State<Shared>) -> Response {
    if let Ok(d) = outbox::depth(&state.app.db).await {
        metrics::gauge!("sportello_outbox_depth", "state" => "pending").set(d.pending as f64);
        metrics::gauge!("sportello_outbox_depth", "state" => "dead").set(d.dead as f64);
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
