//! The WIT imports a component declares, read from its bytes without
//! compiling it: what an owner reviews before approving a module ("which
//! host interfaces does this code ask for?").
//!
//! Only the top-level component import section is read, with `wasmparser`
//! (the parser wasmtime itself uses); nothing is instantiated or compiled.
//! Defends against a reviewer being shown the buyer's claims instead of the
//! module's own declarations, and against malformed bytes: a module that
//! does not parse yields an error, never a partial list, and the number of
//! names reported is capped.

use wasmparser::{Parser, Payload};

/// Most import names reported for one module.
const MAX_IMPORTS: usize = 1024;

/// The names of the component's top-level imports, in declaration order
/// (e.g. `sluice:host/data@0.1.0`, `wasi:cli/environment@0.2.6`).
pub fn wit_imports(bytes: &[u8]) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| format!("not a valid WebAssembly component: {e}"))?;
        match payload {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(section) if depth == 0 => {
                for import in section {
                    let import =
                        import.map_err(|e| format!("not a valid WebAssembly component: {e}"))?;
                    if names.len() < MAX_IMPORTS {
                        names.push(import.name.name.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_an_empty_list() {
        assert!(wit_imports(b"not wasm at all").is_err());
    }

    #[test]
    fn a_core_module_has_no_component_imports() {
        let core = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
        assert_eq!(wit_imports(&core).unwrap(), Vec::<String>::new());
    }
}
