-- Each person record's number: the sequence of the event that first imported it, kept when the
-- record changes. Deduplication runs name the pairs they link by these numbers (millions of
-- pairs, too many to write as rows of text keys); see MachinePair in frontdoor-core.
ALTER TABLE person_records ADD COLUMN num BIGINT;
UPDATE person_records SET num = seq;
CREATE UNIQUE INDEX person_records_num ON person_records (num);
