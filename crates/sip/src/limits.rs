//! The bounds every decoded message is held to.

/// Size and count limits applied while decoding. Anything beyond a limit is refused before
/// it is parsed further, so a peer cannot make the decoder do unbounded work or hold
/// unbounded memory.
///
/// ```
/// let mut limits = sip::Limits::default();
/// limits.max_message_size = 16 * 1024;
/// assert_eq!(limits.max_headers, 256);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest whole message (start line, headers and body) in bytes. A UDP datagram
    /// cannot exceed 65,507 bytes, so the default of 64 KiB covers every datagram.
    pub max_message_size: usize,
    /// The most header fields, counted after comma-separated lists are split.
    pub max_headers: usize,
    /// The longest header line in bytes, after folded lines are joined. Leaves room for an
    /// 8 KiB Identity header (a PASSporT with Rich Call Data).
    pub max_header_line: usize,
    /// The longest request or status line in bytes.
    pub max_start_line: usize,
    /// The largest Content-Length accepted.
    pub max_content_length: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_size: 64 * 1024,
            max_headers: 256,
            max_header_line: 12 * 1024,
            max_start_line: 4 * 1024,
            max_content_length: 32 * 1024,
        }
    }
}
