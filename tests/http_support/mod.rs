//! A node served over HTTP on loopback for the HTTP tests: example data,
//! the repository's policies, keys for every role, the buyer's signed
//! `mean-by-group` module stored and approved for `sales`, and one released
//! run, so every route has something to answer about.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use sluice::example_data::{DataSpec, generate};
use sluice::guests;
use sluice_node::http::{App, Client, Metrics, RequestSigner, ServerConfig, serve};
use sluice_node::{Node, NodeConfig, Role};
use sluice_runtime::signing::{self, SecretKey};
use tokio::runtime::Runtime;

/// A key for every part the tests play.
pub(crate) struct Keys {
    pub(crate) operator: SecretKey,
    /// Owns `sales`.
    pub(crate) owner: SecretKey,
    /// Owns `patients` (not `sales`).
    pub(crate) other_owner: SecretKey,
    pub(crate) buyer: SecretKey,
    pub(crate) other_buyer: SecretKey,
    pub(crate) auditor: SecretKey,
    /// Not known to the node.
    pub(crate) stranger: SecretKey,
}

/// A running server and what it was set up with.
pub(crate) struct Served {
    pub(crate) url: String,
    pub(crate) rt: Runtime,
    pub(crate) node: Arc<Node>,
    pub(crate) keys: Keys,
    /// The buyer's signed mean-by-group component.
    pub(crate) module: Vec<u8>,
    pub(crate) module_hash: String,
    /// A released run of the buyer.
    pub(crate) run_id: String,
    /// A pending approval request of the buyer for `patients`.
    pub(crate) pending_approval: String,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) stop: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    pub(crate) done: std::sync::Mutex<Option<tokio::task::JoinHandle<std::io::Result<usize>>>>,
}

fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

/// The component `name` built from `examples/`.
pub(crate) fn component(name: &str) -> Vec<u8> {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| guests::build("examples").expect("build examples"));
    std::fs::read(guests::component(dir, name)).expect("read component")
}

impl Served {
    /// A client signing with `key`.
    pub(crate) fn client(&self, key: &SecretKey) -> Client {
        let _guard = self.rt.enter();
        Client::new(&self.url, Some(RequestSigner::new(key)))
    }

    /// An unsigned client.
    pub(crate) fn anonymous(&self) -> Client {
        let _guard = self.rt.enter();
        Client::new(&self.url, None)
    }

    /// Stops the server (as SIGTERM would) and returns the runs left in flight.
    pub(crate) fn shutdown(&self) -> usize {
        if let Some(tx) = self.stop.lock().unwrap().take() {
            let _ = tx.send(());
        }
        let handle = self.done.lock().unwrap().take().expect("server running");
        self.rt.block_on(handle).unwrap().unwrap()
    }
}

/// Starts a server with `tweak` applied to the default test settings.
pub(crate) fn start(tweak: impl FnOnce(&mut ServerConfig)) -> Served {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    generate(
        &data,
        &DataSpec {
            sales_rows: 2_000,
            patients_rows: 1_000,
            ..DataSpec::default()
        },
    )
    .expect("generate data");
    let node = Arc::new(Node::open(NodeConfig::new(dir.path().join("node"))).expect("open node"));
    let policy = |d: &str| {
        std::fs::read_to_string(
            guests::repo_root()
                .join("policies")
                .join(format!("{d}.toml")),
        )
        .unwrap()
    };
    node.add_dataset("sales", &data.join("sales.parquet"), &policy("sales"), None)
        .unwrap();
    node.add_dataset(
        "patients",
        &data.join("patients.csv"),
        &policy("patients"),
        None,
    )
    .unwrap();
    let keys = Keys {
        operator: key(1),
        owner: key(2),
        other_owner: key(3),
        buyer: key(4),
        other_buyer: key(5),
        auditor: key(6),
        stranger: key(7),
    };
    node.add_key(&keys.operator.public(), Role::Operator, &[], None)
        .unwrap();
    node.add_key(&keys.owner.public(), Role::Owner, &["sales".into()], None)
        .unwrap();
    node.add_key(
        &keys.other_owner.public(),
        Role::Owner,
        &["patients".into()],
        None,
    )
    .unwrap();
    node.add_key(&keys.buyer.public(), Role::Buyer, &[], None)
        .unwrap();
    node.add_key(&keys.other_buyer.public(), Role::Buyer, &[], None)
        .unwrap();
    node.add_key(&keys.auditor.public(), Role::Auditor, &[], None)
        .unwrap();
    let module = signing::sign(&component("mean-by-group"), &keys.buyer).unwrap();
    let module_hash = node.put_module(&module).unwrap().hash;
    let request = node
        .request_approval(&keys.buyer.public(), "sales", &module_hash, Some("setup"))
        .unwrap();
    node.approve(&request.id, &keys.owner.public(), None, Some("reviewed"))
        .unwrap();
    let pending = node
        .request_approval(
            &keys.buyer.public(),
            "patients",
            &module_hash,
            Some("please"),
        )
        .unwrap();
    let mut config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        workers: 2,
        ..ServerConfig::default()
    };
    tweak(&mut config);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = App::new(node.clone(), config, Metrics::global()).unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let done = rt.spawn(serve(app, listener, async move {
        let _ = rx.await;
    }));
    let mut served = Served {
        url,
        rt,
        node,
        keys,
        module,
        module_hash,
        run_id: String::new(),
        pending_approval: pending.id,
        dir,
        stop: std::sync::Mutex::new(Some(tx)),
        done: std::sync::Mutex::new(Some(done)),
    };
    let buyer = served.client(&served.keys.buyer);
    let body =
        serde_json::json!({"module_hash": served.module_hash, "datasets": ["sales"], "seed": 7});
    let answer = served
        .rt
        .block_on(buyer.json(sluice_node::http::Method::POST, "/v1/runs", Some(&body)))
        .unwrap();
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    served.run_id = answer.json()["run_id"].as_str().unwrap().to_string();
    served
}
