//! `sluice keygen`, `sluice sign`, `sluice verify`: Ed25519 keys and module
//! signatures in the WebAssembly tool-conventions format (wasmsign2's).
//!
//! Guards against leaking or clobbering secret keys (0600, no overwrite
//! without `--force`), half-written modules (signed output is written to a
//! temporary file and renamed into place), and vague refusals: `verify`
//! exits 3 naming the exact cause, and 2 when its inputs cannot be read.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use clap::Args;
use serde_json::json;
use sluice_runtime::signing::{self, PublicKey, SecretKey, SigningError};

use super::{EXIT_NOT_RELEASED, Failure};

/// Arguments of `sluice keygen`.
#[derive(Args)]
pub(super) struct KeygenArgs {
    /// Writes NAME.key (secret, mode 0600) and NAME.pub (public).
    #[arg(long, value_name = "NAME")]
    out: PathBuf,
    /// Overwrite existing key files.
    #[arg(long)]
    force: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Arguments of `sluice sign`.
#[derive(Args)]
pub(super) struct SignArgs {
    /// The secret key file (from `sluice keygen` or `wasmsign2 keygen`).
    #[arg(long, value_name = "NAME.key")]
    key: PathBuf,
    /// The module or component to sign.
    #[arg(value_name = "M.wasm")]
    module: PathBuf,
    /// Write the signed module here instead of replacing M.wasm.
    #[arg(
        short = 'o',
        long = "out",
        value_name = "OUT.wasm",
        conflicts_with = "detached"
    )]
    out: Option<PathBuf>,
    /// Write the signature to this file and leave the module unchanged.
    #[arg(long, value_name = "SIG")]
    detached: Option<PathBuf>,
    /// Drop the module's existing signatures instead of adding to them.
    #[arg(long)]
    replace: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Arguments of `sluice verify`.
#[derive(Args)]
pub(super) struct VerifyArgs {
    /// A public key file, or the key as hex; repeat to accept any of several.
    #[arg(long = "pub", value_name = "NAME.pub", required = true)]
    public: Vec<PathBuf>,
    /// The module or component to verify.
    #[arg(value_name = "M.wasm")]
    module: PathBuf,
    /// Verify this detached signature instead of the embedded one.
    #[arg(long, value_name = "SIG")]
    detached: Option<PathBuf>,
    /// Print JSON instead of text (also on refusal).
    #[arg(long)]
    json: bool,
}

/// `sluice keygen`.
pub(super) fn keygen(args: KeygenArgs) -> Result<ExitCode, Failure> {
    let secret_path = with_suffix(&args.out, ".key");
    let public_path = with_suffix(&args.out, ".pub");
    let hint = |e: SigningError| match e {
        SigningError::Exists(_) => Failure::usage(anyhow!("{e} (pass --force to replace it)")),
        SigningError::Random(_) => Failure::internal(e),
        e => Failure::usage(e),
    };
    if !args.force && public_path.exists() {
        return Err(hint(SigningError::Exists(public_path)));
    }
    let key = SecretKey::generate().map_err(hint)?;
    let public = key.public();
    key.to_file(&secret_path, args.force).map_err(hint)?;
    if let Err(e) = public.to_file(&public_path, args.force) {
        // Do not leave half a key pair behind.
        let _ = std::fs::remove_file(&secret_path);
        return Err(hint(e));
    }
    if args.json {
        let out = json!({
            "key_id": public.key_id(),
            "public_key": public.to_hex(),
            "secret_key_file": secret_path,
            "public_key_file": public_path,
        });
        println!("{out:#}");
    } else {
        println!("key id: {}", public.key_id());
        println!("public key: {}", public.to_hex());
        println!(
            "wrote {} (secret, mode 0600) and {}",
            secret_path.display(),
            public_path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `sluice sign`.
pub(super) fn sign(args: SignArgs) -> Result<ExitCode, Failure> {
    let key = SecretKey::from_file(&args.key).map_err(Failure::usage)?;
    let mut module = read(&args.module, "module")?;
    if args.replace {
        module = signing::strip_signature(&module).map_err(|e| unusable(&args.module, e))?;
    }
    let hash = signing::module_hash(&module).map_err(|e| unusable(&args.module, e))?;
    let key_id = key.public().key_id();
    let written = if let Some(sig_path) = &args.detached {
        let sig = signing::sign_detached(&module, &key).map_err(|e| unusable(&args.module, e))?;
        write_atomically(sig_path, &sig)?;
        sig_path.clone()
    } else {
        let signed = signing::sign(&module, &key).map_err(|e| unusable(&args.module, e))?;
        let out = args.out.clone().unwrap_or_else(|| args.module.clone());
        write_atomically(&out, &signed)?;
        out
    };
    if args.json {
        let out = json!({
            "module": args.module,
            "written": written,
            "detached": args.detached.is_some(),
            "key_id": key_id,
            "module_hash": hash,
        });
        println!("{out:#}");
    } else {
        let what = if args.detached.is_some() {
            "detached signature"
        } else {
            "signed module"
        };
        println!("signed {} with key {key_id}", args.module.display());
        println!("module hash: {hash}");
        println!("wrote {what} {}", written.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `sluice verify`.
pub(super) fn verify(args: VerifyArgs) -> Result<ExitCode, Failure> {
    let keys = args
        .public
        .iter()
        .map(|p| load_public(p))
        .collect::<Result<Vec<_>, _>>()?;
    let module = read(&args.module, "module")?;
    let detached = args
        .detached
        .as_ref()
        .map(|p| read(p, "detached signature"))
        .transpose()?;
    match signing::verify(&module, detached.as_deref(), &keys) {
        Ok(v) => {
            if args.json {
                let out = json!({
                    "valid": true,
                    "module": args.module,
                    "key_id": v.key_id,
                    "public_key": v.signer.to_hex(),
                    "module_hash": v.module_hash,
                    "detached": detached.is_some(),
                });
                println!("{out:#}");
            } else {
                println!(
                    "signature OK: {} is signed by key {}",
                    args.module.display(),
                    v.key_id
                );
                println!("module hash: {}", v.module_hash);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if args.json {
                let out = json!({
                    "valid": false,
                    "module": args.module,
                    "reason": e.kind(),
                    "error": e.to_string(),
                    "module_hash": signing::module_hash(&module).ok(),
                });
                println!("{out:#}");
            }
            let code = if e.is_rejection() {
                EXIT_NOT_RELEASED
            } else {
                2
            };
            Err(Failure {
                error: anyhow!("{}: {e}", args.module.display()),
                code,
            })
        }
    }
}

/// A public key from a file, or given inline as hex.
fn load_public(arg: &Path) -> Result<PublicKey, Failure> {
    if !arg.exists()
        && let Some(text) = arg.to_str()
        && let Ok(key) = PublicKey::parse(text)
    {
        return Ok(key);
    }
    PublicKey::from_file(arg).map_err(Failure::usage)
}

/// `NAME` + `suffix`, keeping non-UTF-8 names intact.
fn with_suffix(name: &Path, suffix: &str) -> PathBuf {
    let mut s = OsString::from(name.as_os_str());
    s.push(suffix);
    PathBuf::from(s)
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))
        .map_err(Failure::usage)
}

/// A module that cannot be signed is an unusable input (exit 2).
fn unusable(path: &Path, e: SigningError) -> Failure {
    Failure::usage(anyhow!("{}: {e}", path.display()))
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over
/// `path`, so readers never see a half-written module.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let name = path
        .file_name()
        .ok_or_else(|| Failure::usage(anyhow!("{} is not a file name", path.display())))?;
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".sluice-{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
        .with_context(|| format!("cannot write {}", path.display()))
        .map_err(Failure::usage)
}
