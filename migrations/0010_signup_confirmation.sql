-- 0010: creating an account waits for a link sent to its email address. Until now sign-up (and
-- creating an account from an invitation) answered differently for an address that already had
-- an account, which told anyone whether an address was registered. Now every request is answered
-- "check your inbox": a new address gets a link that finishes the account, a registered one gets
-- a note that it already has an account.

-- One row per request, until its link is used or expires. The password is stored as its hash (the
-- same scrypt format as app.users), the link only as its sha256. Owner only: nobody is signed in
-- or scoped to an organisation while these are read.
CREATE TABLE app.signup_requests (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 320),
  display_name text NOT NULL CHECK (length(btrim(display_name)) BETWEEN 1 AND 200),
  password_hash text NOT NULL,
  -- Exactly one of: the organisation to create with the account, or the invitation to accept.
  organisation_name text CHECK (organisation_name IS NULL OR length(btrim(organisation_name)) BETWEEN 1 AND 200),
  invitation_id uuid REFERENCES app.invitations (id) ON DELETE CASCADE,
  token_hash bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  CONSTRAINT signup_requests_token_hash_key UNIQUE (token_hash),
  CONSTRAINT signup_requests_one_purpose CHECK ((organisation_name IS NULL) <> (invitation_id IS NULL))
);
-- Pruning spent and expired requests (core/ops/housekeeping.ts).
CREATE INDEX signup_requests_expires_at_idx ON app.signup_requests (expires_at);
CREATE INDEX signup_requests_invitation_id_idx ON app.signup_requests (invitation_id) WHERE invitation_id IS NOT NULL;

-- As every tenant-adjacent table since 0009: RLS forced, the owner's access explicit, gpt_app none.
ALTER TABLE app.signup_requests ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
DO $$
BEGIN
  EXECUTE format('CREATE POLICY operator_all ON app.signup_requests TO %I USING (true) WITH CHECK (true)', current_user);
END
$$;
REVOKE ALL ON app.signup_requests FROM PUBLIC, gpt_app;
