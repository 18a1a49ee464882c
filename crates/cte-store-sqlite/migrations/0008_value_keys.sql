-- Value keys move out of `indicators` into a table of their own, in two tiers (src/value_key.rs).
-- With one index on indicators(value_key), every ingest batch inserted its 10,000 keys at random
-- places of an index that grows with the store, and each commit rewrote nearly all of its pages:
-- the writer's time per batch rose by half from the first 100,000 IoCs to the millionth. New keys
-- now go into tier 1, which stays small; the writer merges tier 1 into tier 0 in key order, one
-- slice of the key space after each batch (value_key.rs). Lookups probe both tiers
-- (`tier IN (0, 1) AND key = ?`).
--
-- `indicators.value_key` stays as the row's own copy (a deleted row's entry is found from it).
-- Inserts add the entry in the same statement batch as the row (store code: a trigger on insert
-- made each INSERT keep a statement journal, three times slower); deletes take it away by trigger.

CREATE TABLE value_keys (
    tier INTEGER NOT NULL,   -- 0: merged, 1: recent
    key  INTEGER NOT NULL,   -- cte_value_key(value)
    id   INTEGER NOT NULL,   -- indicators.id
    PRIMARY KEY (tier, key, id)
) WITHOUT ROWID;
INSERT INTO value_keys (tier, key, id)
    SELECT 0, value_key, id FROM indicators ORDER BY value_key, id;
DROP INDEX indicators_value_key;

CREATE TRIGGER indicators_value_keys_delete AFTER DELETE ON indicators BEGIN
    DELETE FROM value_keys WHERE tier IN (0, 1) AND key = old.value_key AND id = old.id;
END;
