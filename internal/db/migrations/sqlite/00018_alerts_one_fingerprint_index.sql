-- +goose Up
-- One index keyed by fingerprint instead of two. Fingerprints are hashes,
-- so every new alert lands on a random page of each index keyed by them;
-- under a storm of new alerts those pages were most of what a commit
-- wrote. The unique index holds every alert of a fingerprint — the open
-- one with 1 in its second column, resolved ones with NULL, which a
-- unique index lets repeat — so it still allows at most one open (firing)
-- alert per fingerprint, and also finds a fingerprint's resolved alerts
-- (the history lookups of the old (fingerprint, starts_at) index).
CREATE UNIQUE INDEX alerts_fingerprint_open ON alerts(fingerprint, (CASE WHEN status = 'firing' THEN 1 END));
DROP INDEX alerts_open_fingerprint;
DROP INDEX alerts_fingerprint;

-- +goose Down
CREATE UNIQUE INDEX alerts_open_fingerprint ON alerts(fingerprint) WHERE status = 'firing';
CREATE INDEX alerts_fingerprint ON alerts(fingerprint, starts_at);
DROP INDEX alerts_fingerprint_open;
