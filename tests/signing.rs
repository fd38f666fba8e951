//! End-to-end: `sluice keygen`, `sluice sign` and `sluice verify` through
//! the binary on a real component, their exit codes, messages and JSON, and
//! interoperability with `wasmsign2`, the reference implementation of the
//! WebAssembly tool-conventions signature format.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{Outcome, sluice};
use sluice_runtime::signing::{self, PublicKey, SecretKey};

/// The built `mean-by-group` component (built once per test binary).
fn component() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = sluice::guests::build("examples").expect("build examples");
        sluice::guests::component(&dir, "mean-by-group")
    })
}

/// A fresh copy of the component in `dir`.
fn copy_component(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::copy(component(), &path).expect("copy component");
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `sluice keygen --out DIR/NAME`; returns (NAME.key, NAME.pub).
fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let base = dir.join(name);
    let r = sluice(&["keygen", "--out", s(&base)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    (
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.pub")),
    )
}

fn assert_refused(r: &Outcome, code: i32, message: &str) {
    assert_eq!(r.code, code, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(message),
        "expected {message:?} in: {}",
        r.stderr
    );
}

// ---- keygen ----

#[cfg(unix)]
#[test]
fn keygen_writes_a_private_secret_key_and_never_clobbers() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("buyer");
    let r = sluice(&["keygen", "--out", s(&base)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let sk_path = dir.path().join("buyer.key");
    let pk_path = dir.path().join("buyer.pub");
    let mode = std::fs::metadata(&sk_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "secret key must be private");
    let sk_bytes = std::fs::read(&sk_path).unwrap();
    let pk_bytes = std::fs::read(&pk_path).unwrap();
    assert_eq!((sk_bytes.len(), sk_bytes[0]), (65, 0x81));
    assert_eq!((pk_bytes.len(), pk_bytes[0]), (33, 0x01));
    let pk = PublicKey::from_file(&pk_path).unwrap();
    assert_eq!(SecretKey::from_file(&sk_path).unwrap().public(), pk);
    assert!(
        r.stdout.contains(&format!("key id: {}", pk.key_id())),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("public key: {}", pk.to_hex())),
        "{}",
        r.stdout
    );

    // No clobbering: refused, both files untouched.
    let again = sluice(&["keygen", "--out", s(&base)]);
    assert_refused(&again, 2, "already exists");
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    assert_eq!(std::fs::read(&sk_path).unwrap(), sk_bytes);
    assert_eq!(std::fs::read(&pk_path).unwrap(), pk_bytes);
    // Also when only the secret key exists.
    std::fs::remove_file(&pk_path).unwrap();
    assert_refused(
        &sluice(&["keygen", "--out", s(&base)]),
        2,
        "buyer.key already exists",
    );
    assert!(!pk_path.exists(), "no half key pair is left behind");
    assert_eq!(std::fs::read(&sk_path).unwrap(), sk_bytes);

    // --force replaces both, and the secret key stays private.
    let forced = sluice(&["keygen", "--out", s(&base), "--force", "--json"]);
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert_ne!(std::fs::read(&sk_path).unwrap(), sk_bytes);
    let new_pk = PublicKey::from_file(&pk_path).unwrap();
    assert_eq!(forced.json["key_id"], new_pk.key_id());
    assert_eq!(forced.json["public_key"], new_pk.to_hex());
    assert_eq!(forced.json["secret_key_file"], s(&sk_path));
    let mode = std::fs::metadata(&sk_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

// ---- sign / verify ----

#[test]
fn sign_in_place_then_verify() {
    let dir = tempfile::tempdir().unwrap();
    let (sk, pk) = keygen(dir.path(), "buyer");
    let m = copy_component(dir.path(), "m.wasm");
    let original = std::fs::read(&m).unwrap();
    let hash = signing::module_hash(&original).unwrap();

    let r = sluice(&["sign", "--key", s(&sk), s(&m)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let key_id = PublicKey::from_file(&pk).unwrap().key_id();
    assert!(
        r.stdout.contains(&format!("with key {key_id}")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("module hash: {hash}")),
        "{}",
        r.stdout
    );
    let signed = std::fs::read(&m).unwrap();
    assert_ne!(signed, original);
    assert_eq!(signing::strip_signature(&signed).unwrap(), original);

    let r = sluice(&["verify", "--pub", s(&pk), s(&m)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!("signed by key {key_id}")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("module hash: {hash}")),
        "{}",
        r.stdout
    );

    let r = sluice(&["verify", "--json", "--pub", s(&pk), s(&m)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json["valid"], true);
    assert_eq!(r.json["key_id"], key_id.as_str());
    assert_eq!(r.json["module_hash"], hash.as_str());
    assert_eq!(r.json["detached"], false);
}

#[test]
fn sign_to_another_file_leaves_the_input_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (sk, pk) = keygen(dir.path(), "buyer");
    let m = copy_component(dir.path(), "m.wasm");
    let out = dir.path().join("signed.wasm");
    let r = sluice(&["sign", "--key", s(&sk), s(&m), "-o", s(&out), "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json["written"], s(&out));
    assert_eq!(
        std::fs::read(&m).unwrap(),
        std::fs::read(component()).unwrap()
    );
    assert_eq!(sluice(&["verify", "--pub", s(&pk), s(&out)]).code, 0);
    assert_refused(
        &sluice(&["verify", "--pub", s(&pk), s(&m)]),
        3,
        "module is not signed",
    );
}

#[test]
fn verify_finds_the_signer_among_several_keys_and_accepts_hex() {
    let dir = tempfile::tempdir().unwrap();
    let (_, a_pub) = keygen(dir.path(), "a");
    let (b_key, b_pub) = keygen(dir.path(), "b");
    let m = copy_component(dir.path(), "m.wasm");
    assert_eq!(sluice(&["sign", "--key", s(&b_key), s(&m)]).code, 0);
    let b = PublicKey::from_file(&b_pub).unwrap();
    let r = sluice(&[
        "verify",
        "--json",
        "--pub",
        s(&a_pub),
        "--pub",
        s(&b_pub),
        s(&m),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json["key_id"], b.key_id().as_str());
    let r = sluice(&["verify", "--pub", &b.to_hex(), s(&m)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn refusals_exit_3_with_a_precise_message() {
    let dir = tempfile::tempdir().unwrap();
    let (sk, pk) = keygen(dir.path(), "buyer");
    let (_, other_pk) = keygen(dir.path(), "other");
    let other_id = PublicKey::from_file(&other_pk).unwrap().key_id();
    let m = copy_component(dir.path(), "m.wasm");

    // Unsigned.
    assert_refused(
        &sluice(&["verify", "--pub", s(&pk), s(&m)]),
        3,
        "module is not signed",
    );
    let r = sluice(&["verify", "--json", "--pub", s(&pk), s(&m)]);
    assert_eq!(r.code, 3);
    assert_eq!(r.json["valid"], false);
    assert_eq!(r.json["reason"], "not_signed");
    assert_eq!(r.json["error"], "module is not signed");

    // Wrong key.
    assert_eq!(sluice(&["sign", "--key", s(&sk), s(&m)]).code, 0);
    assert_refused(
        &sluice(&["verify", "--pub", s(&other_pk), s(&m)]),
        3,
        &format!("signature does not verify against key {other_id}"),
    );

    // A byte of the code changed after signing.
    let mut bytes = std::fs::read(&m).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 0x01;
    let tampered = dir.path().join("tampered.wasm");
    std::fs::write(&tampered, &bytes).unwrap();
    assert_refused(
        &sluice(&["verify", "--pub", s(&pk), s(&tampered)]),
        3,
        "module was altered after signing (hash mismatch)",
    );
    let r = sluice(&["verify", "--json", "--pub", s(&pk), s(&tampered)]);
    assert_eq!(r.json["reason"], "hash_mismatch");

    // A malformed signature section (its hash-function byte changed).
    let mut bytes = std::fs::read(&m).unwrap();
    let name = bytes.windows(9).position(|w| w == b"signature").unwrap();
    bytes[name + 9 + 2] = 0x07;
    let broken = dir.path().join("broken.wasm");
    std::fs::write(&broken, &bytes).unwrap();
    assert_refused(
        &sluice(&["verify", "--pub", s(&pk), s(&broken)]),
        3,
        "signature section is malformed: unsupported hash function 0x07",
    );

    // Not WebAssembly at all.
    let text = dir.path().join("text.wasm");
    std::fs::write(&text, "hello").unwrap();
    assert_refused(
        &sluice(&["verify", "--pub", s(&pk), s(&text)]),
        3,
        "module is malformed",
    );
}

#[test]
fn unreadable_inputs_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let (sk, pk) = keygen(dir.path(), "buyer");
    let m = copy_component(dir.path(), "m.wasm");
    let missing = dir.path().join("missing.wasm");
    assert_refused(
        &sluice(&["verify", "--pub", s(&pk), s(&missing)]),
        2,
        "cannot read module",
    );
    let bad_pub = dir.path().join("bad.pub");
    std::fs::write(&bad_pub, "not a key").unwrap();
    assert_refused(
        &sluice(&["verify", "--pub", s(&bad_pub), s(&m)]),
        2,
        "key is malformed",
    );
    assert_refused(
        &sluice(&["verify", "--pub", s(&dir.path().join("nope.pub")), s(&m)]),
        2,
        "nope.pub",
    );
    assert_refused(
        &sluice(&["verify", "--pub", s(&pk), "--detached", s(&missing), s(&m)]),
        2,
        "cannot read detached signature",
    );
    assert_refused(
        &sluice(&["sign", "--key", s(&pk), s(&m)]),
        2,
        "expected 0x81",
    );
    assert_refused(
        &sluice(&["sign", "--key", s(&sk), s(&missing)]),
        2,
        "cannot read module",
    );
    // --detached and -o do not go together.
    let r = sluice(&[
        "sign",
        "--key",
        s(&sk),
        s(&m),
        "-o",
        "x.wasm",
        "--detached",
        "x.sig",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn detached_signatures_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (sk, pk) = keygen(dir.path(), "buyer");
    let m = copy_component(dir.path(), "m.wasm");
    let sig = dir.path().join("m.sig");
    let r = sluice(&["sign", "--key", s(&sk), s(&m), "--detached", s(&sig)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read(&m).unwrap(),
        std::fs::read(component()).unwrap()
    );
    let r = sluice(&[
        "verify",
        "--json",
        "--pub",
        s(&pk),
        s(&m),
        "--detached",
        s(&sig),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json["detached"], true);
    assert_refused(
        &sluice(&["verify", "--pub", s(&pk), s(&m)]),
        3,
        "module is not signed",
    );
    let mut bytes = std::fs::read(&m).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&m, &bytes).unwrap();
    assert_refused(
        &sluice(&["verify", "--pub", s(&pk), s(&m), "--detached", s(&sig)]),
        3,
        "module was altered after signing",
    );
}

#[test]
fn co_signing_and_replacing_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let (a_key, a_pub) = keygen(dir.path(), "a");
    let (b_key, b_pub) = keygen(dir.path(), "b");
    let m = copy_component(dir.path(), "m.wasm");
    assert_eq!(sluice(&["sign", "--key", s(&a_key), s(&m)]).code, 0);
    assert_eq!(sluice(&["sign", "--key", s(&b_key), s(&m)]).code, 0);
    assert_eq!(sluice(&["verify", "--pub", s(&a_pub), s(&m)]).code, 0);
    assert_eq!(sluice(&["verify", "--pub", s(&b_pub), s(&m)]).code, 0);
    assert_eq!(
        sluice(&["sign", "--replace", "--key", s(&b_key), s(&m)]).code,
        0
    );
    assert_eq!(sluice(&["verify", "--pub", s(&a_pub), s(&m)]).code, 3);
    assert_eq!(sluice(&["verify", "--pub", s(&b_pub), s(&m)]).code, 0);
}

// ---- interoperability with wasmsign2 ----

/// Sluice key files read by wasmsign2, and the same key in both libraries.
fn both_keys(
    dir: &Path,
) -> (
    SecretKey,
    wasmsign2::SecretKey,
    wasmsign2::PublicKey,
    PathBuf,
) {
    let (sk_path, pk_path) = keygen(dir, "interop");
    let ws_sk = wasmsign2::SecretKey::from_file(&sk_path).expect("wasmsign2 reads NAME.key");
    let ws_pk = wasmsign2::PublicKey::from_file(&pk_path).expect("wasmsign2 reads NAME.pub");
    let sk = SecretKey::from_file(&sk_path).unwrap();
    assert_eq!(ws_sk.to_bytes(), sk.to_bytes());
    assert_eq!(ws_pk.to_bytes(), sk.public().to_bytes());
    (sk, ws_sk, ws_pk, pk_path)
}

#[test]
fn key_ids_match_wasmsign2() {
    let dir = tempfile::tempdir().unwrap();
    let (sk, _, ws_pk, _) = both_keys(dir.path());
    let ws_id = ws_pk.attach_default_key_id().key_id().cloned().unwrap();
    assert_eq!(ws_id, sk.public().key_id_bytes().to_vec());
}

#[test]
fn a_module_signed_by_wasmsign2_verifies_in_sluice() {
    let dir = tempfile::tempdir().unwrap();
    let (_, ws_sk, ws_pk, pk_path) = both_keys(dir.path());
    let original = std::fs::read(component()).unwrap();
    let pk = PublicKey::from_file(&pk_path).unwrap();

    // Without a key id (wasmsign2's default) and with its default key id.
    let no_id = ws_pk.clone();
    let with_id = ws_pk.clone().attach_default_key_id();
    for key_id in [no_id.key_id(), with_id.key_id()] {
        let module = wasmsign2::Module::deserialize(&mut original.as_slice()).unwrap();
        let signed = ws_sk.sign(module, key_id).unwrap();
        let mut bytes = Vec::new();
        signed.serialize(&mut bytes).unwrap();

        let v = signing::verify(&bytes, None, std::slice::from_ref(&pk)).expect("verifies");
        assert_eq!(v.key_id, pk.key_id());
        assert_eq!(v.module_hash, signing::module_hash(&original).unwrap());
        let path = dir.path().join("ws-signed.wasm");
        std::fs::write(&path, &bytes).unwrap();
        let r = sluice(&["verify", "--pub", s(&pk_path), s(&path)]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }

    // wasmsign2's multi-signature API, embedded and detached.
    let module = wasmsign2::Module::deserialize(&mut original.as_slice()).unwrap();
    let (signed, _) = ws_sk
        .sign_multi(module, with_id.key_id(), false, false)
        .unwrap();
    let mut bytes = Vec::new();
    signed.serialize(&mut bytes).unwrap();
    assert!(signing::verify(&bytes, None, std::slice::from_ref(&pk)).is_ok());

    let module = wasmsign2::Module::deserialize(&mut original.as_slice()).unwrap();
    let (_, detached) = ws_sk.sign_multi(module, None, true, false).unwrap();
    let v = signing::verify(&original, Some(&detached), std::slice::from_ref(&pk)).unwrap();
    assert_eq!(v.key_id, pk.key_id());
    let m = copy_component(dir.path(), "plain.wasm");
    let sig = dir.path().join("ws.sig");
    std::fs::write(&sig, &detached).unwrap();
    let r = sluice(&["verify", "--pub", s(&pk_path), s(&m), "--detached", s(&sig)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn a_module_signed_by_sluice_verifies_in_wasmsign2() {
    let dir = tempfile::tempdir().unwrap();
    let (sk, _, ws_pk, _) = both_keys(dir.path());
    let sk_path = dir.path().join("interop.key");
    let m = copy_component(dir.path(), "m.wasm");
    let r = sluice(&["sign", "--key", s(&sk_path), s(&m)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let signed = std::fs::read(&m).unwrap();

    ws_pk
        .verify(&mut signed.as_slice(), None)
        .expect("wasmsign2 verifies a Sluice signature");
    ws_pk
        .clone()
        .attach_default_key_id()
        .verify(&mut signed.as_slice(), None)
        .expect("wasmsign2 matches the embedded key id");
    let set = wasmsign2::PublicKeySet::new([ws_pk.clone()].into_iter().collect());
    assert_eq!(set.verify(&mut signed.as_slice(), None).unwrap().len(), 1);
    let module = wasmsign2::Module::deserialize(&mut signed.as_slice()).unwrap();
    let info = module.signature_info().unwrap();
    assert_eq!(info.signature_count(), 1);
    assert_eq!(info.key_ids(), [sk.public().key_id_bytes().to_vec()]);

    // A tampered Sluice-signed module fails in wasmsign2 too.
    let mut tampered = signed.clone();
    let at = tampered.len() - 100;
    tampered[at] ^= 1;
    assert!(ws_pk.verify(&mut tampered.as_slice(), None).is_err());

    // Detached, library to library.
    let original = std::fs::read(component()).unwrap();
    let detached = signing::sign_detached(&original, &sk).unwrap();
    ws_pk
        .verify(&mut original.as_slice(), Some(&detached))
        .expect("wasmsign2 verifies a Sluice detached signature");

    // wasmsign2 co-signs a Sluice-signed module; Sluice accepts both signers.
    let other = wasmsign2::KeyPair::generate();
    let module = wasmsign2::Module::deserialize(&mut signed.as_slice()).unwrap();
    let (cosigned, _) = other.sk.sign_multi(module, None, false, false).unwrap();
    let mut bytes = Vec::new();
    cosigned.serialize(&mut bytes).unwrap();
    let other_pk = PublicKey::from_bytes(&other.pk.to_bytes()).unwrap();
    assert!(signing::verify(&bytes, None, &[sk.public()]).is_ok());
    assert!(signing::verify(&bytes, None, &[other_pk]).is_ok());
}

#[test]
fn wasmsign2_key_files_work_with_sluice() {
    let dir = tempfile::tempdir().unwrap();
    let kp = wasmsign2::KeyPair::generate();
    let sk_path = dir.path().join("ws.key");
    let pk_path = dir.path().join("ws.pub");
    kp.sk.to_file(&sk_path).unwrap();
    kp.pk.to_file(&pk_path).unwrap();
    let m = copy_component(dir.path(), "m.wasm");
    assert_eq!(sluice(&["sign", "--key", s(&sk_path), s(&m)]).code, 0);
    let r = sluice(&["verify", "--pub", s(&pk_path), s(&m)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    kp.pk
        .verify(&mut std::fs::read(&m).unwrap().as_slice(), None)
        .unwrap();
}
