-- 0001: extensions, schemas, the application role, organisations and users, row-level security.
--
-- Tenancy rule: every table that carries org_id has row-level security, and the application
-- queries as gpt_app, a role that owns nothing and cannot bypass RLS. The policies read the
-- transaction-local setting app.org_id (set by core/db/org-scope.ts withOrg), so a connection with
-- no organisation set sees no tenant rows at all.

CREATE EXTENSION IF NOT EXISTS vector;   -- embeddings for the knowledge base
CREATE EXTENSION IF NOT EXISTS pg_trgm;  -- fuzzy text search in payloads, names and documents

CREATE SCHEMA IF NOT EXISTS app;  -- tenant data; RLS on every table with org_id
CREATE SCHEMA IF NOT EXISTS ops;  -- operator views, functions and metric tables

-- Roles are cluster-wide, so another database on the same server may already have created it.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gpt_app') THEN
    CREATE ROLE gpt_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END
$$;

-- The connecting user switches into gpt_app at session start (`-c role=gpt_app`), which needs membership.
GRANT gpt_app TO CURRENT_USER;

-- The organisation the current transaction is scoped to, or NULL when none is set.
-- The second argument of current_setting makes an unset value NULL instead of an error.
CREATE FUNCTION app.current_org_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('app.org_id', true), '')::uuid $$;

CREATE TABLE app.organisations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  slug text NOT NULL CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT organisations_slug_key UNIQUE (slug)
);

CREATE TABLE app.users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 320),
  display_name text CHECK (display_name IS NULL OR length(display_name) <= 200),
  password_hash text,  -- set by the web app's accounts; NULL for users who cannot sign in yet
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- One account per address whatever its letter case.
CREATE UNIQUE INDEX users_email_lower_key ON app.users (lower(email));

CREATE TABLE app.memberships (
  org_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES app.users (id) ON DELETE CASCADE,
  role text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, user_id)
);
-- "Which organisations does this user belong to" (organisation switcher, sign-in).
CREATE INDEX memberships_user_id_idx ON app.memberships (user_id);

ALTER TABLE app.organisations ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.memberships ENABLE ROW LEVEL SECURITY;

CREATE POLICY organisations_current_org ON app.organisations
  USING (id = app.current_org_id())
  WITH CHECK (id = app.current_org_id());

CREATE POLICY memberships_current_org ON app.memberships
  USING (org_id = app.current_org_id())
  WITH CHECK (org_id = app.current_org_id());

-- Users carry no org_id: a user is visible to an organisation they are a member of.
-- (The memberships subquery is itself filtered by its own policy to the current organisation.)
CREATE POLICY users_visible_to_member_org ON app.users
  FOR SELECT
  USING (EXISTS (SELECT 1 FROM app.memberships m WHERE m.user_id = users.id AND m.org_id = app.current_org_id()));
CREATE POLICY users_update_member_org ON app.users
  FOR UPDATE
  USING (EXISTS (SELECT 1 FROM app.memberships m WHERE m.user_id = users.id AND m.org_id = app.current_org_id()));

GRANT USAGE ON SCHEMA app TO gpt_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON app.organisations, app.memberships TO gpt_app;
GRANT SELECT, UPDATE ON app.users TO gpt_app;
GRANT EXECUTE ON FUNCTION app.current_org_id() TO gpt_app;
