//! Tenants, users and the password policy (等保 level 3, identity a).

use serde::{Deserialize, Serialize};

/// What a tenant is in the operation modes of clause 5 (M.a–M.c).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TenantKind {
    /// The operator of the platform: a self-run SOC, or the provider of a joint/managed SOC.
    Provider,
    /// An organisation served by the provider.
    Customer,
}

impl TenantKind {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            TenantKind::Provider => "provider",
            TenantKind::Customer => "customer",
        }
    }

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<TenantKind> {
        match s {
            "provider" => Some(TenantKind::Provider),
            "customer" => Some(TenantKind::Customer),
            _ => None,
        }
    }
}

/// An organisation whose data is kept apart from every other's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tenant {
    /// Identifier.
    pub id: String,
    /// Short unique name (`[a-z0-9-]`), used in the CLI and the `X-Tenant` header.
    pub name: String,
    /// Name shown to people.
    pub display_name: String,
    /// Provider or customer.
    pub kind: TenantKind,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
}

/// A person (or service account) who signs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    /// Identifier.
    pub id: String,
    /// Unique sign-in name.
    pub username: String,
    /// Name shown to people.
    pub display_name: String,
    /// The tenant that created and administers the account.
    pub home_tenant_id: String,
    /// Failed sign-ins since the last success.
    pub failed_logins: i64,
    /// Locked until this time (RFC 3339 UTC), if locked.
    pub locked_until: Option<String>,
    /// A disabled account cannot sign in and its credentials stop working.
    pub disabled: bool,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
    /// Last successful sign-in, RFC 3339 UTC.
    pub last_login_at: Option<String>,
}

/// Why a password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    /// Fewer than 12 characters.
    #[error("password must be at least 12 characters long")]
    TooShort,
    /// Fewer than three of: lower case, upper case, digits, other characters.
    #[error(
        "password must mix at least 3 of: lower-case letters, upper-case letters, digits, symbols"
    )]
    TooFewClasses,
    /// Longer than any password a person types; refused so hashing cannot be abused.
    #[error("password must be at most 256 characters long")]
    TooLong,
}

/// Minimum password length.
pub const PASSWORD_MIN_LEN: usize = 12;

/// Checks the password policy: at least 12 characters with 3 of 4 character classes.
pub fn check_password_policy(password: &str) -> Result<(), PasswordPolicyError> {
    let len = password.chars().count();
    if len < PASSWORD_MIN_LEN {
        return Err(PasswordPolicyError::TooShort);
    }
    if len > 256 {
        return Err(PasswordPolicyError::TooLong);
    }
    let has = |f: fn(&char) -> bool| password.chars().any(|c| f(&c));
    let classes = [
        has(|c| c.is_lowercase()),
        has(|c| c.is_uppercase()),
        has(|c| c.is_ascii_digit()),
        has(|c| !c.is_alphanumeric()),
    ];
    if classes.iter().filter(|&&b| b).count() < 3 {
        return Err(PasswordPolicyError::TooFewClasses);
    }
    Ok(())
}

/// Checks a tenant name: 2–40 of `a-z`, `0-9`, `-`, starting with a letter.
pub fn check_tenant_name(name: &str) -> Result<(), String> {
    let ok = (2..=40).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!("tenant name `{name}` must be 2–40 characters of a-z, 0-9 and '-', starting with a letter"))
    }
}

/// Checks a username: 2–64 of `A-Za-z0-9._-@`, starting with a letter or digit.
pub fn check_username(name: &str) -> Result<(), String> {
    let ok = (2..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "username `{name}` must be 2–64 characters of letters, digits, '.', '_', '-', '@'"
        ))
    }
}

/// Checks a display name: 1–100 characters, no control characters.
pub fn check_display_name(name: &str) -> Result<(), String> {
    let n = name.chars().count();
    if (1..=100).contains(&n) && !name.chars().any(char::is_control) {
        Ok(())
    } else {
        Err("display name must be 1–100 characters without control characters".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy() {
        assert_eq!(
            check_password_policy("Short1!"),
            Err(PasswordPolicyError::TooShort)
        );
        assert_eq!(
            check_password_policy("alllowercaseletters"),
            Err(PasswordPolicyError::TooFewClasses)
        );
        assert_eq!(
            check_password_policy("lowerandUPPERonly"),
            Err(PasswordPolicyError::TooFewClasses)
        );
        assert!(check_password_policy("lowerUPPER12345").is_ok());
        assert!(check_password_policy("lower-and-digits-123").is_ok());
        assert!(check_password_policy("云守安全运维平台Aa1!").is_ok());
        assert_eq!(
            check_password_policy(&"Aa1!".repeat(65)),
            Err(PasswordPolicyError::TooLong)
        );
    }

    #[test]
    fn names() {
        assert!(check_tenant_name("sz-egov").is_ok());
        assert!(check_tenant_name("Bad Name").is_err());
        assert!(check_tenant_name("-x").is_err());
        assert!(check_username("zhang.wei").is_ok());
        assert!(check_username("a b").is_err());
        assert!(check_display_name("张伟").is_ok());
        assert!(check_display_name("x\u{7}").is_err());
    }
}
