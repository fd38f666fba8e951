//! The role matrix: every route of the OpenAPI document, tried with every
//! role, and with no, expired, future, replayed, forged and tampered
//! signatures. Each role gets exactly the answer its rights allow; every
//! signature failure is a 401 with its own problem type.

mod http_support;

use std::collections::BTreeSet;

use http_support::{Served, start};
use serde_json::{Value, json};
use sluice_node::http::{Client, Method, RequestSigner, SignOptions};
use sluice_runtime::signing::SecretKey;

/// The roles, in the order of a row's expectations.
const ROLES: [&str; 6] = [
    "operator",
    "owner",
    "other_owner",
    "buyer",
    "other_buyer",
    "auditor",
];

struct Row {
    method: Method,
    /// The OpenAPI path template.
    template: &'static str,
    /// The concrete path.
    path: String,
    body: Option<Value>,
    content_type: Option<&'static str>,
    raw: Option<Vec<u8>>,
    /// Expected status per role, in [`ROLES`] order; 0 means "allowed: any
    /// status but 401 and 403".
    expect: [u16; 6],
}

fn row(method: Method, template: &'static str, path: impl Into<String>, expect: [u16; 6]) -> Row {
    Row {
        method,
        template,
        path: path.into(),
        body: None,
        content_type: None,
        raw: None,
        expect,
    }
}

fn with_body(mut r: Row, body: Value) -> Row {
    r.body = Some(body);
    r.content_type = Some("application/json");
    r
}

fn keys(s: &Served) -> [&SecretKey; 6] {
    let k = &s.keys;
    [
        &k.operator,
        &k.owner,
        &k.other_owner,
        &k.buyer,
        &k.other_buyer,
        &k.auditor,
    ]
}

fn rows(s: &Served) -> Vec<Row> {
    use Method as M;
    let node = &s.node;
    let sales = node.dataset("sales").unwrap().policy;
    let matrix_policy = sales
        .text
        .replace("dataset = \"sales\"", "dataset = \"matrix\"");
    let sales_file = node.dataset("sales").unwrap().path;
    let approve_id = node
        .request_approval(
            &s.keys.other_buyer.public(),
            "patients",
            &s.module_hash,
            None,
        )
        .unwrap()
        .id;
    let reject_id = s.pending_approval.clone();
    let run = &s.run_id;
    let hash = &s.module_hash;
    let buyer = s.client(&s.keys.buyer);
    let job =
        s.rt.block_on(buyer.json(
            M::POST,
            "/v1/runs",
            Some(&json!({"module_hash": hash, "datasets": ["sales"], "wait_ms": 0})),
        ))
        .unwrap();
    assert_eq!(job.status, 202, "a run with wait_ms 0 answers with a job");
    let job = job.json()["job_id"].as_str().unwrap().to_string();
    let newkey = SecretKey::from_seed(&[9; 32]).public().to_hex();
    let mut module = row(
        M::POST,
        "/v1/modules",
        "/v1/modules",
        [201, 403, 403, 201, 403, 403],
    );
    module.raw = Some(s.module.clone());
    module.content_type = Some("application/wasm");
    vec![
        row(M::GET, "/v1/node", "/v1/node", [200; 6]),
        row(M::GET, "/v1/whoami", "/v1/whoami", [200; 6]),
        row(
            M::GET,
            "/v1/keys",
            "/v1/keys",
            [200, 403, 403, 403, 403, 403],
        ),
        with_body(
            row(
                M::POST,
                "/v1/keys",
                "/v1/keys",
                [201, 403, 403, 403, 403, 403],
            ),
            json!({"key": newkey, "role": "buyer"}),
        ),
        row(M::GET, "/v1/catalog", "/v1/catalog", [200; 6]),
        row(
            M::GET,
            "/v1/datasets",
            "/v1/datasets",
            [200, 200, 200, 403, 403, 200],
        ),
        with_body(
            row(
                M::POST,
                "/v1/datasets",
                "/v1/datasets",
                [201, 403, 403, 403, 403, 403],
            ),
            json!({"name": "matrix", "path": sales_file, "policy": matrix_policy}),
        ),
        row(
            M::GET,
            "/v1/datasets/{name}",
            "/v1/datasets/sales",
            [200, 200, 403, 403, 403, 200],
        ),
        row(
            M::GET,
            "/v1/datasets/{name}/policies",
            "/v1/datasets/sales/policies",
            [200, 200, 403, 403, 403, 200],
        ),
        with_body(
            row(
                M::POST,
                "/v1/datasets/{name}/policies",
                "/v1/datasets/sales/policies",
                [201, 201, 403, 403, 403, 403],
            ),
            json!({"policy": sales.text}),
        ),
        row(
            M::GET,
            "/v1/policies/{hash}",
            format!("/v1/policies/{}", sales.hash),
            [200, 200, 403, 403, 403, 200],
        ),
        module,
        row(
            M::GET,
            "/v1/modules/{hash}",
            format!("/v1/modules/{hash}"),
            [200, 200, 200, 200, 404, 200],
        ),
        with_body(
            row(
                M::POST,
                "/v1/approvals",
                "/v1/approvals",
                [403, 403, 403, 201, 403, 403],
            ),
            json!({"dataset": "sales", "module_hash": hash, "note": "matrix"}),
        ),
        row(M::GET, "/v1/approvals", "/v1/approvals", [200; 6]),
        row(
            M::GET,
            "/v1/approvals/{id}",
            format!("/v1/approvals/{reject_id}"),
            [200, 404, 200, 200, 404, 200],
        ),
        with_body(
            row(
                M::POST,
                "/v1/approvals/{id}/approve",
                format!("/v1/approvals/{approve_id}/approve"),
                [0, 404, 0, 404, 403, 403],
            ),
            json!({"note": "matrix"}),
        ),
        with_body(
            row(
                M::POST,
                "/v1/approvals/{id}/reject",
                format!("/v1/approvals/{reject_id}/reject"),
                [0, 404, 0, 403, 404, 403],
            ),
            json!({"reason": "matrix"}),
        ),
        with_body(
            row(
                M::POST,
                "/v1/runs",
                "/v1/runs",
                [403, 403, 403, 200, 403, 403],
            ),
            json!({"module_hash": hash, "datasets": ["sales"]}),
        ),
        row(M::GET, "/v1/runs", "/v1/runs", [200; 6]),
        row(
            M::GET,
            "/v1/jobs/{id}",
            format!("/v1/jobs/{job}"),
            [404, 404, 404, 200, 404, 404],
        ),
        row(
            M::GET,
            "/v1/runs/{id}",
            format!("/v1/runs/{run}"),
            [200, 200, 404, 200, 404, 200],
        ),
        row(
            M::GET,
            "/v1/runs/{id}/receipt",
            format!("/v1/runs/{run}/receipt"),
            [200, 200, 404, 200, 404, 200],
        ),
        row(
            M::POST,
            "/v1/runs/{id}/replay",
            format!("/v1/runs/{run}/replay"),
            [200, 403, 403, 403, 403, 200],
        ),
        row(M::GET, "/v1/billing", "/v1/billing", [200; 6]),
        row(
            M::GET,
            "/v1/ledger/checkpoint",
            "/v1/ledger/checkpoint",
            [200; 6],
        ),
        row(
            M::GET,
            "/v1/ledger/consistency",
            "/v1/ledger/consistency?from=1",
            [200; 6],
        ),
        row(
            M::GET,
            "/v1/ledger/inclusion",
            "/v1/ledger/inclusion?index=0",
            [200, 403, 403, 403, 403, 200],
        ),
        row(
            M::GET,
            "/v1/ledger/events",
            "/v1/ledger/events",
            [200, 403, 403, 403, 403, 200],
        ),
        row(
            M::GET,
            "/v1/ledger/events/{index}",
            "/v1/ledger/events/0",
            [200, 403, 403, 403, 403, 200],
        ),
        row(
            M::GET,
            "/v1/ledger/export",
            "/v1/ledger/export",
            [200, 403, 403, 403, 403, 200],
        ),
        row(
            M::GET,
            "/v1/ledger/verify",
            "/v1/ledger/verify",
            [200, 403, 403, 403, 403, 200],
        ),
    ]
}

fn body(r: &Row) -> Vec<u8> {
    r.raw
        .clone()
        .or_else(|| r.body.as_ref().map(|b| serde_json::to_vec(b).unwrap()))
        .unwrap_or_default()
}

fn send(s: &Served, c: &Client, r: &Row, options: &SignOptions) -> (u16, Value) {
    let a =
        s.rt.block_on(c.send(r.method.clone(), &r.path, body(r), r.content_type, options))
            .unwrap();
    (a.status.as_u16(), a.json())
}

fn problem_type(v: &Value) -> String {
    v["type"].as_str().unwrap_or("").to_string()
}

#[test]
fn every_route_answers_every_role_and_refuses_every_bad_signature() {
    let s = start(|_| {});
    let rows = rows(&s);

    // The matrix covers exactly the routes of the OpenAPI document.
    let doc =
        s.rt.block_on(s.anonymous().json(Method::GET, "/openapi.json", None))
            .unwrap()
            .json();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if path != "/healthz" {
                documented.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let tried: BTreeSet<String> = rows
        .iter()
        .map(|r| format!("{} {}", r.method, r.template))
        .collect();
    assert_eq!(
        tried, documented,
        "the role matrix and the OpenAPI document must list the same routes"
    );

    for r in &rows {
        // Every role, in turn.
        for (i, key) in keys(&s).into_iter().enumerate() {
            let c = s.client(key);
            let (status, v) = send(&s, &c, r, &SignOptions::default());
            let expected = r.expect[i];
            if expected == 0 {
                assert!(
                    status != 401 && status != 403,
                    "{} {} as {}: {status} {v}",
                    r.method,
                    r.path,
                    ROLES[i]
                );
            } else {
                assert_eq!(
                    status, expected,
                    "{} {} as {}: {v}",
                    r.method, r.path, ROLES[i]
                );
            }
            if status >= 400 {
                assert!(
                    !problem_type(&v).is_empty(),
                    "errors are problem details: {v}"
                );
            }
        }

        // No signature at all.
        let (status, v) = send(&s, &s.anonymous(), r, &SignOptions::default());
        assert_eq!(
            (status, problem_type(&v).as_str()),
            (401, "unauthorized.missing-signature"),
            "{}",
            r.path
        );

        // Expired, and from the future.
        let auditor = s.client(&s.keys.auditor);
        let old = SignOptions {
            created: Some(sluice_node::http::auth::sign::unix_now() - 3600),
            ..SignOptions::default()
        };
        let (status, v) = send(&s, &auditor, r, &old);
        assert_eq!(
            (status, problem_type(&v).as_str()),
            (401, "unauthorized.expired"),
            "{}",
            r.path
        );
        let future = SignOptions {
            created: Some(sluice_node::http::auth::sign::unix_now() + 3600),
            ..SignOptions::default()
        };
        let (status, v) = send(&s, &auditor, r, &future);
        assert_eq!(
            (status, problem_type(&v).as_str()),
            (401, "unauthorized.from-the-future"),
            "{}",
            r.path
        );

        // Forged: a key the node does not know.
        let (status, v) = send(&s, &s.client(&s.keys.stranger), r, &SignOptions::default());
        assert_eq!(
            (status, problem_type(&v).as_str()),
            (401, "unauthorized.unknown-key"),
            "{}",
            r.path
        );

        // Forged: the stranger signs but claims the operator's keyid.
        let forged = s.client(&s.keys.stranger);
        let mut req = forged
            .build(
                r.method.clone(),
                &r.path,
                body(r),
                r.content_type,
                &SignOptions::default(),
            )
            .unwrap();
        let input = req.headers()["signature-input"]
            .to_str()
            .unwrap()
            .to_string();
        let stranger = s.keys.stranger.public().to_hex();
        let operator = s.keys.operator.public().to_hex();
        req.headers_mut().insert(
            "signature-input",
            input.replace(&stranger, &operator).parse().unwrap(),
        );
        let a = s.rt.block_on(forged.send_request(req)).unwrap();
        assert_eq!(
            (a.status.as_u16(), problem_type(&a.json()).as_str()),
            (401, "unauthorized.bad-signature"),
            "{}",
            r.path
        );

        // Tampered after signing: another query.
        let op = s.client(&s.keys.operator);
        let mut req = op
            .build(
                r.method.clone(),
                &r.path,
                body(r),
                r.content_type,
                &SignOptions::default(),
            )
            .unwrap();
        let tampered: String = format!("{}{}?tampered=1", s.url, r.path.split('?').next().unwrap());
        *req.uri_mut() = tampered.parse().unwrap();
        let a = s.rt.block_on(op.send_request(req)).unwrap();
        assert_eq!(
            (a.status.as_u16(), problem_type(&a.json()).as_str()),
            (401, "unauthorized.bad-signature"),
            "{}",
            r.path
        );

        // Replayed: the same signed request twice (the auditor, read-only
        // or refused routes, so the first use changes nothing).
        let req = auditor
            .build(
                r.method.clone(),
                &r.path,
                body(r),
                r.content_type,
                &SignOptions::default(),
            )
            .unwrap();
        let again = req.clone();
        let first = s.rt.block_on(auditor.send_request(req)).unwrap();
        assert_ne!(first.status, 401, "{}", r.path);
        let second = s.rt.block_on(auditor.send_request(again)).unwrap();
        assert_eq!(
            (
                second.status.as_u16(),
                problem_type(&second.json()).as_str()
            ),
            (401, "unauthorized.replayed"),
            "{}",
            r.path
        );
    }

    // The public routes need no signature.
    for path in ["/healthz", "/openapi.json"] {
        let a =
            s.rt.block_on(s.anonymous().json(Method::GET, path, None))
                .unwrap();
        assert_eq!(a.status, 200, "{path}");
    }
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn a_tampered_body_and_an_incomplete_signature_are_refused() {
    let s = start(|_| {});
    let buyer = s.client(&s.keys.buyer);
    let body =
        serde_json::to_vec(&json!({"module_hash": s.module_hash, "datasets": ["sales"]})).unwrap();
    let mut req = buyer
        .build(
            Method::POST,
            "/v1/runs",
            body,
            Some("application/json"),
            &SignOptions::default(),
        )
        .unwrap();
    *req.body_mut() = http_body_util::Full::new(bytes::Bytes::from_static(
        br#"{"module_hash":"x","datasets":["patients"]}"#,
    ));
    let a = s.rt.block_on(buyer.send_request(req)).unwrap();
    assert_eq!(a.status, 401);
    assert_eq!(a.json()["type"], "unauthorized.digest-mismatch");

    let partial = SignOptions {
        covered: Some(vec!["@method".into(), "@path".into()]),
        ..SignOptions::default()
    };
    let a =
        s.rt.block_on(buyer.send(Method::GET, "/v1/whoami", Vec::new(), None, &partial))
            .unwrap();
    assert_eq!(a.json()["type"], "unauthorized.incomplete-signature");
    let no_nonce = SignOptions {
        no_nonce: true,
        ..SignOptions::default()
    };
    let a =
        s.rt.block_on(buyer.send(Method::GET, "/v1/whoami", Vec::new(), None, &no_nonce))
            .unwrap();
    assert_eq!(a.json()["type"], "unauthorized.incomplete-signature");
    let _ = RequestSigner::new(&s.keys.buyer).keyid();
    assert_eq!(s.shutdown(), 0);
}
