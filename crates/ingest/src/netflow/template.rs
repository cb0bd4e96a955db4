//! Templates (NetFlow v9 flowsets 0/1, IPFIX sets 2/3) and reading the data records they
//! describe.

use super::wire::{DecodeError, Reader};

/// Most fields a template may have. Real exporters use a few dozen; the limit bounds the
/// memory a hostile sender can make the collector hold.
pub const MAX_FIELDS: usize = 512;

/// One field of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FieldSpec {
    /// Information element id (without the IPFIX enterprise bit).
    pub ie: u16,
    /// Length in bytes; `None` for an IPFIX variable-length field.
    pub len: Option<u16>,
    /// Private enterprise number; 0 for IANA elements.
    pub enterprise: u32,
}

/// A template: the layout of the data records that name its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    /// The fields, scope fields first for an options template.
    pub fields: Vec<FieldSpec>,
    /// An options template (its records describe the exporter, not flows).
    pub options: bool,
    /// The shortest record the template allows: padding at the end of a set is shorter.
    pub min_len: usize,
}

impl Template {
    fn new(id: u16, fields: Vec<FieldSpec>, options: bool) -> Result<Template, DecodeError> {
        let min_len = fields
            .iter()
            .map(|f| f.len.map_or(1, usize::from))
            .sum::<usize>();
        if min_len == 0 {
            // A record of zero bytes would let one set hold endless records.
            return Err(DecodeError::Template {
                id,
                why: "its records would be empty",
            });
        }
        Ok(Template {
            fields,
            options,
            min_len,
        })
    }
}

/// What a template record said.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TemplateRecord {
    /// Define (or redefine) a template.
    Define(u16, Template),
    /// IPFIX withdrawal of one template (field count 0).
    Withdraw(u16),
}

fn check_id(id: u16) -> Result<(), DecodeError> {
    if id < 256 {
        return Err(DecodeError::Template {
            id,
            why: "template ids start at 256",
        });
    }
    Ok(())
}

fn check_count(id: u16, n: usize) -> Result<(), DecodeError> {
    if n > MAX_FIELDS {
        return Err(DecodeError::Template {
            id,
            why: "more fields than the collector accepts",
        });
    }
    Ok(())
}

/// Parses a NetFlow v9 template flowset's body (flowset id 0).
pub(crate) fn v9_templates(mut body: Reader) -> Result<Vec<TemplateRecord>, DecodeError> {
    let mut out = Vec::new();
    // Fewer than 4 bytes left is padding to a 32-bit boundary.
    while body.remaining() >= 4 {
        let id = body.u16("v9 template id")?;
        let count = usize::from(body.u16("v9 field count")?);
        check_id(id)?;
        check_count(id, count)?;
        if count == 0 {
            return Err(DecodeError::Template {
                id,
                why: "no fields",
            });
        }
        let mut fields = Vec::with_capacity(count);
        for _ in 0..count {
            fields.push(FieldSpec {
                ie: body.u16("v9 field type")?,
                len: Some(body.u16("v9 field length")?),
                enterprise: 0,
            });
        }
        out.push(TemplateRecord::Define(
            id,
            Template::new(id, fields, false)?,
        ));
    }
    Ok(out)
}

/// Parses a NetFlow v9 options template flowset's body (flowset id 1).
pub(crate) fn v9_options(mut body: Reader) -> Result<Vec<TemplateRecord>, DecodeError> {
    let mut out = Vec::new();
    while body.remaining() >= 6 {
        let id = body.u16("v9 options template id")?;
        let scope_len = usize::from(body.u16("v9 option scope length")?);
        let option_len = usize::from(body.u16("v9 option length")?);
        check_id(id)?;
        if scope_len % 4 != 0 || option_len % 4 != 0 {
            return Err(DecodeError::Template {
                id,
                why: "scope and option lengths must be multiples of 4",
            });
        }
        let count = (scope_len + option_len) / 4;
        check_count(id, count)?;
        let mut fields = Vec::with_capacity(count);
        for _ in 0..count {
            fields.push(FieldSpec {
                ie: body.u16("v9 option field type")?,
                len: Some(body.u16("v9 option field length")?),
                enterprise: 0,
            });
        }
        out.push(TemplateRecord::Define(id, Template::new(id, fields, true)?));
    }
    Ok(out)
}

fn ipfix_fields(body: &mut Reader, id: u16, count: usize) -> Result<Vec<FieldSpec>, DecodeError> {
    check_count(id, count)?;
    let mut fields = Vec::with_capacity(count);
    for _ in 0..count {
        let raw = body.u16("IPFIX field id")?;
        let len = body.u16("IPFIX field length")?;
        let enterprise = if raw & 0x8000 != 0 {
            body.u32("IPFIX enterprise number")?
        } else {
            0
        };
        fields.push(FieldSpec {
            ie: raw & 0x7fff,
            len: (len != 0xffff).then_some(len),
            enterprise,
        });
    }
    Ok(fields)
}

/// Parses an IPFIX template set (`options` false, set id 2) or options template set (set
/// id 3).
pub(crate) fn ipfix_templates(
    mut body: Reader,
    options: bool,
) -> Result<Vec<TemplateRecord>, DecodeError> {
    let mut out = Vec::new();
    while body.remaining() >= 4 {
        let id = body.u16("IPFIX template id")?;
        let count = usize::from(body.u16("IPFIX field count")?);
        if count == 0 {
            // Withdrawal: the set's own id (2, or 3 in an options set) withdraws all
            // templates of its kind, which the caller handles by id.
            let all = if options { 3 } else { 2 };
            if id != all {
                check_id(id)?;
            }
            out.push(TemplateRecord::Withdraw(id));
            continue;
        }
        check_id(id)?;
        if options {
            let scope = usize::from(body.u16("IPFIX scope field count")?);
            if scope == 0 || scope > count {
                return Err(DecodeError::Template {
                    id,
                    why: "an options template needs 1 to field-count scope fields",
                });
            }
        }
        let fields = ipfix_fields(&mut body, id, count)?;
        out.push(TemplateRecord::Define(
            id,
            Template::new(id, fields, options)?,
        ));
    }
    Ok(out)
}

/// Reads the records of a data set or flowset: calls `each` with every record's fields and
/// their values. Stops at padding (less than a record left).
pub(crate) fn records<'a>(
    template: &Template,
    mut body: Reader<'a>,
    mut each: impl FnMut(&[(FieldSpec, &'a [u8])]),
) -> Result<(), DecodeError> {
    let mut values = Vec::with_capacity(template.fields.len());
    while body.remaining() >= template.min_len {
        values.clear();
        for f in &template.fields {
            let len = match f.len {
                Some(n) => usize::from(n),
                None => match body.u8("IPFIX variable length")? {
                    // The long form: 255 then a 16-bit length.
                    255 => usize::from(body.u16("IPFIX long variable length")?),
                    n => usize::from(n),
                },
            };
            values.push((*f, body.take(len, "data record field")?));
        }
        each(&values);
    }
    Ok(())
}
