//! One module per report format. Each exposes `parse(input, out)`, sending items through
//! [`crate::emit::Out`] as they complete.

pub(crate) mod masscan;
pub(crate) mod nessus;
pub(crate) mod nexpose;
pub(crate) mod nmap;
pub(crate) mod nuclei;
pub(crate) mod openvas_csv;
pub(crate) mod openvas_xml;
pub(crate) mod qualys;
pub(crate) mod sarif;
pub(crate) mod template;
pub(crate) mod trivy;
pub(crate) mod wazuh;

use std::io::BufRead;

use serde::de::DeserializeOwned;

use crate::emit::Out;
use crate::ParseError;

/// Reads a whole JSON document into `T`; a syntax or shape error names its line, column and
/// the path to the offending value (`Results[3].Vulnerabilities[7].Severity`).
pub(crate) fn read_json<T: DeserializeOwned, E>(
    input: &mut dyn BufRead,
    out: &Out<E>,
) -> Result<T, ParseError<E>> {
    let de = &mut serde_json::Deserializer::from_reader(input);
    let value: T = serde_path_to_error::deserialize(&mut *de).map_err(|e| json_error(out, &e))?;
    de.end().map_err(|e| {
        out.invalid(
            format!("line {} column {}", e.line(), e.column()),
            format!("content after the JSON document: {e}"),
        )
    })?;
    Ok(value)
}

pub(crate) fn json_error<E>(
    out: &Out<E>,
    e: &serde_path_to_error::Error<serde_json::Error>,
) -> ParseError<E> {
    let inner = e.inner();
    let path = e.path().to_string();
    let position = if path == "." || path.is_empty() {
        format!("line {} column {}", inner.line(), inner.column())
    } else {
        format!("line {} column {} ({path})", inner.line(), inner.column())
    };
    let reason = if inner.is_eof() {
        format!("the file ends inside the JSON document: it is truncated ({inner})")
    } else {
        inner.to_string()
    };
    out.invalid(position, reason)
}
