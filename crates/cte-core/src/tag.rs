//! Tags: named, coloured labels that sources put on IoCs. A tag must exist before it is used.

/// A tag (CE's `TagIn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Unique name, 1..=500 characters, no surrounding white space.
    pub name: String,
    /// Display colour, e.g. `#969696`.
    pub color: String,
}

/// Whether a tag is on none, some or all of a set of indicators (CE's `appliedOn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AppliedOn {
    /// On none of them.
    None,
    /// On some of them.
    Some,
    /// On every one of them (and there is at least one).
    All,
}

impl AppliedOn {
    /// From the count of indicators carrying the tag and the count of indicators in the set.
    pub fn from_counts(with_tag: u64, total: u64) -> AppliedOn {
        if with_tag == 0 {
            AppliedOn::None
        } else if with_tag >= total {
            AppliedOn::All
        } else {
            AppliedOn::Some
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AppliedOn::None => "none",
            AppliedOn::Some => "some",
            AppliedOn::All => "all",
        }
    }
}

/// Checks and trims a tag name as CE does (`TagIn.name`: stripped, 1..=500 characters).
pub fn normalize_tag_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    match name.chars().count() {
        0 => Err("Tag name must not be empty.".into()),
        n if n > 500 => Err(format!(
            "Tag name is {n} characters long; the limit is 500."
        )),
        _ => Ok(name.to_string()),
    }
}
