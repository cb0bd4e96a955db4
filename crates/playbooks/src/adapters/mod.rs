//! The adapters that carry out rendered steps: ssh commands, HTTP requests, notices.

pub(crate) mod http;
pub(crate) mod notify;
pub(crate) mod ssh;
