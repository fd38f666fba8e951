//! The OpenAPI 3.1 document, generated from the handlers' own annotations
//! and types (utoipa): the router and the document are built from the same
//! `routes!` lists in [`super::server`], so a route cannot exist without
//! its documentation or the other way round (a test checks both ways).

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document's fixed parts; the paths are added by the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sluice node API",
        description = "A Sluice node: run a buyer's signed WebAssembly analytics next to an owner's data, release only what the dataset's policy allows, and record every run as a signed, tamper-evident usage event.\n\nEvery route except `/healthz` and `/openapi.json` needs an HTTP Message Signature (RFC 9421) by a key the node knows: one signature labelled `sig` over `@method`, `@path`, `@query` and `content-digest` (RFC 9530, `sha-256`), with the parameters `created`, `nonce`, `keyid` (the caller's Ed25519 public key, hex) and `alg=\"ed25519\"`. `sluice client` signs requests for you. Errors are RFC 9457 problem details whose `type` is a stable code.",
        license(name = "Apache-2.0")
    ),
    modifiers(&SignatureScheme),
    tags(
        (name = "node", description = "Health and identity"),
        (name = "keys", description = "Keys and roles (operator)"),
        (name = "datasets", description = "Datasets and the catalog"),
        (name = "policies", description = "Policy versions"),
        (name = "modules", description = "Signed components"),
        (name = "approvals", description = "Approval requests"),
        (name = "runs", description = "Runs, jobs, receipts, usage, replay"),
        (name = "billing", description = "Billing reports"),
        (name = "ledger", description = "Checkpoints, proofs, events, export, verification"),
    )
)]
pub(crate) struct ApiDoc;

/// Declares the `signature` security scheme the routes refer to.
struct SignatureScheme;

impl Modify for SignatureScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Signature",
                "RFC 9421 HTTP Message Signature (with Signature-Input and Content-Digest); see the description above",
            ))),
        );
    }
}
