//! The [`Analytic`] trait and the [`export!`](crate::export) macro.
//!
//! A component has exactly one entry point, `run(params) -> table`. The
//! macro wires a type implementing [`Analytic`] to that export, so the
//! buyer never touches the generated bindings, and it turns every failure
//! (including a [`Table`] whose columns differ in length) into the host's
//! typed error instead of a trap.

use crate::bindings::sluice::host::types::{Error as WitError, Table as WitTable};
use crate::{Ctx, Result, Table};

/// A Sluice analytic: the code a buyer sends to run next to the data.
///
/// `params` is the buyer's parameter text for this run (usually JSON,
/// possibly empty). The returned [`Table`] is what the host checks against
/// the dataset's release rules.
///
/// ```no_run
/// use sluice_guest::*;
/// struct Count;
/// impl Analytic for Count {
///     fn run(ctx: &mut Ctx, _params: &str) -> Result<Table> {
///         let mut rows = 0i64;
///         for batch in ctx.scan("sales").column("amount").open()? {
///             rows += batch?.rows() as i64;
///         }
///         Ok(Table::new().i64("rows", [rows]))
///     }
/// }
/// export!(Count);
/// ```
pub trait Analytic {
    /// Runs the analytic once with the buyer's `params`.
    fn run(ctx: &mut Ctx, params: &str) -> Result<Table>;
}

/// Exports a type implementing [`Analytic`] as the component's `run`.
///
/// Use it once per crate, at the top level.
///
/// ```no_run
/// use sluice_guest::*;
/// struct Hello;
/// impl Analytic for Hello { fn run(_: &mut Ctx, _: &str) -> Result<Table> { Ok(Table::new().utf8("hello", ["world"])) } }
/// export!(Hello);
/// ```
#[macro_export]
macro_rules! export {
    ($analytic:ty) => {
        const _: () = {
            struct __SluiceAnalytic;
            impl $crate::bindings::Guest for __SluiceAnalytic {
                fn run(
                    params: ::std::string::String,
                ) -> ::core::result::Result<$crate::bindings::Table, $crate::bindings::Error>
                {
                    $crate::__run::<$analytic>(&params)
                }
            }
    $crate::bindings::__export_analytic!(__SluiceAnalytic with_types_in $crate::bindings);
        };
    };
}

/// Runs `A` with a fresh [`Ctx`] and converts its outcome to the WIT types.
/// Called by the code [`export!`](crate::export) generates.
#[doc(hidden)]
pub fn __run<A: Analytic>(params: &str) -> Result<WitTable, WitError> {
    let mut ctx = Ctx::new();
    A::run(&mut ctx, params)
        .and_then(Table::into_wit)
        .map_err(WitError::from)
}
