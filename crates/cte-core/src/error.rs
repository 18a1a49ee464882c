//! Errors of the storage port.

/// A boxed error from an adapter, kept for logs.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a [`crate::store::Store`] call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The thing named does not exist; the message says which, in words fit for a user.
    #[error("{0}")]
    NotFound(String),
    /// The write would break a uniqueness rule; the message says which.
    #[error("{0}")]
    Conflict(String),
    /// The request is well-formed but refers to something unusable (e.g. an unknown tag).
    #[error("{0}")]
    Invalid(String),
    /// The store itself failed (IO, corruption, a bug).
    #[error("storage failure: {0}")]
    Unavailable(#[source] BoxError),
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// How many characters of a client's input an error message repeats.
pub const ECHO_LIMIT: usize = 200;

/// `input` as an error message may repeat it: whole when it has at most [`ECHO_LIMIT`]
/// characters, else its first ones and how long it was, so a huge bad value cannot make a huge
/// error answer.
pub fn echo(input: &str) -> std::borrow::Cow<'_, str> {
    match input.char_indices().nth(ECHO_LIMIT) {
        None => std::borrow::Cow::Borrowed(input),
        Some((cut, _)) => std::borrow::Cow::Owned(format!(
            "{}… ({} characters)",
            &input[..cut],
            input.chars().count()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_keeps_short_input_and_cuts_long_input_on_a_character() {
        assert_eq!(echo("evil.example"), "evil.example");
        let exact = "é".repeat(ECHO_LIMIT);
        assert_eq!(echo(&exact), exact.as_str());
        let long = format!("{exact}xyz");
        assert_eq!(echo(&long), format!("{exact}… (203 characters)"));
        let huge = "a".repeat(16 << 20);
        assert!(echo(&huge).len() < 250);
    }
}
