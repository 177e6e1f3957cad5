//! Sign-in, sessions, tokens, API keys and signed requests, roles on every route.

use kairos_domain::Role;
use kairos_platform::storage::scratch;
use reqwest::Method;
use serde_json::json;

use crate::support::{error_code, login, new_wallet, signed, spawn};

#[tokio::test]
async fn wallet_sign_in_is_single_use_and_checks_the_signature() {
    use ed25519_dalek::Signer as _;
    for db in scratch::all().await {
        let app = spawn(&db, &[]).await;
        let wallet = new_wallet();
        let tokens = login(&app, &wallet).await;
        assert_eq!(tokens["token_type"], "Bearer");
        assert_eq!(tokens["expires_in"], 900);
        let access = tokens["access_token"].as_str().expect("token");
        let (status, body) = app.send(Method::GET, "/v1/account/limits", Some(access), None).await;
        assert_eq!((status, body["role"].as_str()), (200, Some("user")), "{}: {body}", db.label);

        // A new challenge, signed by another key: refused and audited.
        let (_, challenge) =
            app.send(Method::POST, "/v1/auth/challenge", None, Some(json!({ "wallet": wallet.1 }))).await;
        let message = challenge["message"].as_str().expect("message");
        let impostor = new_wallet();
        let bad_sig = bs58::encode(impostor.0.sign(message.as_bytes()).to_bytes()).into_string();
        let login_body = |sig: &str| json!({ "wallet": wallet.1, "message": message, "signature": sig });
        let (status, body) = app.send(Method::POST, "/v1/auth/login", None, Some(login_body(&bad_sig))).await;
        assert_eq!((status, error_code(&body).as_str()), (401, "invalid_signature"));
        let failed =
            kairos_platform::storage::audit_log::list(app.state().db(), None, Some("auth.failed_signature"), 0, 10)
                .await
                .expect("audit");
        assert_eq!(failed.len(), 1);

        // The right signature works once.
        let good_sig = bs58::encode(wallet.0.sign(message.as_bytes()).to_bytes()).into_string();
        assert_eq!(app.send(Method::POST, "/v1/auth/login", None, Some(login_body(&good_sig))).await.0, 200);
        let (status, body) = app.send(Method::POST, "/v1/auth/login", None, Some(login_body(&good_sig))).await;
        assert_eq!((status, error_code(&body).as_str()), (401, "challenge_used"));

        // Expired challenges are refused.
        let (_, challenge) =
            app.send(Method::POST, "/v1/auth/challenge", None, Some(json!({ "wallet": wallet.1 }))).await;
        sqlx::query("UPDATE auth_challenges SET expires_at_us = 0 WHERE nonce = $1")
            .bind(challenge["nonce"].as_str().expect("nonce"))
            .execute(app.state().db().pool())
            .await
            .expect("expire");
        let message = challenge["message"].as_str().expect("message");
        let sig = bs58::encode(wallet.0.sign(message.as_bytes()).to_bytes()).into_string();
        let (status, body) = app
            .send(
                Method::POST,
                "/v1/auth/login",
                None,
                Some(json!({ "wallet": wallet.1, "message": message, "signature": sig })),
            )
            .await;
        assert_eq!((status, error_code(&body).as_str()), (401, "challenge_expired"));

        for (body, code) in [
            (json!({ "wallet": "not base58!" }), "invalid_wallet"),
            (json!({ "wallet": 5 }), "invalid_json"),
            (json!({}), "invalid_json"),
        ] {
            let (status, res) = app.send(Method::POST, "/v1/auth/challenge", None, Some(body)).await;
            assert_eq!((status, error_code(&res).as_str()), (400, code));
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_session() {
    for db in scratch::all().await {
        let app = spawn(&db, &[]).await;
        let first = login(&app, &new_wallet()).await;
        let refresh = |t: &serde_json::Value| json!({ "refresh_token": t["refresh_token"] });
        let (status, second) = app.send(Method::POST, "/v1/auth/refresh", None, Some(refresh(&first))).await;
        assert_eq!(status, 200, "{}: {second}", db.label);
        assert_ne!(second["refresh_token"], first["refresh_token"]);

        let (status, body) = app.send(Method::POST, "/v1/auth/refresh", None, Some(refresh(&first))).await;
        assert_eq!((status, error_code(&body).as_str()), (401, "refresh_token_reused"));
        let (status, body) = app.send(Method::POST, "/v1/auth/refresh", None, Some(refresh(&second))).await;
        assert_eq!((status, error_code(&body).as_str()), (401, "refresh_token_revoked"), "the family is revoked");
        let reuse =
            kairos_platform::storage::audit_log::list(app.state().db(), None, Some("auth.refresh_reuse"), 0, 10)
                .await
                .expect("audit");
        assert_eq!(reuse.len(), 1);

        let third = login(&app, &new_wallet()).await;
        assert_eq!(app.send(Method::POST, "/v1/auth/logout", None, Some(refresh(&third))).await.0, 204);
        let (status, body) = app.send(Method::POST, "/v1/auth/refresh", None, Some(refresh(&third))).await;
        assert_eq!((status, error_code(&body).as_str()), (401, "refresh_token_revoked"));
        let (status, body) =
            app.send(Method::POST, "/v1/auth/refresh", None, Some(json!({ "refresh_token": "nope" }))).await;
        assert_eq!((status, error_code(&body).as_str()), (401, "invalid_refresh_token"));
        app.stop().await;
    }
}

#[tokio::test]
async fn bad_tokens_get_401_with_their_own_code() {
    use base64::Engine as _;
    let db = scratch::sqlite();
    let previous = "p".repeat(10) + "revious-secret-0123456789abcdefghij";
    let app = spawn(&db, &[("KAIROS_JWT_SECRET_PREVIOUS", &previous)]).await;
    let (user_id, good) = app.user(Role::User).await;
    let state = app.state();
    let now = kairos_domain::now_us() / 1_000_000;
    let (expired, _) = state.jwt().issue(&user_id, Role::User, now - 3_600).expect("issue");
    let foreign = kairos_api::access::jwt::Keys::new(&kairos_platform::config::Secret::new("f".repeat(48)), None);
    let (unknown_kid, _) = foreign.issue(&user_id, Role::User, now).expect("issue");
    let none_header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let alg_none = format!("{none_header}.{}.", good.split('.').nth(1).expect("payload"));
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    parts[2] = "A".repeat(43);
    let forged = parts.join(".");
    for (token, code) in [
        (expired.as_str(), "token_expired"),
        (unknown_kid.as_str(), "unknown_kid"),
        (alg_none.as_str(), "unsupported_algorithm"),
        (forged.as_str(), "invalid_token_signature"),
        ("garbage", "invalid_token"),
    ] {
        let (status, body) = app.send(Method::GET, "/v1/account/limits", Some(token), None).await;
        assert_eq!((status, error_code(&body).as_str()), (401, code), "{token}");
    }
    let (status, body) = app.send(Method::GET, "/v1/account/limits", None, None).await;
    assert_eq!((status, error_code(&body).as_str()), (401, "missing_credentials"));
    // During a rotation, tokens of the previous secret still verify.
    let old = kairos_api::access::jwt::Keys::new(&kairos_platform::config::Secret::new(previous), None);
    let (old_token, _) = old.issue(&user_id, Role::User, now).expect("issue");
    assert_eq!(app.send(Method::GET, "/v1/account/limits", Some(&old_token), None).await.0, 200);
    app.stop().await;
}

/// A market maker's token and a read-and-trade key of theirs: the start of the key tests.
async fn maker_with_key(app: &crate::support::TestApp, label: &str) -> (String, String, String) {
    let (_, mm_token) = app.user(Role::MarketMaker).await;
    let create = json!({ "label": "desk", "scopes": ["read", "trade"] });
    let (status, key) = app.send(Method::POST, "/v1/api-keys", Some(&mm_token), Some(create)).await;
    assert_eq!(status, 201, "{label}: {key}");
    let key_id = key["key_id"].as_str().expect("id").to_string();
    let secret = key["secret"].as_str().expect("secret").to_string();
    (mm_token, key_id, secret)
}

/// Only market makers make keys; the secret is stored encrypted; a signed request works.
#[tokio::test]
async fn keys_are_made_by_market_makers_kept_encrypted_and_sign_requests() {
    for db in scratch::all().await {
        let app = spawn(&db, &[]).await;
        let (_, user_token) = app.user(Role::User).await;
        let create = json!({ "label": "desk", "scopes": ["read", "trade"] });
        let (status, body) = app.send(Method::POST, "/v1/api-keys", Some(&user_token), Some(create)).await;
        assert_eq!((status, error_code(&body).as_str()), (403, "insufficient_role"), "only market makers make keys");

        let (_mm_token, key_id, secret) = maker_with_key(&app, db.label).await;
        assert_eq!(secret.len(), 44);
        let stored: String = sqlx::Row::get(
            &sqlx::query("SELECT secret_ciphertext FROM api_keys WHERE id = $1")
                .bind(&key_id)
                .fetch_one(app.state().db().pool())
                .await
                .expect("row"),
            0,
        );
        assert!(!stored.contains(&secret), "the secret is encrypted at rest");

        let path = "/v1/account/limits";
        let (status, body, headers) = signed(&app, Method::GET, path, &key_id, &secret, "", None).await;
        assert_eq!((status, body["principal_kind"].as_str()), (200, Some("key")), "{body}");
        assert!(headers.contains_key("ratelimit-remaining"));
        app.stop().await;
    }
}

/// Replays, stale clocks, a wrong secret (audited), unknown keys, a changed body, missing
/// headers, and keys on user-only routes: each refused with its own code.
#[tokio::test]
async fn every_signature_failure_has_its_code() {
    for db in scratch::all().await {
        let app = spawn(&db, &[]).await;
        let (_mm_token, key_id, secret) = maker_with_key(&app, db.label).await;
        let path = "/v1/account/limits";
        // Replays, stale clocks, a wrong body, a wrong secret, unknown keys.
        let ts = kairos_domain::now_us() / 1_000;
        assert_eq!(signed(&app, Method::GET, path, &key_id, &secret, "", Some(ts)).await.0, 200);
        let (status, body, _) = signed(&app, Method::GET, path, &key_id, &secret, "", Some(ts)).await;
        assert_eq!((status, error_code(&body).as_str()), (401, "replayed_signature"));
        let (status, body, _) = signed(&app, Method::GET, path, &key_id, &secret, "", Some(ts - 6_000)).await;
        assert_eq!((status, error_code(&body).as_str()), (401, "stale_timestamp"));
        let other_secret = "A".repeat(43) + "=";
        let (status, body, _) = signed(&app, Method::GET, path, &key_id, &other_secret, "", None).await;
        assert_eq!((status, error_code(&body).as_str()), (401, "invalid_signature"));
        let failed =
            kairos_platform::storage::audit_log::list(app.state().db(), None, Some("auth.failed_key_signature"), 0, 10)
                .await
                .expect("audit");
        assert_eq!(failed.len(), 1, "a failed key signature is audited");
        let unknown = "0192f0e4-0000-7000-8000-000000000000";
        let (status, body, _) = signed(&app, Method::GET, path, unknown, &secret, "", None).await;
        assert_eq!((status, error_code(&body).as_str()), (401, "unknown_key"));
        let tampered = app
            .client
            .get(format!("{}{path}", app.base))
            .header("KAIROS-KEY", &key_id)
            .header("KAIROS-TIMESTAMP", ts.to_string())
            .header(
                "KAIROS-SIGNATURE",
                kairos_api::access::signed_request::sign(b"x", &ts.to_string(), "GET", path, b""),
            )
            .body("sent-a-different-body")
            .send()
            .await
            .expect("send");
        assert_eq!(tampered.status().as_u16(), 401);
        let partial =
            app.client.get(format!("{}{path}", app.base)).header("KAIROS-KEY", &key_id).send().await.expect("send");
        assert_eq!(partial.status().as_u16(), 401);
        assert_eq!(error_code(&partial.json().await.expect("json")), "incomplete_signature_headers");

        // Keys cannot use user-only routes.
        let (status, body, _) = signed(&app, Method::GET, "/v1/api-keys", &key_id, &secret, "", None).await;
        assert_eq!((status, error_code(&body).as_str()), (403, "keys_not_allowed"));
        app.stop().await;
    }
}

#[tokio::test]
async fn keys_are_held_to_their_scopes_and_address_allowlists() {
    for db in scratch::all().await {
        let app = spawn(&db, &[]).await;
        let (mm_token, _key_id, _secret) = maker_with_key(&app, db.label).await;
        let path = "/v1/account/limits";
        let trade_only = json!({ "label": "t", "scopes": ["trade"] });
        let (_, k2) = app.send(Method::POST, "/v1/api-keys", Some(&mm_token), Some(trade_only)).await;
        let (status, body, _) = signed(
            &app,
            Method::GET,
            path,
            k2["key_id"].as_str().expect("id"),
            k2["secret"].as_str().expect("s"),
            "",
            None,
        )
        .await;
        assert_eq!((status, error_code(&body).as_str()), (403, "insufficient_scope"));
        let fenced = json!({ "label": "f", "scopes": ["read"], "ip_allowlist": ["10.0.0.0/8"] });
        let (_, k3) = app.send(Method::POST, "/v1/api-keys", Some(&mm_token), Some(fenced)).await;
        let (status, body, _) = signed(
            &app,
            Method::GET,
            path,
            k3["key_id"].as_str().expect("id"),
            k3["secret"].as_str().expect("s"),
            "",
            None,
        )
        .await;
        assert_eq!((status, error_code(&body).as_str()), (403, "ip_not_allowed"));
        let local = json!({ "label": "l", "scopes": ["read"], "ip_allowlist": ["127.0.0.1"] });
        let (_, k4) = app.send(Method::POST, "/v1/api-keys", Some(&mm_token), Some(local)).await;
        let (status, _, _) = signed(
            &app,
            Method::GET,
            path,
            k4["key_id"].as_str().expect("id"),
            k4["secret"].as_str().expect("s"),
            "",
            None,
        )
        .await;
        assert_eq!(status, 200);
        let bad = json!({ "label": "b", "scopes": ["read"], "ip_allowlist": ["10.0.0.0/99"] });
        let (status, body) = app.send(Method::POST, "/v1/api-keys", Some(&mm_token), Some(bad)).await;
        assert_eq!((status, error_code(&body).as_str()), (400, "invalid_ip_allowlist"));
        app.stop().await;
    }
}

/// Operators may revoke anyone's key; market makers only their own.
#[tokio::test]
async fn listing_never_shows_a_secret_and_revocation_takes_effect_at_once() {
    for db in scratch::all().await {
        let app = spawn(&db, &[]).await;
        let (mm_token, key_id, secret) = maker_with_key(&app, db.label).await;
        let path = "/v1/account/limits";
        let other = |label: &str| json!({ "label": label, "scopes": ["read"] });
        let (_, k2) = app.send(Method::POST, "/v1/api-keys", Some(&mm_token), Some(other("k2"))).await;
        let (_, k4) = app.send(Method::POST, "/v1/api-keys", Some(&mm_token), Some(other("k4"))).await;
        // Listing never shows a secret; revoking takes effect at once.
        let (_, list) = app.send(Method::GET, "/v1/api-keys", Some(&mm_token), None).await;
        assert_eq!(list["data"].as_array().expect("data").len(), 3);
        assert!(!list.to_string().contains(&secret));
        assert_eq!(app.send(Method::DELETE, &format!("/v1/api-keys/{key_id}"), Some(&mm_token), None).await.0, 204);
        let (status, body, _) = signed(&app, Method::GET, path, &key_id, &secret, "", None).await;
        assert_eq!((status, error_code(&body).as_str()), (401, "revoked_key"));
        // Operators may revoke anyone's key; market makers only their own.
        let (_, op) = app.user(Role::Operator).await;
        let k2_id = k2["key_id"].as_str().expect("id").to_string();
        assert_eq!(
            app.send(Method::DELETE, &format!("/v1/admin/api-keys/{k2_id}"), Some(&mm_token), None).await.0,
            403
        );
        assert_eq!(app.send(Method::DELETE, &format!("/v1/admin/api-keys/{k2_id}"), Some(&op), None).await.0, 204);
        let (status, body) = app.send(Method::DELETE, &format!("/v1/admin/api-keys/{k2_id}"), Some(&op), None).await;
        assert_eq!((status, error_code(&body).as_str()), (409, "already_revoked"));
        let (_, other_mm) = app.user(Role::MarketMaker).await;
        let (status, _) = app
            .send(
                Method::DELETE,
                &format!("/v1/api-keys/{}", k4["key_id"].as_str().expect("id")),
                Some(&other_mm),
                None,
            )
            .await;
        assert_eq!(status, 404, "nobody else's keys");
        app.stop().await;
    }
}

/// Every route the document marks as secured, tried by every role and by API keys:
/// - without credentials: 401;
/// - a role that does not satisfy the declared one: 403 `insufficient_role`;
/// - a role that does: exactly the status the admin gets (the request is the same; only the
///   caller differs, and access must not change the answer), which is never 401 or 403;
/// - an API key where the document allows none: 403 `keys_not_allowed`; where it allows one:
///   with the declared scope, exactly the status its owner gets with a token; without it, 403
///   `insufficient_scope`.
///
/// Public routes never ask for credentials.
#[tokio::test]
async fn every_documented_route_enforces_the_role_it_declares() {
    let db = scratch::sqlite();
    let app = spawn(&db, &[]).await;
    let spec: serde_json::Value = serde_json::from_str(kairos_api::http::openapi::spec_json()).expect("spec");
    let roles = [Role::User, Role::MarketMaker, Role::Keeper, Role::Operator, Role::Admin];
    let mut tokens = Vec::new();
    for role in roles {
        tokens.push((role, app.user(role).await.1));
    }
    let token_of = |role: Role| tokens.iter().find(|(r, _)| *r == role).map(|(_, t)| t.clone()).expect("token");
    let maker = token_of(Role::MarketMaker);
    let key = |scopes: serde_json::Value| {
        let (app, maker) = (&app, &maker);
        async move {
            let (status, k) = app
                .send(Method::POST, "/v1/api-keys", Some(maker), Some(json!({ "label": "walk", "scopes": scopes })))
                .await;
            assert_eq!(status, 201, "{k}");
            (k["key_id"].as_str().expect("id").to_string(), k["secret"].as_str().expect("secret").to_string())
        }
    };
    let read_key = key(json!(["read"])).await;
    let trade_key = key(json!(["trade"])).await;
    let (mut checked, mut keyed) = (0, 0);
    for (path, item) in spec["paths"].as_object().expect("paths") {
        let concrete = path
            .replace("{id}", "0192f0e4-0000-7000-8000-000000000000")
            .replace("{name}", "some_flag")
            .replace("{client_order_id}", "some-client-id");
        assert!(!concrete.contains('{'), "a placeholder of {path} is not filled");
        for (method, op) in item.as_object().expect("item") {
            let method: Method = method.to_uppercase().parse().expect("method");
            let body = (method == Method::POST || method == Method::PUT).then(|| json!({}));
            let Some(security) = op.get("security") else {
                let (status, res) = app.send(method.clone(), &concrete, None, body.clone()).await;
                assert_ne!(status, 401, "public {method} {path} asked for credentials: {res}");
                continue;
            };
            if path == "/v1/ws" || path.starts_with("/internal/") {
                continue; // self-authenticating; see the websocket and cluster tests
            }
            let required: Role = security[0]["bearer"][0].as_str().expect("role").parse().expect("known role");
            let (status, res) = app.send(method.clone(), &concrete, None, body.clone()).await;
            assert_eq!(status, 401, "{method} {path} without credentials: {res}");
            let (admin_status, admin_res) =
                app.send(method.clone(), &concrete, Some(&token_of(Role::Admin)), body.clone()).await;
            assert!(![401, 403].contains(&admin_status), "{method} {path} refused the admin: {admin_res}");
            let mut owner_status = None;
            for (role, token) in &tokens {
                let (status, res) = app.send(method.clone(), &concrete, Some(token), body.clone()).await;
                if role.satisfies(required) {
                    assert_eq!(status, admin_status, "{method} {path} as {role:?} (the admin got {admin_res}): {res}");
                } else {
                    assert_eq!(
                        (status, error_code(&res).as_str()),
                        (403, "insufficient_role"),
                        "{method} {path} as {role:?}"
                    );
                }
                if *role == Role::MarketMaker {
                    owner_status = Some(status);
                }
            }
            let body_text = body.as_ref().map(ToString::to_string).unwrap_or_default();
            let signed_by = |(id, secret): &(String, String)| {
                let (method, concrete, body_text, app) = (method.clone(), concrete.clone(), body_text.clone(), &app);
                let (id, secret) = (id.clone(), secret.clone());
                async move {
                    let (status, res, _) = signed(app, method, &concrete, &id, &secret, &body_text, None).await;
                    (status, res)
                }
            };
            match security.get(1).and_then(|s| s["signed_key"].as_array()) {
                None => {
                    let (status, res) = signed_by(&trade_key).await;
                    assert_eq!((status, error_code(&res).as_str()), (403, "keys_not_allowed"), "{method} {path}");
                }
                Some(key_rule) => {
                    let scope = key_rule[1].as_str().expect("scope");
                    let (with, without) =
                        if scope == "read" { (&read_key, &trade_key) } else { (&trade_key, &read_key) };
                    let (status, res) = signed_by(with).await;
                    assert_eq!(Some(status), owner_status, "{method} {path} with a {scope} key: {res}");
                    let (status, res) = signed_by(without).await;
                    assert_eq!(
                        (status, error_code(&res).as_str()),
                        (403, "insufficient_scope"),
                        "{method} {path} with a key lacking {scope}"
                    );
                    keyed += 1;
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 15 && keyed >= 5, "only {checked} secured operations ({keyed} for keys) found");
    app.stop().await;
}

#[tokio::test]
async fn time_answers_with_the_server_clock() {
    let db = scratch::sqlite();
    let app = spawn(&db, &[]).await;
    let (status, body) = app.send(Method::GET, "/v1/time", None, None).await;
    let now = kairos_domain::now_us() / 1_000;
    assert_eq!(status, 200);
    assert!((body["epoch_ms"].as_i64().expect("ms") - now).abs() < 5_000);
    app.stop().await;
}

#[tokio::test]
async fn a_role_change_applies_at_once_and_ends_the_sessions() {
    for db in scratch::all().await {
        let app = spawn(&db, &[]).await;
        let (_, admin) = app.user(Role::Admin).await;
        let (op_id, op) = app.user(Role::Operator).await;
        assert_eq!(app.send(Method::GET, "/v1/admin/users", Some(&op), None).await.0, 200);
        let (status, _) = app
            .send(Method::PUT, &format!("/v1/admin/users/{op_id}/role"), Some(&admin), Some(json!({ "role": "user" })))
            .await;
        assert_eq!(status, 200);
        let (status, body) = app.send(Method::GET, "/v1/admin/users", Some(&op), None).await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (403, "insufficient_role"),
            "{}: the old token's role no longer counts",
            db.label
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn failed_credentials_count_against_the_auth_budget() {
    let db = scratch::sqlite();
    let app = spawn(&db, &[("KAIROS_RATE_LIMITS__AUTH__ANONYMOUS", "2")]).await;
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(app.send(Method::GET, "/v1/account/limits", Some("garbage"), None).await.0);
        }
        v
    };
    assert_eq!(statuses, [401, 401, 429, 429]);
    app.stop().await;
}

/// The signed form is `timestamp \n METHOD \n path-with-query \n body`; the old unseparated
/// form is refused unless `KAIROS_SIGNATURE_LEGACY_FORM` turns it back on (one release).
#[tokio::test]
async fn the_unseparated_signature_form_needs_the_legacy_setting() {
    use base64::Engine as _;
    use kairos_api::access::signed_request::{Form, sign_form};

    let db = scratch::sqlite();
    for (legacy, expected) in [("false", 401), ("true", 200)] {
        let app = spawn(&db, &[("KAIROS_SIGNATURE_LEGACY_FORM", legacy)]).await;
        let (_, mm_token) = app.user(Role::MarketMaker).await;
        let create = json!({ "label": "old-client", "scopes": ["read"] });
        let (_, key) = app.send(Method::POST, "/v1/api-keys", Some(&mm_token), Some(create)).await;
        let (key_id, secret) = (key["key_id"].as_str().expect("id"), key["secret"].as_str().expect("secret"));
        let raw = base64::engine::general_purpose::URL_SAFE.decode(secret).expect("secret");
        let path = "/v1/account/limits";
        let ts = (kairos_domain::now_us() / 1_000).to_string();
        let res = reqwest::Client::new()
            .get(format!("{}{path}", app.base))
            .header("KAIROS-KEY", key_id)
            .header("KAIROS-TIMESTAMP", &ts)
            .header("KAIROS-SIGNATURE", sign_form(&raw, Form::Legacy, &ts, "GET", path, b""))
            .send()
            .await
            .expect("send");
        assert_eq!(res.status().as_u16(), expected, "legacy form with the setting {legacy}");
        // The separated form always works.
        assert_eq!(signed(&app, Method::GET, path, key_id, secret, "", None).await.0, 200);
        app.stop().await;
    }
}

/// The review's flood: a known key id, a fresh timestamp and garbage signatures. The address's
/// failed-credential budget is checked before the key is looked up, and the audit log gets at
/// most one row per key and minute at once, plus the minute's total once it is over.
#[tokio::test]
async fn garbage_signatures_under_a_known_key_cannot_flood_the_audit_log() {
    for db in scratch::all().await {
        let app = spawn(&db, &[("KAIROS_RATE_LIMITS__AUTH__ANONYMOUS", "5")]).await;
        let (_, mm_token) = app.user(Role::MarketMaker).await;
        let create = json!({ "label": "desk", "scopes": ["read"] });
        let (_, key) = app.send(Method::POST, "/v1/api-keys", Some(&mm_token), Some(create)).await;
        let key_id = key["key_id"].as_str().expect("id").to_string();
        let garbage = "A".repeat(43) + "=";
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        for _ in 0..300 {
            let (status, _, _) = signed(&app, Method::GET, "/v1/account/limits", &key_id, &garbage, "", None).await;
            *statuses.entry(status).or_default() += 1;
        }
        let failures = statuses.get(&401).copied().unwrap_or(0);
        assert!(failures <= 30, "{}: the budget bounds the failures that are checked: {statuses:?}", db.label);
        assert_eq!(failures + statuses.get(&429).copied().unwrap_or(0), 300, "{statuses:?}");
        let rows = |db: kairos_platform::storage::Db| async move {
            kairos_platform::storage::audit_log::list(&db, None, Some("auth.failed_key_signature"), 0, 1_000)
                .await
                .expect("audit")
        };
        let written = rows(app.state().db().clone()).await;
        assert!(written.len() <= 2, "{}: {} rows for {failures} failures", db.label, written.len());
        // When the minute is over, one more row carries its total.
        let later = kairos_domain::now_us() / 60_000_000 + 2;
        let state = app.state();
        kairos_api::access::failed_signatures::audit_finished(state.db(), state.failed_signatures(), later)
            .await
            .expect("audit");
        // Per minute: its total row when it saw more than one failure, else its first row's 1.
        let mut per_minute = std::collections::BTreeMap::<i64, u64>::new();
        for row in rows(app.state().db().clone()).await {
            let after: serde_json::Value =
                serde_json::from_str(row.entry.after.as_deref().unwrap_or("{}")).expect("after");
            let (minute, n) = (after["minute"].as_i64().expect("minute"), after["failures"].as_u64().expect("n"));
            let seen = per_minute.entry(minute).or_default();
            *seen = (*seen).max(n);
        }
        // Every 401 is a counted failure; a failure whose address ran out of budget at that
        // very request is counted too, and answered 429.
        let counted: u64 = per_minute.values().sum();
        assert!(counted >= u64::try_from(failures).expect("n"), "{}: {counted} counted, {failures} refused", db.label);
        assert!(counted <= 2 * u64::try_from(failures).expect("n"), "{}: {counted} counted", db.label);
        app.stop().await;
    }
}

/// A market maker demoted to `user` loses its keys at once (revoked and audited with the role
/// change), and can still list and revoke its own keys.
#[tokio::test]
async fn a_demotion_revokes_the_keys_the_new_role_may_not_hold() {
    for db in scratch::all().await {
        let app = spawn(&db, &[]).await;
        let (_, admin) = app.user(Role::Admin).await;
        let (mm_id, mm) = app.user(Role::MarketMaker).await;
        let create = json!({ "label": "desk", "scopes": ["read", "trade"] });
        let (_, key) = app.send(Method::POST, "/v1/api-keys", Some(&mm), Some(create.clone())).await;
        let (_, second) = app.send(Method::POST, "/v1/api-keys", Some(&mm), Some(create)).await;
        let (key_id, secret) = (key["key_id"].as_str().expect("id"), key["secret"].as_str().expect("secret"));
        let path = "/v1/account/limits";
        assert_eq!(signed(&app, Method::GET, path, key_id, secret, "", None).await.0, 200);

        let (status, _) = app
            .send(Method::PUT, &format!("/v1/admin/users/{mm_id}/role"), Some(&admin), Some(json!({ "role": "user" })))
            .await;
        assert_eq!(status, 200);
        let (status, body, _) = signed(&app, Method::GET, path, key_id, secret, "", None).await;
        assert_eq!((status, error_code(&body).as_str()), (401, "revoked_key"), "{}: {body}", db.label);
        let audit = kairos_platform::storage::audit_log::list(app.state().db(), None, Some("user.set_role"), 0, 10)
            .await
            .expect("audit");
        let after = audit.last().and_then(|r| r.entry.after.clone()).expect("after");
        assert!(after.contains(key_id) && after.contains(second["key_id"].as_str().expect("id")), "{after}");

        // The demoted user (a fresh token: sessions ended) still sees its keys, and may revoke.
        let user = app.token_for(&mm_id, Role::User);
        let (status, listed) = app.send(Method::GET, "/v1/api-keys", Some(&user), None).await;
        assert_eq!(status, 200, "{listed}");
        let keys = listed["data"].as_array().expect("keys");
        assert!(keys.len() == 2 && keys.iter().all(|k| k["revoked_at"].is_string()), "{listed}");
        let (status, _) = app.send(Method::DELETE, &format!("/v1/api-keys/{key_id}"), Some(&user), None).await;
        assert!(status == 204 || status == 409, "revoking an already revoked key is answered, not forbidden: {status}");
        let (status, body) = app
            .send(Method::POST, "/v1/api-keys", Some(&user), Some(json!({ "label": "x", "scopes": ["read"] })))
            .await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (403, "insufficient_role"),
            "creating stays for market makers"
        );
        app.stop().await;
    }
}

/// Budgets that cannot be multiplied: keys per user are capped, a user's keys share one account
/// budget on top of their own, and a batch spends one trade request per order.
#[tokio::test]
async fn more_keys_or_bigger_batches_never_multiply_a_budget() {
    let db = scratch::sqlite();
    let app = spawn(
        &db,
        &[
            ("KAIROS_API_KEYS__MAX_PER_USER", "2"),
            ("KAIROS_RATE_LIMITS__READ__ACCOUNT", "6"),
            ("KAIROS_RATE_LIMITS__TRADE__USER", "5"),
        ],
    )
    .await;
    let (_, mm) = app.user(Role::MarketMaker).await;
    let create = json!({ "label": "k", "scopes": ["read", "trade"] });
    let (_, first) = app.send(Method::POST, "/v1/api-keys", Some(&mm), Some(create.clone())).await;
    let (_, second) = app.send(Method::POST, "/v1/api-keys", Some(&mm), Some(create.clone())).await;
    let (status, body) = app.send(Method::POST, "/v1/api-keys", Some(&mm), Some(create.clone())).await;
    assert_eq!((status, error_code(&body).as_str()), (409, "too_many_keys"));

    // Two keys of one user, each far under its own read budget (100/s): together, 6 per second.
    let mut ok = 0;
    for key in [&first, &second] {
        let (id, secret) = (key["key_id"].as_str().expect("id"), key["secret"].as_str().expect("secret"));
        for _ in 0..5 {
            if signed(&app, Method::GET, "/v1/account/limits", id, secret, "", None).await.0 == 200 {
                ok += 1;
            }
        }
    }
    assert_eq!(ok, 6, "the account budget holds across keys");

    // A batch of 10 against a trade budget of 5: five legs are refused, unplaced.
    let (_, user) = app.user(Role::User).await;
    let leg = json!({ "market_id": "0192f0e4-0000-7000-8000-000000000000", "outcome": 0, "side": "buy", "price": "0.5", "size": "1" });
    let (status, batch) =
        app.send(Method::POST, "/v1/orders/batch", Some(&user), Some(json!({ "orders": vec![leg; 10] }))).await;
    assert_eq!(status, 200, "{batch}");
    let refused = batch["results"].as_array().expect("results").iter().filter(|l| l["status"] == 429).count();
    assert_eq!(refused, 5, "{batch}");

    // Revoking a key makes room for another.
    let (status, _) = app
        .send(Method::DELETE, &format!("/v1/api-keys/{}", first["key_id"].as_str().expect("id")), Some(&mm), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = app.send(Method::POST, "/v1/api-keys", Some(&mm), Some(create)).await;
    assert_eq!(status, 201);
    app.stop().await;
}

/// Behind a load balancer every client shares its address: `KAIROS_TRUSTED_PROXIES` lets the
/// balancer name the client. A header from anyone else is ignored, so it cannot dodge limits.
#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let db = scratch::sqlite();
    for (trusted, other_client) in [("", 429), ("127.0.0.1/32", 200)] {
        let app =
            spawn(&db, &[("KAIROS_TRUSTED_PROXIES", trusted), ("KAIROS_RATE_LIMITS__READ__ANONYMOUS", "2")]).await;
        let from = |client: &'static str| {
            let app = &app;
            async move {
                let res = app
                    .client
                    .get(format!("{}/v1/markets", app.base))
                    .header("x-forwarded-for", format!("6.6.6.6, {client}"))
                    .send()
                    .await
                    .expect("send");
                res.status().as_u16()
            }
        };
        assert_eq!(from("203.0.113.7").await, 200);
        assert_eq!(from("203.0.113.7").await, 200);
        assert_eq!(from("203.0.113.7").await, 429, "trusted {trusted:?}: the budget is spent");
        // Another client behind the proxy has its own budget, but only when the proxy is trusted:
        // otherwise the header is a client's claim and the peer's budget is the one spent.
        assert_eq!(from("203.0.113.8").await, other_client, "trusted {trusted:?}");
        app.stop().await;
    }
}

/// The status of a key-signed `GET /v1/orders`.
async fn lists_orders(app: &crate::support::TestApp, key_id: &str, secret: &str) -> u16 {
    signed(app, Method::GET, "/v1/orders", key_id, secret, "", None).await.0
}

/// A master key rotation: the new key with the old one as previous keeps every API key
/// working, `api-keys reencrypt` moves the stored secrets to the new key, and then the old key
/// can go. Without the previous key, secrets sealed by the old one do not authenticate.
#[tokio::test]
async fn the_master_key_rotates_without_breaking_api_keys() {
    const OLD: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const NEW: &str = "kH3vR8sQ2mT6wZ1yB4nC7xE0aF5gJ9dL3pU8oI2kS6c=";
    for db in scratch::all().await {
        let app = spawn(&db, &[("KAIROS_MASTER_KEY", OLD)]).await;
        let (_, key_id, secret) = maker_with_key(&app, db.label).await;
        assert_eq!(lists_orders(&app, &key_id, &secret).await, 200, "{}", db.label);
        app.stop().await;

        let rotating = spawn(&db, &[("KAIROS_MASTER_KEY", NEW), ("KAIROS_MASTER_KEY_PREVIOUS", OLD)]).await;
        assert_eq!(
            lists_orders(&rotating, &key_id, &secret).await,
            200,
            "{}: the previous key still opens the secret",
            db.label
        );
        let state = rotating.state();
        let master = kairos_api::access::key_secrets::MasterKey::from_config(
            &kairos_platform::config::Secret::new(NEW),
            Some(&kairos_platform::config::Secret::new(OLD)),
        )
        .expect("master");
        let done = kairos_api::access::key_secrets::reencrypt_all(state.db(), &master).await.expect("reencrypt");
        assert_eq!((done.keys, done.reencrypted, done.already_current), (1, 1, 0), "{}: {done:?}", db.label);
        assert!(done.unreadable.is_empty());
        let again = kairos_api::access::key_secrets::reencrypt_all(state.db(), &master).await.expect("again");
        assert_eq!((again.reencrypted, again.already_current), (0, 1), "idempotent");
        rotating.stop().await;

        let new_only = spawn(&db, &[("KAIROS_MASTER_KEY", NEW)]).await;
        assert_eq!(lists_orders(&new_only, &key_id, &secret).await, 200, "{}: moved to the new key", db.label);
        new_only.stop().await;
        let old_only = spawn(&db, &[("KAIROS_MASTER_KEY", OLD)]).await;
        assert_ne!(
            lists_orders(&old_only, &key_id, &secret).await,
            200,
            "{}: the old key alone no longer opens it",
            db.label
        );
        old_only.stop().await;
    }
}
