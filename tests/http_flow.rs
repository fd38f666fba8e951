//! The buyer/owner/auditor flow over HTTP, as the README walks it, plus the
//! server's defences: body caps, the queue bound, trace ids in events,
//! graceful shutdown losing no event.

mod http_support;

use http_support::start;
use serde_json::json;
use sluice_ledger::{NoteVerifier, Receipt, verify_receipt};
use sluice_node::http::Method;
use sluice_runtime::signing;

#[test]
fn buyer_asks_owner_approves_buyer_runs_auditor_verifies() {
    let s = start(|_| {});
    let buyer = s.client(&s.keys.other_buyer);
    let owner = s.client(&s.keys.owner);
    let auditor = s.client(&s.keys.auditor);
    let call = |c: &sluice_node::http::Client, m: Method, p: &str, b: Option<serde_json::Value>| {
        s.rt.block_on(c.json(m, p, b.as_ref())).unwrap()
    };

    // The buyer signs and uploads a module; the node names its hash, signer and imports.
    let module = signing::sign(
        &http_support::component("top-products"),
        &s.keys.other_buyer,
    )
    .unwrap();
    let up =
        s.rt.block_on(buyer.send(
            Method::POST,
            "/v1/modules",
            module,
            Some("application/wasm"),
            &Default::default(),
        ))
        .unwrap();
    assert_eq!(up.status, 201, "{}", String::from_utf8_lossy(&up.body));
    let up = up.json();
    let hash = up["hash"].as_str().unwrap().to_string();
    assert_eq!(up["signer"], s.keys.other_buyer.public().key_id());
    assert!(
        up["imports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i.as_str().unwrap().starts_with("sluice:host/")),
        "{up}"
    );

    // Not approved yet: the run is denied, recorded, and says why.
    let run = json!({"module_hash": hash, "datasets": ["sales"], "params": "{\"n\":3}", "seed": 1});
    let denied = call(&buyer, Method::POST, "/v1/runs", Some(run.clone()));
    assert_eq!(denied.status, 403);
    let d = denied.json();
    assert!(d["type"].as_str().unwrap().starts_with("denied."), "{d}");
    assert!(
        d["receipt"]["event"]["id"].is_string(),
        "a denial carries its receipt: {d}"
    );
    assert_eq!(denied.headers["content-type"], "application/problem+json");

    // The buyer asks; the owner sees the request with the module's facts.
    let asked = call(
        &buyer,
        Method::POST,
        "/v1/approvals",
        Some(json!({"dataset": "sales", "module_hash": hash, "note": "top products, raw amounts"})),
    );
    assert_eq!(asked.status, 201);
    let id = asked.json()["id"].as_str().unwrap().to_string();
    let pending = call(&owner, Method::GET, "/v1/approvals?status=pending", None).json();
    let mine = pending
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap();
    assert_eq!(mine["module_hash"], hash.as_str());
    assert_eq!(mine["module_signer"], s.keys.other_buyer.public().key_id());
    assert!(mine["module_size"].as_u64().unwrap() > 1000);
    assert!(!mine["module_imports"].as_array().unwrap().is_empty());
    assert_eq!(mine["note"], "top products, raw amounts");

    // A past expiry is refused; a future one makes a new policy version.
    let past = call(
        &owner,
        Method::POST,
        &format!("/v1/approvals/{id}/approve"),
        Some(json!({"expires": "2001-01-01T00:00:00Z"})),
    );
    assert_eq!(past.status, 400, "{}", past.json());
    let before = s.node.dataset("sales").unwrap().policy;
    let ok = call(
        &owner,
        Method::POST,
        &format!("/v1/approvals/{id}/approve"),
        Some(json!({"expires": "2099-01-01T00:00:00Z", "note": "reviewed"})),
    );
    assert_eq!(ok.status, 200, "{}", ok.json());
    let after = s.node.dataset("sales").unwrap().policy;
    assert_eq!(after.version, before.version + 1);
    assert_ne!(after.hash, before.hash);
    assert!(
        s.node.policy_by_hash(&before.hash).is_ok(),
        "the old version stays addressable"
    );
    let again = call(
        &owner,
        Method::POST,
        &format!("/v1/approvals/{id}/approve"),
        Some(json!({})),
    );
    assert_eq!(again.status, 409);
    assert_eq!(again.json()["type"], "conflict.approval-decided");

    // The buyer runs: released, with a receipt that verifies offline.
    let released = call(&buyer, Method::POST, "/v1/runs", Some(run));
    assert_eq!(released.status, 200, "{}", released.json());
    let r = released.json();
    assert_eq!(r["decision"], "released");
    assert!(r["output"]["columns"].is_array(), "{r}");
    let receipt: Receipt = serde_json::from_value(r["receipt"].clone()).unwrap();
    let node_info = call(&auditor, Method::GET, "/v1/node", None).json();
    let verifier = NoteVerifier::parse(node_info["note_verifier"].as_str().unwrap()).unwrap();
    verify_receipt(&receipt, &verifier).expect("the receipt verifies offline");

    // The approval decision is a ledger event naming the request.
    let events = call(&auditor, Method::GET, "/v1/ledger/events?limit=1000", None).json();
    assert!(events.as_array().unwrap().iter().any(|e| {
        e["type"] == "dev.sluice.approval.v1"
            && e["data"]["request_id"] == id.as_str()
            && e["data"]["decision"] == "approved"
    }));

    // A rejection carries its reason into the ledger.
    let patients = call(
        &buyer,
        Method::POST,
        "/v1/approvals",
        Some(json!({"dataset": "patients", "module_hash": hash})),
    )
    .json();
    let pid = patients["id"].as_str().unwrap();
    let other_owner = s.client(&s.keys.other_owner);
    let no_reason = call(
        &other_owner,
        Method::POST,
        &format!("/v1/approvals/{pid}/reject"),
        Some(json!({"reason": " "})),
    );
    assert_eq!(no_reason.status, 400);
    let rejected = call(
        &other_owner,
        Method::POST,
        &format!("/v1/approvals/{pid}/reject"),
        Some(json!({"reason": "patients are aggregate-only"})),
    );
    assert_eq!(rejected.status, 200);
    assert_eq!(rejected.json()["status"], "rejected");

    // Buyers see only their own runs and bills.
    let runs = call(&buyer, Method::GET, "/v1/runs", None).json();
    let me = s.keys.other_buyer.public().to_hex();
    assert!(runs["runs"].as_array().unwrap().len() >= 2);
    assert!(
        runs["runs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["data"]["buyer"] == me.as_str())
    );
    let bill = call(&buyer, Method::GET, "/v1/billing", None).json();
    let lines = bill["report"]["lines"].as_array().unwrap();
    assert!(
        lines
            .iter()
            .all(|l| l["key"] == s.keys.other_buyer.public().key_id()),
        "{bill}"
    );

    // The auditor verifies the ledger and replays the run.
    let verified = call(&auditor, Method::GET, "/v1/ledger/verify", None).json();
    assert_eq!(verified["ok"], true, "{verified}");
    let run_id = r["run_id"].as_str().unwrap();
    let replay = call(
        &auditor,
        Method::POST,
        &format!("/v1/runs/{run_id}/replay"),
        None,
    )
    .json();
    assert_eq!(replay["status"], "match", "{replay}");
    let fetched = call(
        &auditor,
        Method::GET,
        &format!("/v1/runs/{run_id}/receipt"),
        None,
    )
    .json();
    let fetched: Receipt = serde_json::from_value(fetched).unwrap();
    verify_receipt(&fetched, &verifier).unwrap();
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn the_callers_trace_is_recorded_and_bodies_are_capped() {
    let s = start(|c| {
        c.max_body_bytes = 4096;
        c.max_module_bytes = 1024;
    });
    let buyer = s.client(&s.keys.buyer);
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let body =
        serde_json::to_vec(&json!({"module_hash": s.module_hash, "datasets": ["sales"]})).unwrap();
    let mut req = buyer
        .build(
            Method::POST,
            "/v1/runs",
            body,
            Some("application/json"),
            &Default::default(),
        )
        .unwrap();
    req.headers_mut().insert(
        "traceparent",
        format!("00-{trace}-00f067aa0ba902b7-01").parse().unwrap(),
    );
    let a = s.rt.block_on(buyer.send_request(req)).unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["receipt"]["event"]["data"]["trace_id"], trace);
    // Without one, the event still names a trace.
    let plain =
        s.rt.block_on(buyer.json(
            Method::POST,
            "/v1/runs",
            Some(&json!({"module_hash": s.module_hash, "datasets": ["sales"]})),
        ))
        .unwrap()
        .json();
    let t = plain["receipt"]["event"]["data"]["trace_id"]
        .as_str()
        .unwrap();
    assert_eq!(t.len(), 32);
    assert_eq!(plain["trace_id"], t);

    let big = vec![b' '; 5000];
    let a =
        s.rt.block_on(buyer.send(
            Method::POST,
            "/v1/runs",
            big,
            Some("application/json"),
            &Default::default(),
        ))
        .unwrap();
    assert_eq!(a.status, 413);
    assert_eq!(a.json()["type"], "too-large.body");
    let a =
        s.rt.block_on(buyer.send(
            Method::POST,
            "/v1/modules",
            s.module.clone(),
            Some("application/wasm"),
            &Default::default(),
        ))
        .unwrap();
    assert_eq!(a.status, 413);
    let a =
        s.rt.block_on(buyer.send(
            Method::POST,
            "/v1/runs",
            b"{not json".to_vec(),
            Some("application/json"),
            &Default::default(),
        ))
        .unwrap();
    assert_eq!(
        (a.status.as_u16(), a.json()["type"].as_str().unwrap()),
        (400, "invalid.json")
    );
    let a =
        s.rt.block_on(buyer.json(Method::GET, "/v1/nope", None))
            .unwrap();
    assert_eq!(a.json()["type"], "not-found.route");
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn past_the_queue_bound_the_node_answers_503_and_shutdown_loses_no_event() {
    let s = start(|c| {
        c.workers = 1;
        c.queue = 1;
        c.per_key_runs = 100;
    });
    let before = s.node.ledger().len().unwrap();
    let keys = [&s.keys.buyer];
    let body = json!({"module_hash": s.module_hash, "datasets": ["sales"]});
    let handles: Vec<_> = (0..12)
        .map(|_| {
            let c = s.client(keys[0]);
            let body = body.clone();
            s.rt.spawn(async move { c.json(Method::POST, "/v1/runs", Some(&body)).await.unwrap() })
        })
        .collect();
    let answers: Vec<_> = handles
        .into_iter()
        .map(|h| s.rt.block_on(h).unwrap())
        .collect();
    let ok = answers.iter().filter(|a| a.status == 200).count() as u64;
    let busy: Vec<_> = answers.iter().filter(|a| a.status == 503).collect();
    assert_eq!(
        ok + busy.len() as u64,
        12,
        "every answer is a result or busy"
    );
    assert!(
        !busy.is_empty(),
        "12 at once exceed 1 worker + 1 queue place"
    );
    for b in &busy {
        assert!(b.headers.contains_key("retry-after"));
        assert_eq!(b.json()["type"], "busy.queue-full");
    }
    // Runs in flight at SIGTERM are finished and recorded.
    let inflight: Vec<_> = (0..2).map(|_| s.client(keys[0])).collect();
    let handles: Vec<_> = inflight
        .into_iter()
        .map(|c| {
            let body = body.clone();
            s.rt.spawn(async move { c.json(Method::POST, "/v1/runs", Some(&body)).await })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(30));
    assert_eq!(s.shutdown(), 0, "every admitted run was recorded");
    let late_ok = handles
        .into_iter()
        .filter_map(|h| s.rt.block_on(h).ok().and_then(|r| r.ok()))
        .filter(|a| a.status == 200)
        .count() as u64;
    assert_eq!(
        s.node.ledger().len().unwrap() - before,
        ok + late_ok,
        "events recorded == results given"
    );
}
