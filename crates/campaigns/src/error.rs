//! The errors of this crate: every one is the caller's fault (bad input or parameters).

/// Why a report, a parameter set or an evaluation input was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The calling number is not 7 to 15 digits (an optional leading `+` is allowed).
    #[error("report {report}: calling number {calling:?} is not 7 to 15 digits")]
    InvalidCalling {
        /// The report's id.
        report: u64,
        /// The calling number as given (clipped to 32 characters).
        calling: String,
    },
    /// A clustering parameter is out of its range.
    #[error("parameter {name} = {value} is out of range ({range})")]
    InvalidParam {
        /// The parameter's field name in [`crate::Params`].
        name: &'static str,
        /// The value given.
        value: f64,
        /// The allowed range, in words.
        range: &'static str,
    },
    /// The reference labels and the predicted clusters do not cover the same items.
    #[error("{truth} reference labels but {predicted} predicted clusters")]
    LengthMismatch {
        /// How many reference labels were given.
        truth: usize,
        /// How many predicted cluster labels were given.
        predicted: usize,
    },
}
