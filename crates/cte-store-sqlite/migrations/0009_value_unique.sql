-- Values are unique by the database's own rule again, not only because the store's code looks a
-- value up before inserting it (issue 22). 0007 dropped the UNIQUE index on indicators.value: an
-- ingest batch inserted its values at random places of that index, which grows with the store
-- and was the largest of the indexes every commit rewrote. Triggers enforce the rule instead,
-- through the key tiers that lookups already use (docs/PERFORMANCE.md, change 26, has what each
-- design costs):
--
-- - a new row whose value is stored already is refused, whoever inserts it;
-- - every new row gets its tier-1 entry in value_keys from a trigger, so no writer can leave a
--   row out of the lookups by forgetting it;
-- - a row's id, value and value_key never change, so its entry stays right.
--
-- The triggers RAISE(ROLLBACK), and the store's own INSERT says OR FAIL: a statement that fires a
-- trigger and may ABORT keeps a statement journal (a copy of every page it changes, to undo the
-- statement alone), which made each insert three times as expensive. value_key must be
-- cte_value_key(value) (src/value_key.rs); the triggers cannot check it, since calling a function
-- counts as "may abort" too.
--
-- value_keys is filled again from indicators (merged into tier 0, as 0008 left it), so that a row
-- an earlier writer left without its entry is found from here on; building a UNIQUE index once
-- and dropping it makes this migration fail on a database that holds a value twice.

CREATE UNIQUE INDEX indicators_value_check ON indicators(value);
DROP INDEX indicators_value_check;

DELETE FROM value_keys;
INSERT INTO value_keys (tier, key, id)
    SELECT 0, value_key, id FROM indicators ORDER BY value_key, id;

-- One EXISTS per tier: with `k.tier IN (0, 1)` every run of the trigger first built a table of
-- the two tiers, and the check cost twice as much.
CREATE TRIGGER indicators_value_unique BEFORE INSERT ON indicators
WHEN EXISTS (SELECT 1 FROM value_keys AS k CROSS JOIN indicators AS i ON i.id = k.id
             WHERE k.tier = 0 AND k.key = NEW.value_key AND i.value = NEW.value)
  OR EXISTS (SELECT 1 FROM value_keys AS k CROSS JOIN indicators AS i ON i.id = k.id
             WHERE k.tier = 1 AND k.key = NEW.value_key AND i.value = NEW.value)
BEGIN
    SELECT RAISE(ROLLBACK, 'UNIQUE constraint failed: indicators.value');
END;

CREATE TRIGGER indicators_value_keys_insert AFTER INSERT ON indicators BEGIN
    INSERT INTO value_keys (tier, key, id) VALUES (1, NEW.value_key, NEW.id);
END;

CREATE TRIGGER indicators_value_fixed BEFORE UPDATE OF id, value, value_key ON indicators BEGIN
    SELECT RAISE(ROLLBACK, 'indicators.id, value and value_key do not change');
END;
