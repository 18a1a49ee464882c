//! CE's names for the fields of an indicator document (`value`, `sources.lastSeen`): the one
//! vocabulary that list sorts ([`crate::query::SortKey`]) and dashboard groups
//! ([`crate::dashboard::GroupKey`]) take their allowed subsets from, and that a store maps to
//! where it keeps each field.

/// A field of an indicator document or of one of its source records, by CE's path.
///
/// Tags, destinations and the other list fields are not here: no sort or group takes them, and
/// a store keeps them as rows of their own rather than as one value per document or record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// `value`
    Value,
    /// `type`
    Type,
    /// `sources.source`
    Source,
    /// `sources.comments`
    Comments,
    /// `test`
    Test,
    /// `active`
    Active,
    /// `internalHits` (the indicator's total)
    InternalHits,
    /// `externalHits` (the indicator's total)
    ExternalHits,
    /// `sources.reputation`
    Reputation,
    /// `sources.firstSeen`
    FirstSeen,
    /// `sources.severity`
    Severity,
    /// `sources.lastSeen`
    LastSeen,
    /// `expiresAt`
    ExpiresAt,
    /// `safe`
    Safe,
    /// `sharedWith`
    SharedWith,
    /// `sources.extendedInformation`
    ExtendedInformation,
    /// `sources.internalHits` (this source's share)
    SourceInternalHits,
    /// `sources.externalHits` (this source's share)
    SourceExternalHits,
    /// `sources.retracted`
    Retracted,
}

impl Field {
    /// The fields CE lets `GET /api/cte/indicators/` sort by, in CE's order (see
    /// [`crate::query::SortKey`]).
    pub(crate) const SORTABLE: [Field; 13] = [
        Field::Value,
        Field::Type,
        Field::Source,
        Field::Comments,
        Field::Test,
        Field::Active,
        Field::InternalHits,
        Field::ExternalHits,
        Field::Reputation,
        Field::FirstSeen,
        Field::Severity,
        Field::LastSeen,
        Field::ExpiresAt,
    ];

    /// The fields only filters test.
    const UNSORTABLE: [Field; 6] = [
        Field::Safe,
        Field::SharedWith,
        Field::ExtendedInformation,
        Field::SourceInternalHits,
        Field::SourceExternalHits,
        Field::Retracted,
    ];

    /// Every field: those lists sort by, in CE's order, then the others.
    pub fn all() -> impl Iterator<Item = Field> {
        Field::SORTABLE.into_iter().chain(Field::UNSORTABLE)
    }

    /// CE's path of the field (`sources.lastSeen`).
    pub fn as_param(self) -> &'static str {
        match self {
            Field::Value => "value",
            Field::Type => "type",
            Field::Source => "sources.source",
            Field::Comments => "sources.comments",
            Field::Test => "test",
            Field::Active => "active",
            Field::InternalHits => "internalHits",
            Field::ExternalHits => "externalHits",
            Field::Reputation => "sources.reputation",
            Field::FirstSeen => "sources.firstSeen",
            Field::Severity => "sources.severity",
            Field::LastSeen => "sources.lastSeen",
            Field::ExpiresAt => "expiresAt",
            Field::Safe => "safe",
            Field::SharedWith => "sharedWith",
            Field::ExtendedInformation => "sources.extendedInformation",
            Field::SourceInternalHits => "sources.internalHits",
            Field::SourceExternalHits => "sources.externalHits",
            Field::Retracted => "sources.retracted",
        }
    }

    /// The field with CE's path `s`; `None` for any other text.
    pub fn from_param(s: &str) -> Option<Field> {
        Field::all().find(|f| f.as_param() == s)
    }

    /// The last segment of the path (`lastSeen`), which names the field inside a source record
    /// and in a dashboard group's `_id`.
    pub fn name(self) -> &'static str {
        let p = self.as_param();
        p.rsplit('.').next().unwrap_or(p)
    }

    /// Whether the field belongs to a source record rather than to the indicator.
    pub fn is_per_source(self) -> bool {
        self.as_param().starts_with("sources.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::GroupKey;
    use crate::query::SortKey;

    #[test]
    fn every_field_is_found_by_its_own_path_only() {
        for f in Field::all() {
            assert_eq!(Field::from_param(f.as_param()), Some(f));
        }
        let mut paths: Vec<&str> = Field::all().map(Field::as_param).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), Field::all().count());
        for other in ["", "lastSeen", "sources", "sources.tags", "Value", "value "] {
            assert_eq!(Field::from_param(other), None, "{other:?}");
        }
    }

    #[test]
    fn names_and_levels_come_from_the_path() {
        assert_eq!(Field::LastSeen.name(), "lastSeen");
        assert_eq!(Field::SourceInternalHits.name(), "internalHits");
        assert_eq!(Field::InternalHits.name(), "internalHits");
        assert!(Field::SourceInternalHits.is_per_source());
        assert!(!Field::InternalHits.is_per_source());
        assert!(!Field::ExpiresAt.is_per_source());
    }

    /// CE's lists: `sort` takes these 13 paths, `group_by` the same but `sources.severity`.
    #[test]
    fn sorts_and_groups_take_their_subsets() {
        let sortable: Vec<&str> = SortKey::all().map(|k| k.field().as_param()).collect();
        assert_eq!(
            sortable.join(" "),
            "value type sources.source sources.comments test active internalHits externalHits \
             sources.reputation sources.firstSeen sources.severity sources.lastSeen expiresAt"
        );
        let groupable: Vec<&str> = GroupKey::all().map(|k| k.field().as_param()).collect();
        let mut expected = sortable.clone();
        expected.retain(|p| *p != "sources.severity");
        assert_eq!(groupable, expected);
        for f in Field::all() {
            let sorts = sortable.contains(&f.as_param());
            assert_eq!(SortKey::new(f).is_some(), sorts, "{f:?}");
            assert_eq!(SortKey::from_param(f.as_param()).is_some(), sorts, "{f:?}");
            let groups = groupable.contains(&f.as_param());
            assert_eq!(GroupKey::new(f).is_some(), groups, "{f:?}");
            assert_eq!(
                GroupKey::from_param(f.as_param()).is_some(),
                groups,
                "{f:?}"
            );
        }
        assert_eq!(
            SortKey::from_param("sources.severity").map(SortKey::field),
            Some(Field::Severity)
        );
    }
}
