//! The textual encoding of RFC 7468 (`-----BEGIN CERTIFICATE-----`), read leniently: text
//! around and between blocks, blocks with other labels, CRLF line ends and any whitespace in
//! the base64 are all tolerated. Blocks are bounded in number.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

const BEGIN: &[u8] = b"-----BEGIN ";
const DASHES: &[u8] = b"-----";
const MAX_LABEL_LEN: usize = 64;

const LAX_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why PEM text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PemError {
    /// A `-----BEGIN` line whose label is not terminated by `-----`.
    #[error("malformed BEGIN line at byte {offset}")]
    BadBeginLine {
        /// Offset of the BEGIN line.
        offset: usize,
    },
    /// A block with no matching `-----END label-----` line.
    #[error("the {label} block at byte {offset} has no END line")]
    Unterminated {
        /// The block's label.
        label: String,
        /// Offset of its BEGIN line.
        offset: usize,
    },
    /// The body of a block is not base64.
    #[error("the {label} block at byte {offset} is not valid base64")]
    BadBase64 {
        /// The block's label.
        label: String,
        /// Offset of its BEGIN line.
        offset: usize,
    },
    /// More wanted blocks than the caller allows.
    #[error("more than {max} {label} blocks")]
    TooManyBlocks {
        /// The label counted.
        label: &'static str,
        /// The limit.
        max: usize,
    },
}

/// True when the input looks like PEM text rather than DER.
pub(crate) fn looks_like_pem(input: &[u8]) -> bool {
    find(input, BEGIN).is_some()
}

/// The decoded contents of every block whose label is one of `labels`, in order; other
/// blocks are skipped. At most `max` blocks are decoded.
pub(crate) fn decode_blocks(
    input: &[u8],
    labels: &[&'static str],
    max: usize,
) -> Result<Vec<Vec<u8>>, PemError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(found) = input.get(pos..).and_then(|rest| find(rest, BEGIN)) {
        let begin = pos + found;
        let label_start = begin + BEGIN.len();
        let after_label = input.get(label_start..).unwrap_or_default();
        let label_len = find(after_label, DASHES)
            .filter(|&n| n <= MAX_LABEL_LEN)
            .ok_or(PemError::BadBeginLine { offset: begin })?;
        let label_bytes = after_label.get(..label_len).unwrap_or_default();
        let label = String::from_utf8_lossy(label_bytes).into_owned();
        let body_start = label_start + label_len + DASHES.len();
        let mut end_marker = b"-----END ".to_vec();
        end_marker.extend_from_slice(label_bytes);
        end_marker.extend_from_slice(DASHES);
        let body_len = input
            .get(body_start..)
            .and_then(|rest| find(rest, &end_marker))
            .ok_or_else(|| PemError::Unterminated {
                label: label.clone(),
                offset: begin,
            })?;
        pos = body_start + body_len + end_marker.len();
        if !labels.contains(&label.as_str()) {
            continue;
        }
        if out.len() == max {
            let label = labels.first().copied().unwrap_or("PEM");
            return Err(PemError::TooManyBlocks { label, max });
        }
        let body: Vec<u8> = input
            .get(body_start..body_start + body_len)
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        let der = LAX_BASE64.decode(&body).map_err(|_| PemError::BadBase64 {
            label,
            offset: begin,
        })?;
        out.push(der);
    }
    Ok(out)
}

/// Encodes `der` as a PEM block with 64-character lines.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_found_among_text_and_other_labels() {
        let text = format!(
            "subject=CN=x\r\n{}junk\n{}\n{}",
            encode("CERTIFICATE", &[1, 2, 3]),
            encode("PRIVATE KEY", &[9]),
            encode("CERTIFICATE", &[4; 100]).replace('\n', "\r\n  "),
        );
        let blocks = decode_blocks(text.as_bytes(), &["CERTIFICATE"], 10).unwrap();
        assert_eq!(blocks, vec![vec![1, 2, 3], vec![4; 100]]);
        assert!(looks_like_pem(text.as_bytes()));
        assert!(!looks_like_pem(&[0x30, 0x82]));
    }

    #[test]
    fn broken_blocks_are_errors() {
        let one = encode("CERTIFICATE", &[1]);
        assert!(matches!(
            decode_blocks(
                one.replace("-----END CERTIFICATE-----", "").as_bytes(),
                &["CERTIFICATE"],
                4
            ),
            Err(PemError::Unterminated { .. })
        ));
        assert!(matches!(
            decode_blocks(one.replace("AQ", "A!").as_bytes(), &["CERTIFICATE"], 4),
            Err(PemError::BadBase64 { .. })
        ));
        assert!(matches!(
            decode_blocks(b"-----BEGIN CERTIFICATE\nAQ==\n", &["CERTIFICATE"], 4),
            Err(PemError::BadBeginLine { .. })
        ));
        let three = one.repeat(3);
        assert_eq!(
            decode_blocks(three.as_bytes(), &["CERTIFICATE"], 2),
            Err(PemError::TooManyBlocks {
                label: "CERTIFICATE",
                max: 2
            })
        );
        assert_eq!(
            decode_blocks(b"no pem here", &["CERTIFICATE"], 2),
            Ok(vec![])
        );
    }
}
