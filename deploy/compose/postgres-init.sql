-- Runs once, when the postgres service initialises its volume, as the owner role (POSTGRES_USER, cfg_owner).
-- The gateways log in as `gateway`, a member of cfg_gateway (docs/operators.md#postgresql): they may append to
-- the log but never rewrite it. Migration 2 grants cfg_gateway its privileges and accepts that the role exists.
-- The password is for trying on one machine only.
CREATE ROLE cfg_gateway NOLOGIN;
CREATE ROLE gateway LOGIN PASSWORD 'gateway' IN ROLE cfg_gateway;
