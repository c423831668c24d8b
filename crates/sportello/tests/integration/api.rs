//! The JSON API with a real HTTP client: session cookie plus CSRF header,
//! bearer tokens scoped to an organization, the same rules as the pages, and
//! an OpenAPI document that lists every route.

use serde_json::{Value, json};
use sportello_app::demo::{self, DEMO_PASSWORD};

use crate::harness::{Server, client, env, hidden_field, login};

async fn session(server: &Server, code: &str) -> (reqwest::Client, String) {
    let c = client();
    login(server, &c, code, DEMO_PASSWORD).await;
    let home = c
        .get(server.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&home, "csrf_token");
    (c, csrf)
}

#[tokio::test]
async fn the_api_applies_the_same_rules_as_the_console() {
    let t = env().await;
    demo::seed(&t.app).await.unwrap();
    let server = Server::start(t.app.clone()).await;
    assert_eq!(
        client()
            .get(server.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    let (c, csrf) = session(&server, "FRRMRC70A01D548N").await;
    let me: Value = c
        .get(server.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["fiscal_code"], "FRRMRC70A01D548N");
    assert_eq!(me["roles"][0], "local_admin");
    let orgs: Value = c
        .get(server.url("/api/v1/organizations"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = orgs
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names.len(),
        2,
        "the municipality and its concessionaire: {names:?}"
    );
    let comune = orgs
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["code"] == "C-D548")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    let cf = {
        let first15 = "MRTLSS90C45D548";
        format!(
            "{first15}{}",
            sportello_core::fiscal_code::check_character(first15)
        )
    };
    let body = json!({"fiscal_code": cf, "given_name": "Alessia", "family_name": "Moretti", "email": "alessia.moretti@comune.ferrara.example.it",
                      "category": "public_employee", "organization_id": comune});
    // Without the CSRF header a cookie-authenticated write is refused.
    let res = c
        .post(server.url("/api/v1/users"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = c
        .post(server.url("/api/v1/users"))
        .header("x-csrf-token", &csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    // Bad input: the field and the reason.
    let mut bad = body.clone();
    bad["fiscal_code"] = json!("MRTLSS90C45D548Z");
    let res = c
        .post(server.url("/api/v1/users"))
        .header("x-csrf-token", &csrf)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["field"], "fiscal_code");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("carattere di controllo")
    );

    let apps: Value = c
        .get(server.url("/api/v1/applications"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ptt = apps
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "PTT")
        .unwrap();
    let ente = ptt["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "ente_impositore")
        .unwrap();
    assert!(
        !ente["implies"].as_array().unwrap().is_empty(),
        "PTT opens Telecontenzioso"
    );
    let profile = ente["id"].as_i64().unwrap();
    let res = c
        .post(server.url(&format!("/api/v1/users/{id}/enablements")))
        .header("x-csrf-token", &csrf)
        .json(&json!({"profile_id": profile}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = c
        .post(server.url(&format!("/api/v1/users/{id}/enablements")))
        .header("x-csrf-token", &csrf)
        .json(&json!({"profile_id": profile}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        400,
        "a second profile of the same application"
    );
    let detail: Value = c
        .get(server.url(&format!("/api/v1/users/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["enablements"].as_array().unwrap().len(), 1);
    assert_eq!(detail["status"], "pending_activation");

    // Another organization's user: refused.
    let chiara: i64 =
        sqlx::query_scalar("SELECT id FROM users WHERE fiscal_code = 'GRCCHR80T60D548W'")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
    assert_eq!(
        c.get(server.url(&format!("/api/v1/users/{chiara}")))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let res = c
        .put(server.url(&format!("/api/v1/users/{chiara}/active")))
        .header("x-csrf-token", &csrf)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // A bearer token issued to the municipality's system acts within it only.
    let token = t
        .app
        .issue_scim_token_as_system("C-D548", "HR", &Default::default())
        .await
        .unwrap();
    let bearer = client();
    let list: Value = bearer
        .get(server.url("/api/v1/users?q=moretti"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(
        bearer
            .get(server.url(&format!("/api/v1/users/{chiara}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        bearer
            .get(server.url("/api/v1/me"))
            .bearer_auth("not-a-token")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let t = env().await;
    let server = Server::start(t.app.clone()).await;
    let doc: Value = client()
        .get(server.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/me",
        "/api/v1/users",
        "/api/v1/users/{id}/enablements",
        "/api/v1/profiles/{id}/rules",
        "/api/v1/subdelegations",
        "/api/v1/appointments/{id}/decision",
        "/api/v1/audit",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
    let res = client()
        .get(server.url("/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "not_found");
}
