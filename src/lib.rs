//! Library side of the `sluice` command: pieces the CLI, the tests and the
//! benchmarks share (example data, building guest components, rendering).

pub mod example_data;
pub mod guests;
pub mod render;
