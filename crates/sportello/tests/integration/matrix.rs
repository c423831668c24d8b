//! The authorization matrix: every role against users of its own
//! organization, of a body under it, of foreign organizations and of none,
//! for reading, acting and reading history. Nothing leaks, and refused acts
//! leave no trace but the refusal.

use sportello_app::demo::{self, DEMO_PASSWORD};
use sportello_core::authz::{Grant, Role};
use sportello_store::directory::{self, NewUser};

use crate::harness::{Server, client, env, hidden_field, login};

struct Target {
    name: &'static str,
    fiscal_code: String,
    org_code: Option<&'static str>,
}

#[tokio::test]
async fn no_role_reaches_what_it_does_not_manage() {
    let t = env().await;
    demo::seed(&t.app).await.unwrap();
    // A local administrator of the region, and a user of the region.
    let now = sportello_app::now_micros();
    let region: i64 = sqlx::query_scalar("SELECT id FROM organizations WHERE code = 'RER'")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    let hash = t.app.hasher.hash(DEMO_PASSWORD.into()).await.unwrap();
    let cf = |first15: &str| {
        format!(
            "{first15}{}",
            sportello_core::fiscal_code::check_character(first15)
        )
    };
    let (region_admin_cf, region_user_cf) = (cf("BRNLCA70C10A944"), cf("GLLMRT75D50A944"));
    let mut tx = t.db.begin_write().await.unwrap();
    for (code, given, admin) in [
        (&region_admin_cf, "Luca", true),
        (&region_user_cf, "Marta", false),
    ] {
        let (id, _) = directory::ensure_user(
            &mut tx,
            &NewUser {
                fiscal_code: code,
                given_name: given,
                family_name: "Bruni",
                email: "x@regione.example.it",
                category: "public_employee",
                status: "active",
                organization_id: Some(region),
                password_hash: Some(&hash),
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
        if admin {
            directory::ensure_role(
                &mut tx,
                id,
                &Grant {
                    role: Role::LocalAdmin,
                    organization_id: Some(region),
                    office_id: None,
                    region: None,
                },
            )
            .await
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
    let server = Server::start(t.app.clone()).await;

    let targets = [
        Target {
            name: "municipality",
            fiscal_code: "VRDNNA82D50D548K".into(),
            org_code: Some("C-D548"),
        },
        Target {
            name: "concessionaire under it",
            fiscal_code: "NRELCU85M10D548J".into(),
            org_code: Some("FE-TRIBUTI"),
        },
        Target {
            name: "prefecture",
            fiscal_code: "GRCCHR80T60D548W".into(),
            org_code: Some("PREF-FE"),
        },
        Target {
            name: "region",
            fiscal_code: region_user_cf.clone(),
            org_code: Some("RER"),
        },
        Target {
            name: "no organization",
            fiscal_code: "GLLPLA68S12A944U".into(),
            org_code: None,
        },
    ];
    // (role, login, targets it manages)
    let roles: Vec<(&str, Option<String>, Vec<&str>)> = vec![
        ("anonymous", None, vec![]),
        ("plain user", Some("VRDNNA82D50D548K".into()), vec![]),
        ("operator", Some("RMNDVD88B15D548G".into()), vec![]),
        ("office manager", Some("CNTSRA79H50D548Q".into()), vec![]),
        ("regional manager", Some("RCCLNE72E55A944A".into()), vec![]),
        ("central manager", Some("MRNFNC65L20H501Z".into()), vec![]),
        (
            "local admin of the municipality",
            Some("FRRMRC70A01D548N".into()),
            vec!["municipality", "concessionaire under it"],
        ),
        (
            "local admin of the region",
            Some(region_admin_cf.clone()),
            vec!["region"],
        ),
        (
            "central admin",
            Some("BNCGLI75C45H501W".into()),
            vec![
                "municipality",
                "concessionaire under it",
                "prefecture",
                "region",
                "no organization",
            ],
        ),
    ];
    let mut allowed_acts = 0;
    let mut checked = 0;
    for (role, code, manages) in &roles {
        let c = client();
        if let Some(code) = code {
            assert_eq!(
                login(&server, &c, code, DEMO_PASSWORD).await.status(),
                303,
                "{role} logs in"
            );
        }
        let home = c
            .get(server.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = hidden_field_or_empty(&home);
        for target in &targets {
            let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE fiscal_code = $1")
                .bind(&target.fiscal_code)
                .fetch_one(t.db.pool())
                .await
                .unwrap();
            let expected = manages.contains(&target.name);
            let refused = |status: u16| {
                if code.is_none() {
                    status == 303 || status == 403
                } else {
                    status == 403
                }
            };
            let view = c
                .get(server.url(&format!("/admin/utenti/{id}")))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            let act = c
                .post(server.url(&format!("/admin/utenti/{id}/reinvia")))
                .form(&[("csrf_token", csrf.as_str())])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            let disable = if expected {
                None
            } else {
                Some(
                    c.post(server.url(&format!("/admin/utenti/{id}/disabilita")))
                        .form(&[("csrf_token", csrf.as_str())])
                        .send()
                        .await
                        .unwrap()
                        .status()
                        .as_u16(),
                )
            };
            let history = match target.org_code {
                Some(org) => {
                    let org_id: i64 =
                        sqlx::query_scalar("SELECT id FROM organizations WHERE code = $1")
                            .bind(org)
                            .fetch_one(t.db.pool())
                            .await
                            .unwrap();
                    let html = c
                        .get(server.url(&format!("/admin/audit?ente={org_id}&oggetto=user:{id}")))
                        .send()
                        .await
                        .unwrap();
                    let status = html.status().as_u16();
                    let body = html.text().await.unwrap();
                    Some((status, body.contains(&format!("user:{id}</td>"))))
                }
                None => None,
            };
            if expected {
                assert_eq!(view, 200, "{role} should see the {} user", target.name);
                assert_eq!(act, 303, "{role} should act on the {} user", target.name);
                allowed_acts += 1;
            } else {
                assert!(
                    refused(view),
                    "{role} saw the {} user ({view})",
                    target.name
                );
                assert!(
                    refused(act),
                    "{role} acted on the {} user ({act})",
                    target.name
                );
                assert!(
                    disable.is_some_and(refused),
                    "{role} disabled the {} user",
                    target.name
                );
                if let Some((_, leaked)) = history {
                    assert!(
                        !leaked,
                        "{role} read the history of the {} user",
                        target.name
                    );
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, roles.len() * targets.len());
    let resends: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'user.resend_first_access'",
    )
    .fetch_one(t.db.pool())
    .await
    .unwrap();
    assert_eq!(resends, allowed_acts, "only allowed acts left a trace");
    let disabled: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE status = 'disabled'")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert_eq!(disabled, 0, "no refused disable went through");
}

fn hidden_field_or_empty(html: &str) -> String {
    if html.contains("name=\"csrf_token\" value=\"") {
        hidden_field(html, "csrf_token")
    } else {
        String::new()
    }
}
