-- Migration 16: a check a pipelined update can carry. An update whose before-image the
-- server already knows (the item it wrote last) sends its UPDATE … WHERE version = v
-- without first reading the row; the statement after it must fail the transaction
-- when no row matched, because nobody waits for the UPDATE's answer before COMMIT.

-- statement on postgres
-- Raises serialization_failure (40001), the code that means "redo the transaction",
-- unless exactly one row was written.
CREATE FUNCTION smartcrm_expect_one_row(n BIGINT) RETURNS void AS $$
BEGIN
	IF n <> 1 THEN
		RAISE EXCEPTION 'the item changed since the server last wrote it' USING ERRCODE = '40001';
	END IF;
END
$$ LANGUAGE plpgsql
