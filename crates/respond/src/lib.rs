//! The respond stage's rules, no I/O: incident classes and levels (GB/T 20986-2023), the
//! seven phases with the records each requires, emergency plan templates, response metrics.
