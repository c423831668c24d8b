//! SCIM 2.0 provisioning over real HTTP: a token of the Comune di Ferrara
//! provisions its employees (and its concessionaire's), never the Prefettura's;
//! users are created, read, listed, filtered, paged, replaced, patched,
//! disabled and deleted through the same use cases as the console; profiles
//! are groups whose members are enabled under the catalogue's rules; every
//! change is in the audit trail as the organization's service account.

use serde_json::{Value, json};
use sportello_app::demo::{self, DEMO_PASSWORD};
use sportello_app::{Origin, SessionUser};
use sportello_core::fiscal_code::check_character;
use sportello_store::catalogue;

use crate::harness::{Server, TestEnv, client, env_with};

const LOCAL_ADMIN: &str = "FRRMRC70A01D548N";
const EMPLOYEE: &str = "VRDNNA82D50D548K";
const CONCESSIONAIRE: &str = "NRELCU85M10D548J";
const PREFECTURE_OPERATOR: &str = "GRCCHR80T60D548W";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const EXTENSION: &str = "urn:sportello:params:scim:schemas:extension:2.0:User";

fn cf(first15: &str) -> String {
    format!("{first15}{}", check_character(first15))
}

struct World {
    t: TestEnv,
    server: Server,
    token: String,
}

async fn world() -> World {
    let t = env_with(|_| {}).await;
    demo::seed(&t.app).await.unwrap();
    let server = Server::start(t.app.clone()).await;
    let token = t
        .app
        .issue_scim_token_as_system("C-D548", "HR Comune", &Origin::default())
        .await
        .unwrap();
    World { t, server, token }
}

struct Reply {
    status: u16,
    body: Value,
    content_type: String,
    location: Option<String>,
}

impl World {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let url = self.server.url(&format!("/scim/v2{path}"));
        let mut req = client().request(method.parse().unwrap(), url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/scim+json")
                .body(b.to_string());
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let header = |name: &str| {
            res.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let content_type = header("content-type").unwrap_or_default();
        let location = header("location");
        let text = res.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        Reply {
            status,
            body,
            content_type,
            location,
        }
    }

    async fn get(&self, path: &str) -> Reply {
        self.call("GET", path, Some(&self.token), None).await
    }

    async fn send(&self, method: &str, path: &str, body: Value) -> Reply {
        self.call(method, path, Some(&self.token), Some(body)).await
    }

    async fn patch(&self, path: &str, ops: Value) -> Reply {
        self.send(
            "PATCH",
            path,
            json!({"schemas": [PATCH], "Operations": ops}),
        )
        .await
    }

    async fn scalar(&self, sql: &str, arg: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .bind(arg)
            .fetch_one(self.t.db.pool())
            .await
            .unwrap()
    }

    async fn user_id(&self, code: &str) -> i64 {
        self.scalar("SELECT id FROM users WHERE fiscal_code = $1", code)
            .await
    }

    async fn org_id(&self, code: &str) -> i64 {
        self.scalar("SELECT id FROM organizations WHERE code = $1", code)
            .await
    }

    async fn profile_id(&self, app: &str, profile: &str) -> i64 {
        sqlx::query_scalar(
            "SELECT p.id FROM profiles p JOIN applications a ON a.id = p.application_id WHERE a.code = $1 AND p.code = $2",
        )
        .bind(app)
        .bind(profile)
        .fetch_one(self.t.db.pool())
        .await
        .unwrap()
    }

    async fn status_of(&self, id: i64) -> String {
        sqlx::query_scalar("SELECT status FROM users WHERE id = $1")
            .bind(id)
            .fetch_one(self.t.db.pool())
            .await
            .unwrap()
    }

    /// (actor, acting organization) of the audit events of `action` on `target`.
    async fn audit(&self, action: &str, target: &str) -> Vec<(String, Option<String>)> {
        sqlx::query_as(
            "SELECT actor, acting_organization FROM audit_events WHERE action = $1 AND target = $2 ORDER BY seq",
        )
        .bind(action)
        .bind(target)
        .fetch_all(self.t.db.pool())
        .await
        .unwrap()
    }

    async fn service_actor(&self) -> (String, Option<String>) {
        let org = self.org_id("C-D548").await;
        let service = self.user_id(&format!("SCIM-{org}")).await;
        (format!("user:{service}"), Some(format!("org:{org}")))
    }

    async fn users_count(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(self.t.db.pool())
            .await
            .unwrap()
    }
}

fn assert_scim_error(r: &Reply, status: u16, scim_type: Option<&str>) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(
        r.content_type.starts_with("application/scim+json"),
        "{}",
        r.content_type
    );
    assert_eq!(r.body["schemas"][0], ERROR, "{}", r.body);
    assert_eq!(r.body["status"], status.to_string(), "status is a string");
    match scim_type {
        Some(t) => assert_eq!(r.body["scimType"], t, "{}", r.body),
        None => assert!(r.body.get("scimType").is_none(), "{}", r.body),
    }
    assert!(
        r.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{}",
        r.body
    );
}

fn new_user(code: &str, given: &str, email: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": code.to_lowercase(),
        "name": {"givenName": given, "familyName": "Moretti"},
        "emails": [{"value": "altro@example.it"}, {"value": email, "type": "work", "primary": true}],
        "phoneNumbers": [{"value": "+39 0532 419111", "type": "work"}],
        "externalId": format!("HR-{given}"),
        "active": true,
    })
}

async fn session_of(t: &TestEnv, code: &str) -> SessionUser {
    let login = t
        .app
        .login(code, DEMO_PASSWORD, &Origin::default())
        .await
        .unwrap();
    t.app
        .session_user(&login.session_token)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_token_acts_only_within_its_organization_and_the_bodies_under_it() {
    let w = world().await;

    // No token, a wrong one, another scheme: 401 with a SCIM error.
    let r = w.call("GET", "/Users", None, None).await;
    assert_scim_error(&r, 401, None);
    let r = w.call("GET", "/Users", Some("not-a-token"), None).await;
    assert_scim_error(&r, 401, None);
    let res = client()
        .get(w.server.url("/scim/v2/Users"))
        .basic_auth("admin", Some(&w.token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().get("www-authenticate").is_some());

    // The municipality's employees and its concessionaire's are visible...
    let list = w.get("/Users").await;
    assert_eq!(list.status, 200);
    assert!(list.content_type.starts_with("application/scim+json"));
    let names: Vec<&str> = list.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&LOCAL_ADMIN)
            && names.contains(&EMPLOYEE)
            && names.contains(&CONCESSIONAIRE)
    );
    assert_eq!(
        list.body["totalResults"], 3,
        "{names:?}: no one else, no service account"
    );
    let luca = w.user_id(CONCESSIONAIRE).await;
    let r = w
        .get(&format!(
            "/Users/{luca}?attributes=userName,{EXTENSION}:organization"
        ))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body[EXTENSION]["organization"], "FE-TRIBUTI");
    assert!(
        r.body.get("name").is_none(),
        "attributes narrows the answer"
    );

    // ...the Prefettura's operator is not: not found, whatever the method.
    let chiara = w.user_id(PREFECTURE_OPERATOR).await;
    assert_scim_error(&w.get(&format!("/Users/{chiara}")).await, 404, None);
    let r = w
        .patch(
            &format!("/Users/{chiara}"),
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_scim_error(&r, 404, None);
    let r = w
        .send(
            "PUT",
            &format!("/Users/{chiara}"),
            new_user(PREFECTURE_OPERATOR, "Chiara", "c@example.it"),
        )
        .await;
    assert_scim_error(&r, 404, None);
    assert_scim_error(
        &w.call("DELETE", &format!("/Users/{chiara}"), Some(&w.token), None)
            .await,
        404,
        None,
    );
    assert_eq!(
        w.status_of(chiara).await,
        "active",
        "nothing happened to her"
    );
    let r = w
        .get(&format!(
            "/Users?filter=userName%20eq%20%22{PREFECTURE_OPERATOR}%22"
        ))
        .await;
    assert_eq!(r.body["totalResults"], 0);
    // Nor is the token's own service account.
    let org = w.org_id("C-D548").await;
    let service = w.user_id(&format!("SCIM-{org}")).await;
    assert_scim_error(&w.get(&format!("/Users/{service}")).await, 404, None);

    // A token of the Prefettura sees its own people only.
    let prefecture =
        w.t.app
            .issue_scim_token_as_system("PREF-FE", "HR Prefettura", &Origin::default())
            .await
            .unwrap();
    let r = w
        .call("GET", &format!("/Users/{chiara}"), Some(&prefecture), None)
        .await;
    assert_eq!(r.status, 200);
    let anna = w.user_id(EMPLOYEE).await;
    let r = w
        .call("GET", &format!("/Users/{anna}"), Some(&prefecture), None)
        .await;
    assert_scim_error(&r, 404, None);

    // Tokens are issued by the organization's administrators, and revoked.
    let marco = session_of(&w.t, LOCAL_ADMIN).await;
    let pref = w.org_id("PREF-FE").await;
    assert!(matches!(
        w.t.app
            .issue_scim_token(Some(&marco), pref, "x", &Origin::default())
            .await,
        Err(sportello_app::AppError::Forbidden(_))
    ));
    let own =
        w.t.app
            .issue_scim_token(
                Some(&marco),
                org,
                "Gestionale del personale",
                &Origin::default(),
            )
            .await
            .unwrap();
    assert_eq!(w.call("GET", "/Users", Some(&own), None).await.status, 200);
    let listed = w.t.app.scim_tokens(Some(&marco), org).await.unwrap();
    assert_eq!(listed.len(), 2);
    let hash = sportello_app::security::token_hash(&own);
    assert!(
        listed
            .iter()
            .any(|t| t.token_hash == hash && t.label == "Gestionale del personale")
    );
    w.t.app
        .revoke_scim_token(Some(&marco), &hash, &Origin::default())
        .await
        .unwrap();
    assert_scim_error(&w.call("GET", "/Users", Some(&own), None).await, 401, None);
    assert_eq!(
        w.call("GET", "/Users", Some(&w.token), None).await.status,
        200,
        "the other token still works"
    );
    let issued: Vec<String> = sqlx::query_scalar(
        "SELECT actor FROM audit_events WHERE action = 'scim.token_issued' ORDER BY seq",
    )
    .fetch_all(w.t.db.pool())
    .await
    .unwrap();
    let marco_actor = format!("user:{}", marco.user.id);
    assert_eq!(issued, vec!["system", "system", marco_actor.as_str()]);
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM audit_events WHERE action = $1",
            "scim.token_revoked"
        )
        .await,
        1
    );

    // Disabling the service account suspends its tokens.
    w.t.app
        .set_user_disabled(Some(&marco), service, true, &Origin::default())
        .await
        .unwrap();
    assert_scim_error(&w.get("/Users").await, 403, None);
}

#[tokio::test]
async fn users_are_provisioned_through_the_same_use_cases_and_audited() {
    let w = world().await;
    let (service, service_org) = w.service_actor().await;
    let code = cf("MRTLSS90C45D548");

    // Create: the codice fiscale is upper-cased, the primary address kept.
    let r = w
        .send(
            "POST",
            "/Users",
            new_user(&code, "Alessia", "alessia.moretti@comune.fe.it"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.content_type.starts_with("application/scim+json"));
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["userName"], code);
    assert_eq!(
        r.body["emails"],
        json!([{"value": "alessia.moretti@comune.fe.it"}])
    );
    assert_eq!(
        r.body["phoneNumbers"],
        json!([{"value": "+39 0532 419111"}])
    );
    assert_eq!(r.body["externalId"], "HR-Alessia");
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body[EXTENSION]["category"], "public_employee");
    assert_eq!(r.body["meta"]["resourceType"], "User");
    assert!(r.body["meta"]["created"].as_str().is_some());
    let location = r.location.clone().unwrap();
    assert!(location.ends_with(&format!("/scim/v2/Users/{id}")));
    assert_eq!(r.body["meta"]["location"], location);
    let uid: i64 = id.parse().unwrap();
    assert_eq!(w.status_of(uid).await, "pending_activation");
    let org: i64 = sqlx::query_scalar("SELECT organization_id FROM users WHERE id = $1")
        .bind(uid)
        .fetch_one(w.t.db.pool())
        .await
        .unwrap();
    assert_eq!(org, w.org_id("C-D548").await);
    let mails: Vec<String> = sqlx::query_scalar("SELECT payload FROM outbox")
        .fetch_all(w.t.db.pool())
        .await
        .unwrap();
    assert!(
        mails.iter().any(
            |m| m.contains("alessia.moretti@comune.fe.it") && m.contains("/attivazione?token=")
        ),
        "first access by activation link"
    );
    let target = format!("user:{id}");
    assert_eq!(
        w.audit("user.create", &target).await,
        vec![(service.clone(), service_org.clone())]
    );
    assert_eq!(
        w.audit("user.update", &target).await.len(),
        1,
        "the external id"
    );

    // Bad input: a clear SCIM error and nothing changes.
    let before = w.users_count().await;
    let r = w
        .send("POST", "/Users", new_user(&code, "Alessia", "a@example.it"))
        .await;
    assert_scim_error(&r, 409, Some("uniqueness"));
    let mut wrong = code.clone();
    wrong.replace_range(15..16, if code.ends_with('A') { "B" } else { "A" });
    let r = w
        .send("POST", "/Users", new_user(&wrong, "X", "x@example.it"))
        .await;
    assert_scim_error(&r, 400, Some("invalidValue"));
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("carattere di controllo"),
        "{}",
        r.body
    );
    let mut missing = new_user(&cf("BRNLGU77A01D548"), "Luigi", "l@example.it");
    missing.as_object_mut().unwrap().remove("userName");
    assert_scim_error(
        &w.send("POST", "/Users", missing).await,
        400,
        Some("invalidValue"),
    );
    let mut no_mail = new_user(&cf("BRNLGU77A01D548"), "Luigi", "l@example.it");
    no_mail.as_object_mut().unwrap().remove("emails");
    let r = w.send("POST", "/Users", no_mail).await;
    assert_scim_error(&r, 400, Some("invalidValue"));
    assert!(
        r.body["detail"].as_str().unwrap().starts_with("emails"),
        "{}",
        r.body
    );
    let mut wrong_schema = new_user(&cf("BRNLGU77A01D548"), "Luigi", "l@example.it");
    wrong_schema["schemas"] = json!([GROUP]);
    assert_scim_error(
        &w.send("POST", "/Users", wrong_schema).await,
        400,
        Some("invalidSyntax"),
    );
    let res = client()
        .post(w.server.url("/scim/v2/Users"))
        .bearer_auth(&w.token)
        .header("content-type", "application/scim+json")
        .body("{\"schemas\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["scimType"], "invalidSyntax");
    assert_eq!(w.users_count().await, before, "refusals change nothing");

    // Read, filter, page.
    let r = w.get(&format!("/Users/{id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["name"]["givenName"], "Alessia");
    for filter in [
        format!("userName eq \"{}\"", code.to_lowercase()),
        "externalId eq \"HR-Alessia\"".to_string(),
        "emails.value eq \"ALESSIA.MORETTI@comune.fe.it\"".to_string(),
        "emails[value eq \"alessia.moretti@comune.fe.it\"]".to_string(),
        "name.familyName sw \"Mor\" and active eq true".to_string(),
    ] {
        let res = client()
            .get(w.server.url("/scim/v2/Users"))
            .bearer_auth(&w.token)
            .query(&[("filter", filter.as_str())])
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["totalResults"], 1, "{filter}: {body}");
        assert_eq!(body["Resources"][0]["id"], id, "{filter}");
    }
    for (filter, scim_type) in [
        ("title eq \"x\"", "invalidFilter"),
        ("userName eq", "invalidFilter"),
        ("emails[type eq \"work\"]", "invalidFilter"),
        ("userName gt \"A\"", "invalidFilter"),
    ] {
        let res = client()
            .get(w.server.url("/scim/v2/Users"))
            .bearer_auth(&w.token)
            .query(&[("filter", filter)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{filter}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["scimType"], scim_type, "{filter}: {body}");
    }
    let all = w.get("/Users").await.body;
    assert_eq!(all["totalResults"], 4);
    let mut seen = Vec::new();
    for start in [1, 3] {
        let page = w
            .get(&format!("/Users?startIndex={start}&count=2"))
            .await
            .body;
        assert_eq!(page["totalResults"], 4);
        assert_eq!(page["startIndex"], start);
        assert_eq!(page["itemsPerPage"], 2);
        for u in page["Resources"].as_array().unwrap() {
            seen.push(u["id"].as_str().unwrap().to_string());
        }
    }
    let expected: Vec<String> = all["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        seen, expected,
        "pages follow each other without gaps or repeats"
    );
    let past = w.get("/Users?startIndex=10&count=2").await.body;
    assert_eq!(past["totalResults"], 4);
    assert_eq!(past["Resources"], json!([]));
    let only_total = w.get("/Users?count=0").await.body;
    assert_eq!(
        (
            only_total["totalResults"].as_i64(),
            only_total["itemsPerPage"].as_i64()
        ),
        (Some(4), Some(0))
    );

    // Replace: the codice fiscale cannot change, the rest can.
    let mut replaced = new_user(&code, "Alessandra", "a.moretti@comune.fe.it");
    replaced.as_object_mut().unwrap().remove("phoneNumbers");
    replaced[EXTENSION] = json!({"category": "contractor_employee"});
    let r = w
        .send("PUT", &format!("/Users/{id}"), replaced.clone())
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"]["givenName"], "Alessandra");
    assert_eq!(r.body["emails"][0]["value"], "a.moretti@comune.fe.it");
    assert!(
        r.body.get("phoneNumbers").is_none(),
        "omitted in a PUT = removed"
    );
    assert_eq!(r.body[EXTENSION]["category"], "contractor_employee");
    replaced["userName"] = json!(cf("BRNLGU77A01D548"));
    let r = w.send("PUT", &format!("/Users/{id}"), replaced).await;
    assert_scim_error(&r, 400, Some("mutability"));
    assert_eq!(w.audit("user.update", &target).await.len(), 2);

    // Patch: the paths provisioning clients send.
    let r = w
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "alessandra@comune.fe.it"},
                {"op": "Add", "path": "phoneNumbers", "value": [{"value": "0532 111222", "type": "work"}]},
                {"op": "Replace", "value": {"name.familyName": "Moretti Bianchi", "active": "False"}},
            ]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["emails"][0]["value"], "alessandra@comune.fe.it");
    assert_eq!(r.body["phoneNumbers"][0]["value"], "0532 111222");
    assert_eq!(r.body["name"]["familyName"], "Moretti Bianchi");
    assert_eq!(r.body["active"], false);
    assert_eq!(w.status_of(uid).await, "disabled");
    assert_eq!(
        w.audit("user.disable", &target).await,
        vec![(service.clone(), service_org.clone())]
    );
    let res = client()
        .get(w.server.url("/scim/v2/Users"))
        .bearer_auth(&w.token)
        .query(&[("filter", "active eq false")])
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["totalResults"], 1);
    let r = w
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "active", "value": true}]),
        )
        .await;
    assert_eq!(r.body["active"], true);
    assert_eq!(w.status_of(uid).await, "active");
    assert_eq!(w.audit("user.reenable", &target).await.len(), 1);
    let r = w
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "remove", "path": "phoneNumbers[value eq \"0532 111222\"]"}, {"op": "remove", "path": "externalId"}]),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("phoneNumbers").is_none() && r.body.get("externalId").is_none());
    // A patch that fails in its last operation changes nothing.
    let updates = w.audit("user.update", &target).await.len();
    let r = w
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "replace", "path": "name.givenName", "value": "Sandra"},
                {"op": "replace", "path": "userName", "value": cf("BRNLGU77A01D548")},
            ]),
        )
        .await;
    assert_scim_error(&r, 400, Some("mutability"));
    let r = w
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "emails", "value": [{"value": "not an address"}]}]),
        )
        .await;
    assert_scim_error(&r, 400, Some("invalidValue"));
    assert_scim_error(
        &w.patch(
            &format!("/Users/{id}"),
            json!([{"op": "add", "path": "nickName", "value": "x"}]),
        )
        .await,
        400,
        Some("invalidPath"),
    );
    assert_eq!(
        w.get(&format!("/Users/{id}")).await.body["name"]["givenName"],
        "Alessandra"
    );
    assert_eq!(w.audit("user.update", &target).await.len(), updates);

    // Delete: personal data erased, the audit trail kept, then not found.
    let r = w
        .call("DELETE", &format!("/Users/{id}"), Some(&w.token), None)
        .await;
    assert_eq!(r.status, 204);
    assert_scim_error(&w.get(&format!("/Users/{id}")).await, 404, None);
    let code_now: String = sqlx::query_scalar("SELECT fiscal_code FROM users WHERE id = $1")
        .bind(uid)
        .fetch_one(w.t.db.pool())
        .await
        .unwrap();
    assert_eq!(code_now, format!("ELIMINATO-{id}"));
    assert_eq!(
        w.audit("user.delete", &target).await,
        vec![(service, service_org)]
    );
    // The codice fiscale is free again.
    let r = w
        .send(
            "POST",
            "/Users",
            new_user(&code, "Alessia", "alessia.moretti@comune.fe.it"),
        )
        .await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn group_members_are_enabled_and_revoked_under_the_catalogue_rules() {
    let w = world().await;
    let (service, _) = w.service_actor().await;
    let anna = w.user_id(EMPLOYEE).await;
    let luca = w.user_id(CONCESSIONAIRE).await;
    let chiara = w.user_id(PREFECTURE_OPERATOR).await;
    let ptt = w.profile_id("PTT", "ente_impositore").await;
    let ptt_read = w.profile_id("PTT", "consultazione").await;
    let telecontenzioso = w.profile_id("TELECONTENZIOSO", "ente_impositore").await;
    let business = w.profile_id("SERVIZI-INTEGRATI", "impresa").await;

    // Groups are the catalogue's profiles; members are those in scope.
    let groups = w.get("/Groups").await;
    assert_eq!(groups.status, 200);
    let total = groups.body["totalResults"].as_i64().unwrap();
    assert_eq!(
        total,
        catalogue::profiles(&w.t.db).await.unwrap().len() as i64
    );
    let r = w.get(&format!("/Groups/{ptt}")).await;
    assert_eq!(
        r.body["displayName"],
        "Processo Tributario Telematico - Ente impositore"
    );
    assert_eq!(
        r.body["members"],
        json!([{
            "value": luca.to_string(),
            "$ref": format!("{}/scim/v2/Users/{luca}", w.t.app.config.public_base_url.trim_end_matches('/')),
            "display": "Luca Neri",
            "type": "User",
        }])
    );
    let res = client()
        .get(w.server.url("/scim/v2/Groups"))
        .bearer_auth(&w.token)
        .query(&[
            (
                "filter",
                "displayName eq \"Telecontenzioso - Ente impositore - consultazione vertenze\"",
            ),
            ("excludedAttributes", "members"),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["totalResults"], 1);
    assert_eq!(body["Resources"][0]["id"], telecontenzioso.to_string());
    assert!(body["Resources"][0].get("members").is_none());

    // Adding a member enables the profile, with the same rules and e-mail.
    let r = w
        .patch(
            &format!("/Groups/{ptt}"),
            json!([{"op": "add", "path": "members", "value": [{"value": anna.to_string()}]}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let held = catalogue::enablements_of(&w.t.db, anna).await.unwrap();
    assert!(held.iter().any(|e| e.profile_id == ptt), "{held:?}");
    assert_eq!(
        w.audit("user.enable", &format!("user:{anna}")).await[0].0,
        service
    );
    let me = w.get(&format!("/Users/{anna}")).await.body;
    let ptt_id = ptt.to_string();
    assert!(
        me["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["value"] == ptt_id.as_str()),
        "{me}"
    );
    // Adding again is harmless.
    let r = w
        .patch(
            &format!("/Groups/{ptt}"),
            json!([{"op": "add", "path": "members", "value": [{"value": anna.to_string()}]}]),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        w.audit("user.enable", &format!("user:{anna}")).await.len(),
        1
    );

    // Refusals carry the catalogue's reason, and change nothing.
    let before = catalogue::enablements_of(&w.t.db, anna)
        .await
        .unwrap()
        .len();
    let r = w
        .patch(
            &format!("/Groups/{business}"),
            json!([{"op": "add", "path": "members", "value": [{"value": anna.to_string()}]}]),
        )
        .await;
    assert_scim_error(&r, 400, Some("invalidValue"));
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("non può essere assegnato a utenti di questo tipo di ente"),
        "{}",
        r.body
    );
    let r = w
        .patch(
            &format!("/Groups/{ptt_read}"),
            json!([{"op": "add", "path": "members", "value": [{"value": anna.to_string()}]}]),
        )
        .await;
    assert_scim_error(&r, 400, Some("invalidValue"));
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("un solo profilo per applicazione"),
        "{}",
        r.body
    );
    let r = w
        .patch(
            &format!("/Groups/{ptt}"),
            json!([{"op": "add", "path": "members", "value": [{"value": chiara.to_string()}]}]),
        )
        .await;
    assert_scim_error(&r, 400, Some("invalidValue"));
    assert!(
        catalogue::enablements_of(&w.t.db, chiara)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        catalogue::enablements_of(&w.t.db, anna)
            .await
            .unwrap()
            .len(),
        before
    );

    // Removing a member revokes the profile.
    let r = w
        .patch(
            &format!("/Groups/{ptt}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{anna}\"]")}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        !catalogue::enablements_of(&w.t.db, anna)
            .await
            .unwrap()
            .iter()
            .any(|e| e.profile_id == ptt)
    );
    assert_eq!(
        w.audit("user.revoke", &format!("user:{anna}")).await[0].0,
        service
    );
    let r = w
        .patch(
            &format!("/Groups/{ptt}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{anna}\"]")}]),
        )
        .await;
    assert_scim_error(&r, 400, Some("noTarget"));

    // PUT replaces the members of the scope: Luca out, Anna in.
    let r = w
        .send(
            "PUT",
            &format!("/Groups/{ptt}"),
            json!({"schemas": [GROUP], "displayName": "Processo Tributario Telematico - Ente impositore",
                   "members": [{"value": anna.to_string()}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["members"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["members"][0]["value"], anna.to_string());
    assert!(
        catalogue::enablements_of(&w.t.db, luca)
            .await
            .unwrap()
            .iter()
            .all(|e| e.profile_id != ptt)
    );

    // The catalogue is the central administrator's.
    let r = w
        .send(
            "POST",
            "/Groups",
            json!({"schemas": [GROUP], "displayName": "Nuovo"}),
        )
        .await;
    assert_scim_error(&r, 403, None);
    assert_scim_error(
        &w.call("DELETE", &format!("/Groups/{ptt}"), Some(&w.token), None)
            .await,
        403,
        None,
    );
    let r = w
        .patch(
            &format!("/Groups/{ptt}"),
            json!([{"op": "replace", "path": "displayName", "value": "Altro"}]),
        )
        .await;
    assert_scim_error(&r, 400, Some("mutability"));
    assert_scim_error(&w.get("/Groups/999999").await, 404, None);
}

#[tokio::test]
async fn discovery_describes_what_is_supported() {
    let w = world().await;
    let spc = w.get("/ServiceProviderConfig").await;
    assert_eq!(spc.status, 200);
    assert!(spc.content_type.starts_with("application/scim+json"));
    assert_eq!(spc.body["patch"]["supported"], true);
    assert_eq!(spc.body["bulk"]["supported"], false);
    assert_eq!(
        spc.body["filter"],
        json!({"supported": true, "maxResults": 200})
    );
    assert_eq!(spc.body["changePassword"]["supported"], false);
    assert_eq!(spc.body["sort"]["supported"], false);
    assert_eq!(spc.body["etag"]["supported"], false);
    assert_eq!(
        spc.body["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );
    let types = w.get("/ResourceTypes").await.body;
    assert_eq!(types["totalResults"], 2);
    let user = w.get("/ResourceTypes/User").await.body;
    assert_eq!(user["schemaExtensions"][0]["schema"], EXTENSION);
    let schemas = w.get("/Schemas").await.body;
    let ids: Vec<&str> = schemas["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    for id in [USER, GROUP, EXTENSION] {
        assert!(ids.contains(&id), "{ids:?}");
        assert_eq!(w.get(&format!("/Schemas/{id}")).await.status, 200);
    }
    let user_schema = w.get(&format!("/Schemas/{USER}")).await.body;
    let user_name = user_schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "userName")
        .unwrap();
    assert_eq!(user_name["mutability"], "immutable");
    assert_eq!(user_name["uniqueness"], "server");
    assert_scim_error(&w.get("/Schemas/urn:nothing:here").await, 404, None);
    assert_scim_error(&w.get("/ResourceTypes/Printer").await, 404, None);
    assert_scim_error(&w.get("/Nothing").await, 404, None);
    assert_scim_error(&w.send("POST", "/Bulk", json!({})).await, 501, None);
    // A search over every resource type: users first, then groups.
    let r = w
        .send(
            "POST",
            "/.search",
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": format!("displayName sw \"Processo\" or userName eq \"{EMPLOYEE}\""),
                "attributes": ["userName", "displayName"],
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalResults"], 7, "Anna and the six PTT profiles");
    assert_eq!(r.body["Resources"][0]["userName"], EMPLOYEE);
    assert!(r.body["Resources"][0].get("name").is_none());
    assert!(
        r.body["Resources"][1]["displayName"]
            .as_str()
            .unwrap()
            .starts_with("Processo Tributario Telematico")
    );
    let r = w
        .call("DELETE", "/ServiceProviderConfig", Some(&w.token), None)
        .await;
    assert_scim_error(&r, 405, None);
}

#[tokio::test]
async fn the_cli_issues_a_token_and_prints_only_it() {
    let w = world().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sportello"))
        .args([
            "--database-url",
            &w.t.app.config.database_url,
            "--data-dir",
            w.t.dir.path().to_str().unwrap(),
            "scim-token",
            "--org",
            "C-D548",
            "--label",
            "Gestionale HR",
        ])
        .env_remove("SPORTELLO_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.trim();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert_eq!(token.len(), 64);
    assert_eq!(w.call("GET", "/Users", Some(token), None).await.status, 200);
    let labels: Vec<String> =
        sqlx::query_scalar("SELECT label FROM scim_tokens ORDER BY created_at")
            .fetch_all(w.t.db.pool())
            .await
            .unwrap();
    assert_eq!(labels, vec!["HR Comune", "Gestionale HR"]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sportello"))
        .args([
            "--database-url",
            &w.t.app.config.database_url,
            "--data-dir",
            w.t.dir.path().to_str().unwrap(),
            "scim-token",
            "--org",
            "NESSUNO",
            "--label",
            "x",
        ])
        .env_remove("SPORTELLO_CONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("NESSUNO"));
}
