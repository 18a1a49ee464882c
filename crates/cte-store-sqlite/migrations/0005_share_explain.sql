-- "Why is X on list Y": each share status remembers the rule and list of the push that set it and
-- when that push was acknowledged. Rows written before this migration have NULLs.

ALTER TABLE source_destinations ADD COLUMN rule TEXT;
ALTER TABLE source_destinations ADD COLUMN list_tenant TEXT;
ALTER TABLE source_destinations ADD COLUMN list_kind TEXT;
ALTER TABLE source_destinations ADD COLUMN list_name TEXT;
ALTER TABLE source_destinations ADD COLUMN updated_at INTEGER;
