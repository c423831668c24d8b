//! The desk's management pages: reports per office, region and nation with
//! their CSV, the daily protocol register (CSV and printable page), and the
//! central administrator's channel settings with the offices' intake switch.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sportello_app::desk::admin::ChannelInput;
use sportello_app::desk::reports::{
    Counts, RegisterDay, Report, ReportChoices, ReportScope, csv_cell, day_date, day_number,
};
use sportello_app::{AppError, now_micros};
use sportello_core::authz::Action;
use sportello_store::catalogue;
use sportello_store::desk::{self as store, DeskOffice, Register};

use crate::Shared;
use crate::chart::{daily_chart, long_day};
use crate::ctx::{Ctx, FormErrors, FormResult, PageCtx, field_error, form, safe_next};
use crate::error::WebError;
use crate::i18n::{self, Lang};
use crate::pages::render;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/ufficio/report", get(report_page))
        .route("/ufficio/report.csv", get(report_csv))
        .route("/ufficio/registro", get(register_page))
        .route("/ufficio/registro.csv", get(register_csv))
        .route("/ufficio/registro/stampa", get(register_print))
        .route(
            "/amministrazione/canali",
            get(channel_list).post(channel_save),
        )
        .route("/amministrazione/canali/nuovo", get(channel_new))
        .route("/amministrazione/canali/{code}", get(channel_edit))
        .route(
            "/amministrazione/canali/{code}/associa",
            post(channel_associate),
        )
        .route(
            "/amministrazione/uffici/{id}/accettazione",
            post(office_accepting),
        )
}

fn db_err(e: sportello_store::StoreError) -> WebError {
    AppError::from(e).into()
}

// ---------------------------------------------------------------- days

fn parse_date(s: &str) -> Option<jiff::civil::Date> {
    let s = s.trim();
    (s.len() == 10)
        .then(|| s.parse::<jiff::civil::Date>().ok())
        .flatten()
}

/// yyyymmdd → "yyyy-mm-dd".
fn iso_day(day: i64) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        day / 10_000,
        (day / 100) % 100,
        day % 100
    )
}

fn today(state: &Shared) -> i64 {
    state.app.civil_day(now_micros()).1
}

/// A CSV download (UTF-8, semicolons) as an attachment.
fn csv_response(filename: &str, body: String) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Letters and digits only, for file names.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

// ---------------------------------------------------------------- reports

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReportQuery {
    ambito: String,
    dal: String,
    al: String,
}

fn parse_scope(s: &str) -> Option<ReportScope> {
    let s = s.trim();
    if s == "nazione" {
        return Some(ReportScope::Nation);
    }
    if let Some(id) = s.strip_prefix("ufficio:") {
        return id.trim().parse().ok().map(ReportScope::Office);
    }
    s.strip_prefix("regione:")
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| ReportScope::Region(r.to_string()))
}

fn scope_value(scope: &ReportScope) -> String {
    match scope {
        ReportScope::Office(id) => format!("ufficio:{id}"),
        ReportScope::Region(r) => format!("regione:{r}"),
        ReportScope::Nation => "nazione".into(),
    }
}

/// What the report form asked for, checked.
struct ReportAsk {
    scope_value: String,
    dal: String,
    al: String,
    scope: Option<ReportScope>,
    from: i64,
    to: i64,
}

/// The longest period a report covers, in days.
const MAX_REPORT_DAYS: i64 = 366;

async fn report_choices(state: &Shared, ctx: &Ctx) -> Result<ReportChoices, WebError> {
    let choices = state.app.report_choices(ctx.session.as_ref()).await?;
    if choices.offices.is_empty() && choices.regions.is_empty() && !choices.nation {
        return Err(WebError::Forbidden);
    }
    Ok(choices)
}

fn read_report_query(
    state: &Shared,
    ctx: &Ctx,
    choices: &ReportChoices,
    q: &ReportQuery,
    f: &mut FormErrors,
) -> ReportAsk {
    let t = |k| i18n::t(ctx.lang, k);
    let scope = if q.ambito.trim().is_empty() {
        if choices.nation {
            Some(ReportScope::Nation)
        } else if let Some(r) = choices.regions.first() {
            Some(ReportScope::Region(r.clone()))
        } else {
            choices
                .offices
                .first()
                .map(|(id, _)| ReportScope::Office(*id))
        }
    } else {
        let s = parse_scope(&q.ambito);
        if s.is_none() {
            f.push("ambito", t("desk_admin.report.bad_scope"));
        }
        s
    };
    let to_default = today(state);
    let to = if q.al.trim().is_empty() {
        Some(to_default)
    } else {
        parse_date(&q.al).map(day_number)
    };
    if to.is_none() {
        f.push("al", t("desk_admin.bad_date"));
    }
    let to = to.unwrap_or(to_default);
    let from = if q.dal.trim().is_empty() {
        day_date(to)
            .and_then(|d| d.checked_sub(jiff::Span::new().days(29)).ok())
            .map(day_number)
    } else {
        parse_date(&q.dal).map(day_number)
    };
    if from.is_none() {
        f.push("dal", t("desk_admin.bad_date"));
    }
    let from = from.unwrap_or(to);
    if f.get("dal").is_none() && f.get("al").is_none() {
        let (a, b) = (day_date(from), day_date(to));
        if from > to {
            f.push("al", t("desk_admin.report.bad_order"));
        } else if let (Some(a), Some(b)) = (a, b)
            && (b - a).get_days() as i64 >= MAX_REPORT_DAYS
        {
            f.push("dal", t("desk_admin.report.too_long"));
        }
    }
    ReportAsk {
        scope_value: scope
            .as_ref()
            .map(scope_value)
            .unwrap_or_else(|| q.ambito.clone()),
        dal: if q.dal.trim().is_empty() {
            iso_day(from)
        } else {
            q.dal.trim().to_string()
        },
        al: if q.al.trim().is_empty() {
            iso_day(to)
        } else {
            q.al.trim().to_string()
        },
        scope,
        from,
        to,
    }
}

/// Runs the report, turning a bad period into a form error.
async fn run_report(
    state: &Shared,
    ctx: &Ctx,
    ask: &ReportAsk,
    f: &mut FormErrors,
) -> Result<Option<Report>, WebError> {
    let Some(scope) = ask.scope.as_ref().filter(|_| f.is_empty()) else {
        return Ok(None);
    };
    match state
        .app
        .report(ctx.session.as_ref(), scope, ask.from, ask.to)
        .await
    {
        Ok(r) => Ok(Some(r)),
        Err(AppError::Invalid { message, .. }) => {
            f.push("dal", message);
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

pub struct ScopeOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct RowView {
    pub code: String,
    pub label: String,
    pub link: Option<String>,
    pub counts: Counts,
}

pub struct ReportView {
    pub title: String,
    pub period: String,
    pub totals: Counts,
    pub outcomes: Vec<(String, i64)>,
    pub rows_are_offices: bool,
    pub rows: Vec<RowView>,
    pub chart: String,
    pub series: Vec<(String, i64, i64)>,
    pub csv_link: String,
}

#[derive(Template)]
#[template(path = "desk_admin/report.html")]
struct ReportPage {
    ctx: PageCtx,
    f: FormErrors,
    offices: Vec<ScopeOption>,
    regions: Vec<ScopeOption>,
    nation: Option<ScopeOption>,
    dal: String,
    al: String,
    report: Option<ReportView>,
}

fn report_link(path: &str, scope: &str, dal: &str, al: &str) -> String {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("ambito", scope)
        .append_pair("dal", dal)
        .append_pair("al", al)
        .finish();
    format!("{path}?{q}")
}

pub async fn report_page(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<ReportQuery>,
) -> Result<Response, WebError> {
    let choices = report_choices(&state, &ctx).await?;
    let mut f = FormErrors::default();
    let ask = read_report_query(&state, &ctx, &choices, &q, &mut f);
    let report = run_report(&state, &ctx, &ask, &mut f).await?;
    let lang = ctx.lang;
    let t = |k| i18n::t(lang, k);
    let option = |value: String, label: String| ScopeOption {
        selected: value == ask.scope_value,
        value,
        label,
    };
    let view = match report {
        None => None,
        Some(r) => {
            let offices = store::desk_offices(&state.app.db).await.map_err(db_err)?;
            let rows_are_offices = matches!(ask.scope, Some(ReportScope::Region(_)));
            let rows = r
                .rows
                .iter()
                .map(|row| {
                    let target = if rows_are_offices {
                        offices
                            .iter()
                            .find(|o| o.code == row.code)
                            .filter(|o| choices.offices.iter().any(|(id, _)| *id == o.id))
                            .map(|o| format!("ufficio:{}", o.id))
                    } else {
                        choices
                            .regions
                            .contains(&row.code)
                            .then(|| format!("regione:{}", row.code))
                    };
                    RowView {
                        code: row.code.clone(),
                        label: row.label.clone(),
                        link: target.map(|s| report_link("/ufficio/report", &s, &ask.dal, &ask.al)),
                        counts: row.counts.clone(),
                    }
                })
                .collect();
            let days: Vec<i64> = r.series.iter().map(|p| p.day).collect();
            let chart = daily_chart(
                &format!("{} - {}", t("desk_admin.report.chart"), r.title),
                &[
                    (
                        t("desk_admin.report.opened"),
                        r.series.iter().map(|p| p.opened).collect(),
                    ),
                    (
                        t("desk_admin.report.closed"),
                        r.series.iter().map(|p| p.closed).collect(),
                    ),
                ],
                &days,
                lang,
            );
            Some(ReportView {
                period: format!("{} - {}", long_day(r.from_day), long_day(r.to_day)),
                outcomes: r
                    .totals
                    .outcomes
                    .iter()
                    .map(|(k, v)| (k.clone(), *v))
                    .collect(),
                rows_are_offices,
                rows,
                chart,
                series: r
                    .series
                    .iter()
                    .map(|p| (long_day(p.day), p.opened, p.closed))
                    .collect(),
                csv_link: report_link("/ufficio/report.csv", &ask.scope_value, &ask.dal, &ask.al),
                title: r.title,
                totals: r.totals,
            })
        }
    };
    let status = f.status();
    let html = render(&ReportPage {
        ctx: ctx.page(),
        f,
        offices: choices
            .offices
            .iter()
            .map(|(id, name)| option(format!("ufficio:{id}"), name.clone()))
            .collect(),
        regions: choices
            .regions
            .iter()
            .map(|r| option(format!("regione:{r}"), r.clone()))
            .collect(),
        nation: choices
            .nation
            .then(|| option("nazione".into(), t("desk_admin.report.nation").into())),
        dal: ask.dal,
        al: ask.al,
        report: view,
    })?;
    Ok((status, html).into_response())
}

fn counts_cells(c: &Counts) -> [String; 6] {
    [
        c.to_take.to_string(),
        c.in_progress.to_string(),
        c.opened.to_string(),
        c.taken.to_string(),
        c.closed.to_string(),
        c.transferred_out.to_string(),
    ]
}

/// The report as CSV: a header, one line per row (or the scope's own line,
/// with `scope_code`), a blank line, then the daily series.
pub fn report_csv_text(r: &Report, scope_value: &str, scope_code: &str) -> String {
    let mut out = String::from('\u{feff}');
    let line = |cells: &[String]| -> String {
        let cells: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        format!("{}\r\n", cells.join(";"))
    };
    out.push_str(&line(&[
        "ambito".into(),
        "codice".into(),
        "nome".into(),
        "da_prendere_in_carico".into(),
        "in_lavorazione".into(),
        "ricevute".into(),
        "prese_in_carico".into(),
        "chiuse".into(),
        "trasferite".into(),
    ]));
    let mut push_row = |scope: &str, code: &str, name: &str, c: &Counts| {
        let mut cells = vec![scope.to_string(), code.to_string(), name.to_string()];
        cells.extend(counts_cells(c));
        out.push_str(&line(&cells));
    };
    if r.rows.is_empty() {
        push_row(scope_value, scope_code, &r.title, &r.totals);
    } else {
        for row in &r.rows {
            push_row(scope_value, &row.code, &row.label, &row.counts);
        }
    }
    out.push_str("\r\n");
    out.push_str(&line(&[
        "giorno".into(),
        "ricevute".into(),
        "chiuse".into(),
    ]));
    for p in &r.series {
        out.push_str(&line(&[
            iso_day(p.day),
            p.opened.to_string(),
            p.closed.to_string(),
        ]));
    }
    out
}

pub async fn report_csv(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<ReportQuery>,
) -> Result<Response, WebError> {
    let choices = report_choices(&state, &ctx).await?;
    let mut f = FormErrors::default();
    let ask = read_report_query(&state, &ctx, &choices, &q, &mut f);
    let report = run_report(&state, &ctx, &ask, &mut f).await?;
    let Some(r) = report else {
        let why: Vec<String> = f.list.iter().map(|e| e.message.clone()).collect();
        return Err(WebError::BadRequest(why.join("; ")));
    };
    let name = format!(
        "report-{}-{}-{}.csv",
        slug(&ask.scope_value),
        r.from_day,
        r.to_day
    );
    let code = match &ask.scope {
        Some(ReportScope::Office(id)) => store::desk_offices(&state.app.db)
            .await
            .map_err(db_err)?
            .into_iter()
            .find(|o| o.id == *id)
            .map(|o| o.code)
            .unwrap_or_else(|| id.to_string()),
        Some(ReportScope::Region(region)) => region.clone(),
        _ => "IT".to_string(),
    };
    Ok(csv_response(
        &name,
        report_csv_text(&r, &ask.scope_value, &code),
    ))
}

// ---------------------------------------------------------------- daily register

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RegisterQuery {
    registro: String,
    giorno: String,
}

#[derive(Template)]
#[template(path = "desk_admin/register.html")]
struct RegisterPage {
    ctx: PageCtx,
    f: FormErrors,
    registers: Vec<Register>,
    registro: String,
    giorno: String,
    max_day: String,
}

async fn registers_for(state: &Shared, ctx: &Ctx) -> Result<Vec<Register>, WebError> {
    state
        .app
        .authorize(ctx.session.as_ref(), &Action::ExportRegister)?;
    store::registers(&state.app.db).await.map_err(db_err)
}

fn register_form(
    state: &Shared,
    ctx: &Ctx,
    registers: Vec<Register>,
    q: &RegisterQuery,
    f: FormErrors,
) -> Result<Response, WebError> {
    let today = iso_day(today(state));
    let registro = if q.registro.trim().is_empty() {
        registers
            .first()
            .map(|r| r.code.clone())
            .unwrap_or_default()
    } else {
        q.registro.trim().to_string()
    };
    let status = f.status();
    let html = render(&RegisterPage {
        ctx: ctx.page(),
        f,
        registers,
        registro,
        giorno: if q.giorno.trim().is_empty() {
            today.clone()
        } else {
            q.giorno.trim().to_string()
        },
        max_day: today,
    })?;
    Ok((status, html).into_response())
}

pub async fn register_page(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<RegisterQuery>,
) -> Result<Response, WebError> {
    let registers = registers_for(&state, &ctx).await?;
    register_form(&state, &ctx, registers, &q, FormErrors::default())
}

/// The day's register, or the form again with what is wrong.
async fn export(
    state: &Shared,
    ctx: &Ctx,
    q: &RegisterQuery,
) -> Result<Result<RegisterDay, Response>, WebError> {
    let registers = registers_for(state, ctx).await?;
    let mut f = FormErrors::default();
    let t = |k| i18n::t(ctx.lang, k);
    let register = registers
        .iter()
        .find(|r| r.code.eq_ignore_ascii_case(q.registro.trim()));
    if register.is_none() {
        f.push("registro", t("desk_admin.register.choose"));
    }
    let day = parse_date(&q.giorno);
    if day.is_none() {
        f.push("giorno", t("desk_admin.bad_date"));
    }
    if let (Some(register), Some(day)) = (register, day) {
        match state
            .app
            .daily_register(ctx.session.as_ref(), &register.code, day, &ctx.origin)
            .await
        {
            Ok(d) => return Ok(Ok(d)),
            Err(AppError::Invalid { message, .. }) => f.push("giorno", message),
            Err(AppError::NotFound) => f.push("registro", t("desk_admin.register.choose")),
            Err(e) => return Err(e.into()),
        }
    }
    register_form(state, ctx, registers, q, f).map(Err)
}

pub async fn register_csv(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<RegisterQuery>,
) -> Result<Response, WebError> {
    let d = match export(&state, &ctx, &q).await? {
        Ok(d) => d,
        Err(page) => return Ok(page),
    };
    let name = format!("registro-{}-{}.csv", slug(&d.register_code), d.day);
    let mut res = csv_response(&name, d.csv);
    if let Ok(v) = HeaderValue::from_str(&d.sha256) {
        res.headers_mut().insert("x-content-sha256", v);
    }
    Ok(res)
}

pub struct EntryView {
    pub protocol: String,
    pub registered_at: String,
    pub intake: &'static str,
    pub sender: String,
    pub subject: String,
    pub office: String,
    pub hash: String,
    pub annulled: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "desk_admin/register_print.html")]
struct RegisterPrint {
    ctx: PageCtx,
    register_code: String,
    register_name: String,
    aoo: String,
    day: String,
    entries: Vec<EntryView>,
    annulled: usize,
    sha256: String,
    exported_at: String,
    exported_by: String,
    back: String,
}

fn intake_label(lang: Lang, code: &str) -> &'static str {
    i18n::t(
        lang,
        match code {
            "web" => "desk_admin.intake.web",
            "mail" => "desk_admin.intake.mail",
            "phone" => "desk_admin.intake.phone",
            _ => "desk_admin.intake.other",
        },
    )
}

pub async fn register_print(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<RegisterQuery>,
) -> Result<Response, WebError> {
    let d = match export(&state, &ctx, &q).await? {
        Ok(d) => d,
        Err(page) => return Ok(page),
    };
    let offices = store::desk_offices(&state.app.db).await.map_err(db_err)?;
    let app = &state.app;
    let entries: Vec<EntryView> = d
        .entries
        .iter()
        .map(|e| EntryView {
            protocol: e.protocol.clone(),
            registered_at: app.format_time(e.registered_at),
            intake: intake_label(ctx.lang, &e.intake),
            sender: e.requester_name.clone(),
            subject: e.subject.clone(),
            office: offices
                .iter()
                .find(|o| o.id == e.office_id)
                .map(|o| format!("{} - {}", o.code, o.name))
                .unwrap_or_default(),
            hash: e.document_hash.clone(),
            annulled: e.annulled_at.map(|a| {
                (
                    app.format_time(a),
                    e.annul_reason.clone().unwrap_or_default(),
                )
            }),
        })
        .collect();
    let back = format!(
        "/ufficio/registro?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("registro", &d.register_code)
            .append_pair("giorno", &d.day.to_string())
            .finish()
    );
    let html = render(&RegisterPrint {
        annulled: entries.iter().filter(|e| e.annulled.is_some()).count(),
        exported_at: app.format_time(now_micros()),
        exported_by: ctx
            .session
            .as_ref()
            .map(|s| format!("{} {}", s.user.given_name, s.user.family_name))
            .unwrap_or_default(),
        register_code: d.register_code,
        register_name: d.register_name,
        aoo: d.aoo,
        day: d.day.strftime("%d/%m/%Y").to_string(),
        entries,
        sha256: d.sha256,
        back,
        ctx: ctx.page(),
    })?;
    Ok(html.into_response())
}

// ---------------------------------------------------------------- channels

pub struct ChannelRow {
    pub code: String,
    pub name: String,
    pub register: String,
    pub offices: Vec<String>,
    pub web: bool,
    pub mail: bool,
    pub phone: bool,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "desk_admin/channels.html")]
struct ChannelsPage {
    ctx: PageCtx,
    notice: Option<&'static str>,
    channels: Vec<ChannelRow>,
    offices: Vec<DeskOffice>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NoticeQuery {
    esito: String,
}

fn notice(lang: Lang, code: &str) -> Option<&'static str> {
    let key = match code {
        "salvato" => "desk_admin.channels.saved",
        "associato" => "desk_admin.assoc.done",
        "accettazione" => "desk_admin.offices.done",
        _ => return None,
    };
    Some(i18n::t(lang, key))
}

pub async fn channel_list(
    State(state): State<Shared>,
    ctx: Ctx,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, WebError> {
    state
        .app
        .authorize(ctx.session.as_ref(), &Action::ManageChannels)?;
    let db = &state.app.db;
    let registers = store::registers(db).await.map_err(db_err)?;
    let mut channels = Vec::new();
    for c in store::channels(db).await.map_err(db_err)? {
        let offices = store::channel_offices(db, c.id)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|o| o.code)
            .collect();
        channels.push(ChannelRow {
            register: registers
                .iter()
                .find(|r| r.id == c.register_id)
                .map(|r| format!("{} - {}", r.code, r.name))
                .unwrap_or_default(),
            offices,
            web: c.intake_web != 0,
            mail: c.intake_mail != 0,
            phone: c.intake_phone != 0,
            active: c.active != 0,
            code: c.code,
            name: c.name,
        });
    }
    let offices = store::desk_offices(db).await.map_err(db_err)?;
    let html = render(&ChannelsPage {
        notice: notice(ctx.lang, &q.esito),
        ctx: ctx.page(),
        channels,
        offices,
    })?;
    Ok(html.into_response())
}

/// One input of the channel form.
pub struct FieldView {
    pub name: &'static str,
    pub label: &'static str,
    pub help: Option<&'static str>,
    /// text, email, number, or textarea.
    pub kind: &'static str,
    pub value: String,
    pub max: usize,
    pub rows: usize,
    pub required: bool,
    pub readonly: bool,
    /// The id of a datalist of suggestions.
    pub list: Option<&'static str>,
}

pub struct CheckView {
    pub name: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "desk_admin/channel_form.html")]
struct ChannelFormPage {
    ctx: PageCtx,
    f: FormErrors,
    notice: Option<&'static str>,
    is_new: bool,
    code: String,
    name: String,
    general: Vec<FieldView>,
    register: Vec<FieldView>,
    audience: Vec<FieldView>,
    audience_checks: Vec<CheckView>,
    settings: Vec<FieldView>,
    intake: Vec<FieldView>,
    intake_checks: Vec<CheckView>,
    limits: Vec<FieldView>,
    offices: Vec<(String, String, bool)>,
    active: CheckView,
    registers: Vec<Register>,
    applications: Vec<(String, String)>,
    assoc_offices: Vec<(String, String)>,
    assoc_fiscal_code: String,
    assoc_office: String,
}

/// The channel form's fields, in the order of the page; their names are
/// those of `ChannelInput` and of the use case's field errors.
const CHANNEL_FIELDS: &[&str] = &[
    "code",
    "name",
    "description",
    "register_code",
    "register_name",
    "aoo",
    "application_code",
    "requester_categories",
    "hours_weekly",
    "hours_holidays",
    "form_spec",
    "outcomes",
    "routing_rules",
    "mail_address",
    "sla_take_minutes",
    "sla_close_minutes",
    "max_attachment_mb",
    "office_codes",
];

/// Field errors of a use case whose keys are strings, shown next to the
/// field they name; a key outside `known` goes to `fallback`.
fn push_field_errors(
    f: &mut FormErrors,
    known: &[&'static str],
    fallback: &'static str,
    errors: Vec<(String, String)>,
) {
    for (key, message) in errors {
        let field = known
            .iter()
            .find(|k| **k == key)
            .copied()
            .unwrap_or(fallback);
        f.push(field, message);
    }
}

/// The raw numbers as typed, kept to show them again.
#[derive(Default)]
struct NumberDraft {
    sla_take_minutes: String,
    sla_close_minutes: String,
    max_attachment_mb: String,
}

fn new_channel_input() -> ChannelInput {
    ChannelInput {
        hours_weekly: "lun-ven 08:00-18:00".into(),
        hours_holidays: "festività nazionali".into(),
        intake_web: true,
        active: true,
        sla_take_minutes: 480,
        sla_close_minutes: 2400,
        max_attachment_mb: 10,
        ..Default::default()
    }
}

struct FormState {
    input: ChannelInput,
    numbers: Option<NumberDraft>,
    is_new: bool,
    assoc_fiscal_code: String,
    assoc_office: String,
}

async fn channel_form_page(
    state: &Shared,
    ctx: &Ctx,
    s: FormState,
    f: FormErrors,
    notice: Option<&'static str>,
) -> Result<Response, WebError> {
    state
        .app
        .authorize(ctx.session.as_ref(), &Action::ManageChannels)?;
    let db = &state.app.db;
    let lang = ctx.lang;
    let t = |k| i18n::t(lang, k);
    let input = s.input;
    let numbers = s.numbers.unwrap_or_else(|| NumberDraft {
        sla_take_minutes: input.sla_take_minutes.to_string(),
        sla_close_minutes: input.sla_close_minutes.to_string(),
        max_attachment_mb: input.max_attachment_mb.to_string(),
    });
    let field = |name: &'static str, kind: &'static str, value: &str, max: usize| FieldView {
        name,
        label: t(label_key(name)),
        help: help_key(name).map(t),
        kind,
        value: value.to_string(),
        max,
        rows: if kind == "textarea" { 5 } else { 0 },
        required: false,
        readonly: false,
        list: None,
    };
    let required = |mut v: FieldView| {
        v.required = true;
        v
    };
    let tall = |mut v: FieldView| {
        v.rows = 10;
        v
    };
    let mut code = required(field("code", "text", &input.code, 16));
    code.readonly = !s.is_new;
    let general = vec![
        code,
        required(field("name", "text", &input.name, 200)),
        field("description", "textarea", &input.description, 2000),
    ];
    let mut register_code = required(field("register_code", "text", &input.register_code, 16));
    register_code.list = Some("register-codes");
    let mut application_code = field("application_code", "text", &input.application_code, 40);
    application_code.list = Some("application-codes");
    let register = vec![
        register_code,
        field("register_name", "text", &input.register_name, 200),
        required(field("aoo", "text", &input.aoo, 40)),
    ];
    let audience = vec![
        application_code,
        field(
            "requester_categories",
            "text",
            &input.requester_categories,
            300,
        ),
    ];
    let check = |name: &'static str, checked: bool| CheckView {
        name,
        label: t(label_key(name)),
        checked,
    };
    let audience_checks = vec![check("require_association", input.require_association)];
    let settings = vec![
        required(field("hours_weekly", "textarea", &input.hours_weekly, 2000)),
        field("hours_holidays", "textarea", &input.hours_holidays, 2000),
        tall(required(field(
            "form_spec",
            "textarea",
            &input.form_spec,
            20000,
        ))),
        required(field("outcomes", "textarea", &input.outcomes, 5000)),
        tall(field(
            "routing_rules",
            "textarea",
            &input.routing_rules,
            20000,
        )),
    ];
    let intake = vec![field("mail_address", "email", &input.mail_address, 254)];
    let intake_checks = vec![
        check("intake_web", input.intake_web),
        check("intake_mail", input.intake_mail),
        check("intake_phone", input.intake_phone),
        check("notice_lookup", input.notice_lookup),
    ];
    let limits = vec![
        field("sla_take_minutes", "number", &numbers.sla_take_minutes, 9),
        field("sla_close_minutes", "number", &numbers.sla_close_minutes, 9),
        required(field(
            "max_attachment_mb",
            "number",
            &numbers.max_attachment_mb,
            3,
        )),
    ];
    let all_offices = store::desk_offices(db).await.map_err(db_err)?;
    let offices = all_offices
        .iter()
        .map(|o| {
            let region = o.region.as_deref().unwrap_or("");
            (
                o.code.clone(),
                if region.is_empty() {
                    o.name.clone()
                } else {
                    format!("{} ({region})", o.name)
                },
                input.office_codes.iter().any(|c| c == &o.code),
            )
        })
        .collect();
    let assoc_offices = match (s.is_new, store::channel_by_code(db, &input.code).await) {
        (false, Ok(Some(c))) => store::channel_offices(db, c.id)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|o| (o.code, o.name))
            .collect(),
        (_, Err(e)) => return Err(db_err(e)),
        _ => Vec::new(),
    };
    let applications = catalogue::applications(db)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|a| (a.code, a.name))
        .collect();
    let registers = store::registers(db).await.map_err(db_err)?;
    let status = f.status();
    let html = render(&ChannelFormPage {
        ctx: ctx.page(),
        f,
        notice,
        is_new: s.is_new,
        code: input.code.clone(),
        name: input.name.clone(),
        general,
        register,
        audience,
        audience_checks,
        settings,
        intake,
        intake_checks,
        limits,
        offices,
        active: check("active", input.active),
        registers,
        applications,
        assoc_offices,
        assoc_fiscal_code: s.assoc_fiscal_code,
        assoc_office: s.assoc_office,
    })?;
    Ok((status, html).into_response())
}

fn label_key(name: &str) -> &'static str {
    match name {
        "code" => "desk_admin.f.code",
        "name" => "desk_admin.f.name",
        "description" => "desk_admin.f.description",
        "register_code" => "desk_admin.f.register_code",
        "register_name" => "desk_admin.f.register_name",
        "aoo" => "desk_admin.f.aoo",
        "application_code" => "desk_admin.f.application_code",
        "requester_categories" => "desk_admin.f.requester_categories",
        "require_association" => "desk_admin.f.require_association",
        "hours_weekly" => "desk_admin.f.hours_weekly",
        "hours_holidays" => "desk_admin.f.hours_holidays",
        "form_spec" => "desk_admin.f.form_spec",
        "outcomes" => "desk_admin.f.outcomes",
        "routing_rules" => "desk_admin.f.routing_rules",
        "mail_address" => "desk_admin.f.mail_address",
        "intake_web" => "desk_admin.f.intake_web",
        "intake_mail" => "desk_admin.f.intake_mail",
        "intake_phone" => "desk_admin.f.intake_phone",
        "notice_lookup" => "desk_admin.f.notice_lookup",
        "sla_take_minutes" => "desk_admin.f.sla_take_minutes",
        "sla_close_minutes" => "desk_admin.f.sla_close_minutes",
        "max_attachment_mb" => "desk_admin.f.max_attachment_mb",
        "active" => "desk_admin.f.active",
        _ => "desk_admin.f.other",
    }
}

fn help_key(name: &str) -> Option<&'static str> {
    Some(match name {
        "code" => "desk_admin.h.code",
        "register_code" => "desk_admin.h.register_code",
        "aoo" => "desk_admin.h.aoo",
        "application_code" => "desk_admin.h.application_code",
        "requester_categories" => "desk_admin.h.requester_categories",
        "hours_weekly" => "desk_admin.h.hours_weekly",
        "hours_holidays" => "desk_admin.h.hours_holidays",
        "form_spec" => "desk_admin.h.form_spec",
        "outcomes" => "desk_admin.h.outcomes",
        "routing_rules" => "desk_admin.h.routing_rules",
        "mail_address" => "desk_admin.h.mail_address",
        "sla_take_minutes" => "desk_admin.h.sla",
        "sla_close_minutes" => "desk_admin.h.sla",
        "max_attachment_mb" => "desk_admin.h.max_attachment_mb",
        _ => return None,
    })
}

pub async fn channel_new(State(state): State<Shared>, ctx: Ctx) -> Result<Response, WebError> {
    let s = FormState {
        input: new_channel_input(),
        numbers: None,
        is_new: true,
        assoc_fiscal_code: String::new(),
        assoc_office: String::new(),
    };
    channel_form_page(&state, &ctx, s, FormErrors::default(), None).await
}

/// The stored settings of a channel, as the form shows them.
async fn stored_input(state: &Shared, ctx: &Ctx, code: &str) -> Result<ChannelInput, WebError> {
    state
        .app
        .authorize(ctx.session.as_ref(), &Action::ManageChannels)?;
    let db = &state.app.db;
    let channel = store::channel_by_code(db, code)
        .await
        .map_err(db_err)?
        .ok_or(WebError::NotFound)?;
    let register = store::registers(db)
        .await
        .map_err(db_err)?
        .into_iter()
        .find(|r| r.id == channel.register_id)
        .ok_or(WebError::NotFound)?;
    let app_code = match channel.application_id {
        Some(id) => catalogue::applications(db)
            .await
            .map_err(db_err)?
            .into_iter()
            .find(|a| a.id == id)
            .map(|a| a.code),
        None => None,
    };
    let offices = store::channel_offices(db, channel.id)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|o| o.code)
        .collect();
    Ok(ChannelInput::from_channel(
        &channel, &register, app_code, offices,
    ))
}

pub async fn channel_edit(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, WebError> {
    let input = stored_input(&state, &ctx, &code).await?;
    let s = FormState {
        input,
        numbers: None,
        is_new: false,
        assoc_fiscal_code: String::new(),
        assoc_office: String::new(),
    };
    let n = notice(ctx.lang, &q.esito);
    channel_form_page(&state, &ctx, s, FormErrors::default(), n).await
}

/// Form bodies with repeated keys (checkboxes) are read as pairs.
fn pairs(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn one(p: &[(String, String)], key: &str) -> String {
    p.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn checked(p: &[(String, String)], key: &str) -> bool {
    p.iter().any(|(k, v)| k == key && !v.is_empty() && v != "0")
}

/// The form's content as the use case wants it; numbers that do not read
/// become field errors (and a value the use case refuses too, so nothing is
/// saved while they are wrong).
fn read_channel_form(
    lang: Lang,
    p: &[(String, String)],
    f: &mut FormErrors,
) -> (ChannelInput, NumberDraft) {
    let t = |k| i18n::t(lang, k);
    let numbers = NumberDraft {
        sla_take_minutes: one(p, "sla_take_minutes").trim().to_string(),
        sla_close_minutes: one(p, "sla_close_minutes").trim().to_string(),
        max_attachment_mb: one(p, "max_attachment_mb").trim().to_string(),
    };
    let mut minutes = |name: &'static str, raw: &str| -> i64 {
        if raw.is_empty() {
            return 0;
        }
        match raw.parse::<i64>() {
            Ok(n) if (0..=10_000_000).contains(&n) => n,
            _ => {
                f.push(name, t("desk_admin.bad_minutes"));
                -1
            }
        }
    };
    let sla_take_minutes = minutes("sla_take_minutes", &numbers.sla_take_minutes);
    let sla_close_minutes = minutes("sla_close_minutes", &numbers.sla_close_minutes);
    let max_attachment_mb = match numbers.max_attachment_mb.parse::<i64>() {
        Ok(n) if (1..=100).contains(&n) => n,
        _ => {
            f.push("max_attachment_mb", t("desk_admin.bad_mb"));
            0
        }
    };
    let input = ChannelInput {
        code: one(p, "code").trim().to_uppercase(),
        name: one(p, "name"),
        description: one(p, "description"),
        register_code: one(p, "register_code").trim().to_uppercase(),
        register_name: one(p, "register_name"),
        aoo: one(p, "aoo"),
        application_code: one(p, "application_code"),
        requester_categories: one(p, "requester_categories"),
        require_association: checked(p, "require_association"),
        hours_weekly: one(p, "hours_weekly"),
        hours_holidays: one(p, "hours_holidays"),
        form_spec: one(p, "form_spec"),
        outcomes: one(p, "outcomes"),
        routing_rules: one(p, "routing_rules"),
        mail_address: one(p, "mail_address"),
        intake_web: checked(p, "intake_web"),
        intake_mail: checked(p, "intake_mail"),
        intake_phone: checked(p, "intake_phone"),
        notice_lookup: checked(p, "notice_lookup"),
        sla_take_minutes,
        sla_close_minutes,
        max_attachment_mb,
        office_codes: p
            .iter()
            .filter(|(k, v)| k == "office_codes" && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
            .collect(),
        active: checked(p, "active"),
    };
    (input, numbers)
}

pub async fn channel_save(
    State(state): State<Shared>,
    ctx: Ctx,
    body: String,
) -> Result<Response, WebError> {
    let p = pairs(&body);
    ctx.check_csrf(&one(&p, "csrf_token"))?;
    let mut f = FormErrors::default();
    let (input, numbers) = read_channel_form(ctx.lang, &p, &mut f);
    let local_limits = f.has("sla_take_minutes") || f.has("sla_close_minutes");
    let local_mb = f.has("max_attachment_mb");
    let is_new = store::channel_by_code(&state.app.db, &input.code)
        .await
        .map_err(db_err)?
        .is_none();
    match state
        .app
        .save_channel(ctx.session.as_ref(), input.clone(), &ctx.origin)
        .await
    {
        Ok(_) if f.is_empty() => {
            return Ok(Redirect::to("/amministrazione/canali?esito=salvato").into_response());
        }
        Ok(_) => {}
        Err(AppError::InvalidFields(list)) => {
            // The numbers' own messages already say what is wrong with them.
            let list = list
                .into_iter()
                .filter(|(k, _)| {
                    !(local_limits && k == "sla_take_minutes"
                        || local_mb && k == "max_attachment_mb")
                })
                .collect();
            push_field_errors(&mut f, CHANNEL_FIELDS, "code", list);
        }
        Err(e) => field_error(ctx.lang, e, &mut f)?,
    }
    // Opening hours are checked together; a closing day's mistake belongs
    // next to the closing days.
    for e in f.list.iter_mut() {
        if e.field == "hours_weekly" && e.message.starts_with("festività") {
            e.field = "hours_holidays".into();
        }
    }
    // The summary follows the order of the page.
    f.list.sort_by_key(|e| {
        CHANNEL_FIELDS
            .iter()
            .position(|k| *k == e.field)
            .unwrap_or(0)
    });
    let s = FormState {
        input,
        numbers: Some(numbers),
        is_new,
        assoc_fiscal_code: String::new(),
        assoc_office: String::new(),
    };
    channel_form_page(&state, &ctx, s, f, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AssociateForm {
    csrf_token: String,
    fiscal_code: String,
    office_code: String,
}

pub async fn channel_associate(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(code): Path<String>,
    f: FormResult<AssociateForm>,
) -> Result<Response, WebError> {
    let input = form(f)?;
    ctx.check_csrf(&input.csrf_token)?;
    let mut f = FormErrors::default();
    if input.fiscal_code.trim().is_empty() {
        f.push("fiscal_code", i18n::t(ctx.lang, "desk_admin.required"));
    }
    if input.office_code.trim().is_empty() {
        f.push("office_code", i18n::t(ctx.lang, "desk_admin.required"));
    }
    if f.is_empty() {
        match state
            .app
            .associate_requester(
                ctx.session.as_ref(),
                &code,
                &input.fiscal_code,
                &input.office_code,
                &ctx.origin,
            )
            .await
        {
            Ok(()) => {
                let code: String = code
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let to = format!("/amministrazione/canali/{code}?esito=associato#associa");
                return Ok(Redirect::to(&to).into_response());
            }
            Err(e) => field_error(ctx.lang, e, &mut f)?,
        }
    }
    let channel = stored_input(&state, &ctx, &code).await?;
    let s = FormState {
        input: channel,
        numbers: None,
        is_new: false,
        assoc_fiscal_code: input.fiscal_code,
        assoc_office: input.office_code,
    };
    channel_form_page(&state, &ctx, s, f, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AcceptingForm {
    csrf_token: String,
    accepting: String,
    next: String,
}

pub async fn office_accepting(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(id): Path<i64>,
    f: FormResult<AcceptingForm>,
) -> Result<Response, WebError> {
    let input = form(f)?;
    ctx.check_csrf(&input.csrf_token)?;
    let accepting = match input.accepting.trim() {
        "1" => true,
        "0" => false,
        _ => return Err(WebError::BadRequest("accepting: 1 | 0".into())),
    };
    state
        .app
        .set_office_accepting(ctx.session.as_ref(), id, accepting, &ctx.origin)
        .await?;
    let to = if input.next.trim().is_empty() {
        "/amministrazione/canali?esito=accettazione#uffici".to_string()
    } else {
        safe_next(Some(input.next.trim()))
    };
    Ok(Redirect::to(&to).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sportello_app::desk::reports::{DayPoint, ReportRow};

    #[test]
    fn every_text_named_here_exists() {
        let prefix = ["desk", "_admin."].concat();
        let needle = format!("\"{prefix}");
        for part in include_str!("desk_reports.rs").split(&needle).skip(1) {
            let key = format!("{prefix}{}", part.split('"').next().unwrap());
            assert_ne!(i18n::t(Lang::It, &key), "…", "missing {key}");
            assert_ne!(i18n::t(Lang::En, &key), "…", "missing {key}");
        }
    }

    #[test]
    fn scopes_read_back() {
        for s in [
            ReportScope::Office(7),
            ReportScope::Region("Emilia-Romagna".into()),
            ReportScope::Nation,
        ] {
            assert_eq!(parse_scope(&scope_value(&s)), Some(s));
        }
        assert_eq!(parse_scope("ufficio:x"), None);
        assert_eq!(parse_scope("regione:"), None);
        assert_eq!(parse_scope("altro"), None);
    }

    #[test]
    fn days_and_names() {
        assert_eq!(iso_day(20260305), "2026-03-05");
        assert_eq!(parse_date("2026-03-05").map(day_number), Some(20260305));
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("5/3/2026"), None);
        assert_eq!(slug("regione:Emilia-Romagna"), "regione-emilia-romagna");
        assert_eq!(slug("ufficio:12"), "ufficio-12");
    }

    fn counts(opened: i64) -> Counts {
        Counts {
            to_take: 1,
            in_progress: 2,
            opened,
            taken: 3,
            closed: 4,
            transferred_out: 0,
            deflected: 0,
            outcomes: Default::default(),
        }
    }

    #[test]
    fn report_csv_has_rows_then_the_series() {
        let mut r = Report {
            title: "Regione Emilia-Romagna".into(),
            from_day: 20260301,
            to_day: 20260302,
            totals: counts(9),
            rows: vec![ReportRow {
                code: "DP-FE".into(),
                label: "=Ferrara; centro".into(),
                counts: counts(5),
            }],
            series: vec![
                DayPoint {
                    day: 20260301,
                    opened: 2,
                    closed: 1,
                },
                DayPoint {
                    day: 20260302,
                    opened: 3,
                    closed: 0,
                },
            ],
        };
        let csv = report_csv_text(&r, "regione:Emilia-Romagna", "Emilia-Romagna");
        assert!(csv.starts_with('\u{feff}'));
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert_eq!(
            lines[0],
            "ambito;codice;nome;da_prendere_in_carico;in_lavorazione;ricevute;prese_in_carico;chiuse;trasferite"
        );
        assert_eq!(
            lines[1],
            "regione:Emilia-Romagna;DP-FE;\"'=Ferrara; centro\";1;2;5;3;4;0"
        );
        assert_eq!(lines[2], "");
        assert_eq!(lines[3], "giorno;ricevute;chiuse");
        assert_eq!(lines[4], "2026-03-01;2;1");
        assert_eq!(lines[5], "2026-03-02;3;0");
        r.rows.clear();
        let csv = report_csv_text(&r, "ufficio:3", "ADE-DP-BO");
        assert!(csv.contains("\r\nufficio:3;ADE-DP-BO;Regione Emilia-Romagna;1;2;9;3;4;0\r\n"));
    }

    #[test]
    fn channel_form_reads_checkboxes_and_numbers() {
        let body = "code=civis&name=CIVIS&office_codes=DP-FE&office_codes=DP-BO&intake_web=1\
                    &sla_take_minutes=&sla_close_minutes=abc&max_attachment_mb=10";
        let p = pairs(body);
        let mut f = FormErrors::default();
        let (input, numbers) = read_channel_form(Lang::It, &p, &mut f);
        assert_eq!(input.code, "CIVIS");
        assert_eq!(input.office_codes, vec!["DP-FE", "DP-BO"]);
        assert!(input.intake_web && !input.intake_mail && !input.active);
        assert_eq!(input.sla_take_minutes, 0);
        assert_eq!(input.sla_close_minutes, -1);
        assert_eq!(input.max_attachment_mb, 10);
        assert_eq!(numbers.sla_close_minutes, "abc");
        assert!(f.has("sla_close_minutes") && !f.has("sla_take_minutes"));
    }

    #[test]
    fn use_case_errors_land_on_their_fields() {
        let mut f = FormErrors::default();
        push_field_errors(
            &mut f,
            CHANNEL_FIELDS,
            "code",
            vec![
                ("form_spec".into(), "riga 2".into()),
                ("sconosciuto".into(), "altro".into()),
            ],
        );
        assert_eq!(f.get("form_spec"), Some("riga 2"));
        assert_eq!(f.get("code"), Some("altro"));
    }
}
