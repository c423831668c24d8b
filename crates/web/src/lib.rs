//! Sportello's HTTP layer: server-rendered portal pages (Bootstrap Italia,
//! htmx where it helps), operations endpoints, and the serve loop that runs
//! the outbox workers beside the web server and shuts both down gracefully.

mod account;
mod api;
mod assets;
mod catalogue_pages;
mod chart;
mod console;
mod ctx;
pub mod demo_agency;
mod demo_rp;
mod desk_api;
mod desk_pages;
mod desk_reports;
mod error;
mod filing_api;
mod filing_pages;
pub mod i18n;
mod kb_api;
mod kb_pages;
mod oidc;
mod oidc_clients;
mod ops;
mod pages;
mod registration_pages;
mod scim;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sportello_app::App;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use error::WebError;

pub struct AppState {
    pub app: App,
    pub metrics: PrometheusHandle,
    pub shutting_down: AtomicBool,
    /// The simulated agencies under `/demo-agency`, when configured.
    pub demo_agencies: Option<demo_agency::DemoAgencies>,
}

pub type Shared = Arc<AppState>;

/// The process-wide Prometheus recorder (installed once).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ])
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may exist in tests that build several servers.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

pub fn router(state: Shared) -> Router {
    let demo_agencies = state.demo_agencies.as_ref().map(|d| d.router());
    let router = Router::new()
        .route("/", get(pages::home))
        .route("/accedi", get(pages::login_form).post(pages::login_submit))
        .route("/esci", post(pages::logout))
        .route("/lingua", get(pages::switch_language))
        .route("/dichiarazione-accessibilita", get(pages::accessibility))
        .route("/privacy", get(pages::privacy))
        .route(
            "/cambio-password",
            get(account::change_form).post(account::change_submit),
        )
        .route(
            "/reset-password",
            get(account::reset_form).post(account::reset_submit),
        )
        .route(
            "/reset-password/nuova",
            get(account::reset_new_form).post(account::reset_new_submit),
        )
        .route(
            "/attivazione",
            get(account::activation_form).post(account::activation_submit),
        )
        .route("/profilo", get(account::profile))
        .route("/profilo/sessioni/termina", post(account::end_session))
        .route(
            "/profilo/sessioni/esci-ovunque",
            post(account::logout_everywhere),
        )
        .route(
            "/profilo/certificati/{id}/rimuovi",
            post(account::remove_certificate),
        )
        .route("/accedi/cns", get(account::cns_login))
        .route("/admin/utenti", get(account::users))
        .route(
            "/admin/utenti/nuovo",
            get(account::new_user_form).post(account::new_user_submit),
        )
        .route("/admin/utenti/{id}/sblocca", post(account::unlock))
        .route(
            "/admin/utenti/importa",
            get(console::import_form).post(console::import_submit),
        )
        .route("/admin/utenti/{id}", get(console::user_detail))
        .route("/admin/utenti/{id}/abilita", post(console::enable))
        .route("/admin/utenti/{id}/disabilita", post(console::disable))
        .route("/admin/utenti/{id}/riabilita", post(console::reenable))
        .route("/admin/utenti/{id}/reinvia", post(console::resend))
        .route("/admin/utenti/{id}/elimina", post(console::delete))
        .route("/admin/abilitazioni/{id}/revoca", post(console::revoke))
        .route(
            "/admin/abilitazioni/{id}/profilo",
            post(console::change_profile),
        )
        .route(
            "/subdeleghe",
            get(console::subdelegations).post(console::subdelegate),
        )
        .route(
            "/subdeleghe/{id}/revoca",
            post(console::revoke_subdelegation),
        )
        .route(
            "/nomina-amministratore",
            get(console::appointment_form).post(console::appointment_submit),
        )
        .route("/admin/nomine", get(console::appointments))
        .route(
            "/admin/nomine/{id}/lettera",
            get(console::appointment_letter),
        )
        .route("/admin/nomine/{id}/decisione", post(console::decide))
        .route(
            "/admin/amministratori-locali/{user}/{org}/revoca",
            post(console::revoke_local_admin),
        )
        .route("/admin/audit", get(console::audit_history))
        .route("/admin/assistenza", get(console::help))
        .route(
            "/admin/enti",
            get(console::organizations).post(console::create_organization),
        )
        .route("/admin/catalogo", get(catalogue_pages::show))
        .route(
            "/admin/catalogo/applicazioni",
            post(catalogue_pages::create_application),
        )
        .route(
            "/admin/catalogo/applicazioni/{id}/profili",
            post(catalogue_pages::create_profile),
        )
        .route(
            "/admin/catalogo/profili/{id}/regole",
            post(catalogue_pages::set_rules),
        )
        .route("/admin/operazioni", get(ops::operations))
        .route("/admin/operazioni/coda", get(ops::outbox_depth_fragment))
        .route("/admin/outbox/{id}/riprova", post(ops::requeue))
        .route("/admin/audit/verifica", get(ops::verify_audit))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/static/{*path}", get(assets::serve))
        .merge(api::routes())
        .merge(desk_api::routes(state.app.config.desk.max_message_bytes))
        .merge(scim::routes())
        .merge(oidc::routes())
        .merge(demo_rp::routes())
        .merge(oidc_clients::routes())
        .merge(desk_reports::routes())
        .merge(desk_pages::routes())
        .merge(kb_pages::routes())
        .merge(kb_api::routes())
        .merge(filing_pages::routes())
        .merge(registration_pages::routes())
        .merge(filing_api::routes())
        .fallback(pages::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(24 * 1024 * 1024))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            error::panic_response,
        ))
        .layer(middleware::from_fn(error::render_error_pages))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            ctx::load_session,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            ctx::ensure_csrf_cookie,
        ))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(record_metrics))
        .with_state(state);
    match demo_agencies {
        Some(agencies) => router.nest_service("/demo-agency", agencies),
        None => router,
    }
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; font-src 'self' data:; style-src 'self'; script-src 'self'; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    res
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("sportello_http_requests_total", "method" => method, "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("sportello_http_request_duration_seconds", "route" => route)
        .record(start.elapsed().as_secs_f64());
    res
}

/// Runs the portal and the outbox workers until `shutdown` resolves; then
/// stops accepting, finishes in-flight requests, lets each worker finish the
/// item in hand, and returns.
pub async fn run(
    app: App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    run_with_tls(app, listener, None, shutdown).await
}

/// Like [`run`], with an optional second listener that speaks TLS and asks
/// for a smart-card certificate (the same portal, plus `/accedi/cns`).
pub async fn run_with_tls(
    app: App,
    listener: TcpListener,
    tls: Option<(TcpListener, Arc<rustls::ServerConfig>)>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    app.persist_mailgate_token()
        .map_err(std::io::Error::other)?;
    // The FAQ index is a copy of the published articles: rebuilt at start-up.
    match app.kb_rebuild_index().await {
        Ok(n) => tracing::info!(articles = n, "FAQ index rebuilt"),
        Err(e) => tracing::error!(error = %e, "FAQ index not rebuilt"),
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let workers: Vec<_> = (0..app.config.outbox.workers)
        .map(|_| tokio::spawn(app.worker().run(stop_rx.clone())))
        .collect();
    let scheduler = tokio::spawn(scheduled_jobs(app.clone(), stop_rx.clone()));
    let sla = tokio::spawn(service_level_checks(app.clone(), stop_rx.clone()));
    let polls = tokio::spawn(filing_polls(app.clone(), stop_rx.clone()));
    let imap = (!app.config.desk.imap_url.is_empty()).then(|| {
        tokio::spawn(sportello_app::desk::imap::run_poller(
            app.clone(),
            app.config.desk.imap_url.clone(),
            std::time::Duration::from_secs(app.config.desk.imap_poll_seconds),
            stop_rx.clone(),
        ))
    });
    let demo_agencies = if app.config.filings.demo_agencies {
        let (token, _) = sportello_app::filings::demo::demo_agency_token(&app.config)
            .map_err(std::io::Error::other)?;
        let base = app.config.public_base_url.trim_end_matches('/').to_string();
        Some(demo_agency::DemoAgencies::new(demo_agency::AgencyConfig {
            base_url: format!("{base}/demo-agency"),
            portal_url: base,
            callback_token: token,
        }))
    } else {
        None
    };
    let state = Arc::new(AppState {
        demo_agencies: demo_agencies.clone(),
        app,
        metrics: metrics_handle(),
        shutting_down: AtomicBool::new(false),
    });
    let flag = state.clone();
    let stopping = stop_tx.clone();
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let tls_task = tls.map(|(l, config)| {
        tokio::spawn(tls::serve_tls(
            l,
            config,
            router(state.clone()),
            stopped(stop_rx.clone()),
        ))
    });
    let result = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        flag.shutting_down.store(true, Ordering::SeqCst);
        let _ = stopping.send(true);
        tracing::info!("shutdown requested: finishing in-flight requests");
    })
    .await;
    let _ = stop_tx.send(true);
    if let Some(d) = &demo_agencies {
        d.shutdown();
    }
    if let Some(t) = tls_task {
        let _ = t.await;
    }
    for w in workers {
        let _ = w.await;
    }
    let _ = scheduler.await;
    let _ = sla.await;
    let _ = polls.await;
    if let Some(p) = imap {
        let _ = p.await;
    }
    tracing::info!("shutdown complete");
    result
}

/// Periodic jobs: the password expiry warnings, once an hour.
async fn scheduled_jobs(app: App, mut stop: watch::Receiver<bool>) {
    loop {
        match app.send_expiry_warnings(sportello_app::now_micros()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "password expiry warnings queued"),
            Err(e) => tracing::error!(error = %e, "password expiry warnings failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
}

/// Flags requests nearing or past their service-level targets.
async fn service_level_checks(app: App, mut stop: watch::Receiver<bool>) {
    let every = std::time::Duration::from_secs(app.config.desk.sla_check_seconds);
    loop {
        match app.check_service_levels().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "service-level flags changed"),
            Err(e) => tracing::error!(error = %e, "service-level check failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
}

/// Asks the agencies about deliveries still owed a protocol or an outcome
/// (in case a callback was lost).
async fn filing_polls(app: App, mut stop: watch::Receiver<bool>) {
    let courier = app.courier();
    // A tenth of the poll period: each delivery has its own due time.
    let every = std::time::Duration::from_millis(app.config.filings.poll_seconds * 100)
        .max(std::time::Duration::from_millis(200));
    loop {
        match courier.poll_due(200).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(count = n, "agencies polled"),
            Err(e) => tracing::error!(error = %e, "polling agencies failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
}

pub(crate) fn state_ready(state: &State<Shared>) -> bool {
    !state.shutting_down.load(Ordering::SeqCst)
}
