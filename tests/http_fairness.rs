//! A hostile guest cannot starve other buyers beyond its own limits: while
//! one buyer's infinite loops (each stopped by its policy's fuel limit)
//! hold its share of the workers, another buyer's small runs go through.

mod http_support;

use serde_json::json;
use sluice::guests;
use sluice_node::http::Method;
use sluice_runtime::signing;

#[test]
fn a_buyer_flooding_infinite_loops_does_not_hold_up_another_buyer() {
    let s = http_support::start(|c| {
        c.workers = 2;
        c.per_key_workers = 1;
    });
    let wasm = guests::build("tests/guests").expect("build hostile guests");
    let hostile = std::fs::read(guests::component(&wasm, "infinite-loop")).unwrap();
    let hostile = signing::sign(&hostile, &s.keys.other_buyer).unwrap();
    let hash = s.node.put_module(&hostile).unwrap().hash;
    let r = s
        .node
        .request_approval(&s.keys.other_buyer.public(), "patients", &hash, None)
        .unwrap();
    s.node
        .approve(&r.id, &s.keys.other_owner.public(), None, None)
        .unwrap();

    let flooder = s.client(&s.keys.other_buyer);
    let loops: Vec<_> = (0..3)
        .map(|_| {
            let c = flooder.clone();
            let body = json!({"module_hash": hash, "datasets": ["patients"]});
            s.rt.spawn(async move { c.json(Method::POST, "/v1/runs", Some(&body)).await.unwrap() })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(100));

    let buyer = s.client(&s.keys.buyer);
    for _ in 0..5 {
        let a =
            s.rt.block_on(buyer.json(
                Method::POST,
                "/v1/runs",
                Some(&json!({"module_hash": s.module_hash, "datasets": ["sales"]})),
            ))
            .unwrap();
        assert_eq!(a.status, 200);
    }
    assert!(
        loops.iter().any(|h| !h.is_finished()),
        "the other buyer's runs finished while the flood was still queued"
    );
    for h in loops {
        let a = s.rt.block_on(h).unwrap();
        assert_eq!(a.status, 422, "each loop is aborted by its own limit");
        assert!(
            a.json()["type"].as_str().unwrap().starts_with("aborted."),
            "{}",
            a.json()
        );
    }
    assert_eq!(s.shutdown(), 0);
}
