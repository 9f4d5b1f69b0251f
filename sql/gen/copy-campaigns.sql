-- gen/copy-campaigns: writes W/campaigns/campaigns.parquet.
-- Parameters: none. Fragments: {{path}} target file.
-- Output: the contract columns of campaigns (docs/world-schema.md), prio dropped.
-- Grain: one row per campaign, sorted by campaign_id.
COPY (SELECT * EXCLUDE (prio) FROM campaigns_core ORDER BY campaign_id)
TO {{path}} (FORMAT parquet, COMPRESSION zstd, PRESERVE_ORDER true);
