-- Floor of the "user" scenario: query { user(id) { … } } by a signed-in user.
-- Variables (-D): users. Ids are bench_uuid(kind, n); see examples/loadgen/dataset.rs.
\set u random(1, :users)
\set t random(1, :users)
-- The server sends these two together (a pipeline: a query's first read
-- rides on the connection of its sign-in check, src/graphql/gateway.rs), with a Sync after
-- each, so each is a transaction of its own. pgbench 15 pipelines only up to one Sync, which
-- makes them one transaction (\syncpipeline came in PostgreSQL 17): less work than the
-- server's, so the floor sends them one after the other, as two transactions (BENCHMARKS.md
-- measured the one-transaction pipeline too).
-- Every authenticated request: accounts::confirm -> user::active_role_for_token.
SELECT users.role FROM (users INNER JOIN token_families ON token_families.user_id = users.id)
 WHERE users.id = bench_uuid(1, :u) AND users.deactivated_at IS NULL
   AND token_families.id = bench_uuid(3, :u) AND token_families.revoked_at IS NULL
 LIMIT 1;
-- accounts::get_user -> user::find
SELECT users.id, users.username, users.display_name, users.location, users.avatar_key, users.role, users.created_at, users.updated_at, users.deactivated_at
  FROM users WHERE users.id = bench_uuid(1, :t) LIMIT 1;
