//! Disk image headers and backing chains.
//!
//! (Skeleton: filled in by the image issue.)

/// One layer of a chain found by reading image headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbedLayer {
    /// The layer's path, resolved against the directory of the image that
    /// names it.
    pub path: String,
    /// Its format, as declared or as recorded by the layer above.
    pub format: Option<String>,
    /// The external data file named in the layer's own header (qcow2).
    pub data_file: Option<String>,
}

/// A chain read from image headers. `layers[0]` is the top image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbedChain {
    pub layers: Vec<ProbedLayer>,
    /// Human-readable warnings (depth limit, loops, missing layers).
    pub warnings: Vec<String>,
}
