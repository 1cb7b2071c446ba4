-- The times moved forward by the up migration are not moved back (nothing depends on the old ones).
SELECT 1;
