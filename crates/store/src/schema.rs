//! The schema, as numbered migrations applied in order at start. Both backends run the same
//! statements; the few type differences are spelled out per backend.

/// One migration: its number and its statements for SQLite and for PostgreSQL.
pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) sqlite: &'static str,
    pub(crate) postgres: &'static str,
}

pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sqlite: "
        CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
        INSERT INTO meta (id, version) VALUES (1, 0);
        CREATE TABLE customers (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            origid TEXT NOT NULL
        );
        CREATE TABLE trunks (
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            cidr TEXT NOT NULL,
            PRIMARY KEY (customer_id, cidr)
        );
        CREATE TABLE number_blocks (
            digits INTEGER NOT NULL,
            first INTEGER NOT NULL,
            last INTEGER NOT NULL,
            start TEXT NOT NULL,
            count INTEGER NOT NULL,
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            PRIMARY KEY (digits, first)
        );
        CREATE TABLE api_keys (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            customer_id INTEGER REFERENCES customers(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            prefix TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            scopes TEXT NOT NULL,
            revoked INTEGER NOT NULL DEFAULT 0
        );
    ",
        postgres: "
        CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL);
        INSERT INTO meta (id, version) VALUES (1, 0);
        CREATE TABLE customers (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            origid TEXT NOT NULL
        );
        CREATE TABLE trunks (
            customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            cidr TEXT NOT NULL,
            PRIMARY KEY (customer_id, cidr)
        );
        CREATE TABLE number_blocks (
            digits INTEGER NOT NULL,
            first BIGINT NOT NULL,
            last BIGINT NOT NULL,
            start TEXT NOT NULL,
            count BIGINT NOT NULL,
            customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            PRIMARY KEY (digits, first)
        );
        CREATE TABLE api_keys (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            customer_id BIGINT REFERENCES customers(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            prefix TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            scopes TEXT NOT NULL,
            revoked BOOLEAN NOT NULL DEFAULT FALSE
        );
    ",
    },
    Migration {
        version: 2,
        // Responses to writes made with an Idempotency-Key, kept for replay. `key` is a digest
        // of the caller and the client's key; `created_at` is Unix seconds.
        sqlite: "
        CREATE TABLE idempotency (
            key TEXT PRIMARY KEY,
            request_hash TEXT NOT NULL,
            status INTEGER NOT NULL,
            body TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX idempotency_created_at ON idempotency (created_at);
    ",
        postgres: "
        CREATE TABLE idempotency (
            key TEXT PRIMARY KEY,
            request_hash TEXT NOT NULL,
            status INTEGER NOT NULL,
            body TEXT NOT NULL,
            created_at BIGINT NOT NULL
        );
        CREATE INDEX idempotency_created_at ON idempotency (created_at);
    ",
    },
    Migration {
        version: 3,
        // Brands. `policy_meta.version` is the policy version, bumped by every write to brands,
        // logos, brand numbers, partners and the DNO list (kept apart from the inventory
        // version so neither kind of write waits on the other's row). Brand and DNO blocks are
        // stored like `number_blocks` (disjoint, keyed by length and first number, so one probe
        // finds the only block that can overlap). JSON columns: `call_reasons` (array of
        // {code, text, marketing}), `never_ask` and `reasons` (arrays of strings), `detail`.
        // `opt_outs` holds the numbers opted out now; `opt_out_log` every change, its `seq`
        // assigned in commit order (writers are serialised) so readers can page by it.
        sqlite: "
        CREATE TABLE policy_meta (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
        INSERT INTO policy_meta (id, version) VALUES (1, 0);
        CREATE TABLE brands (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            slug TEXT NOT NULL UNIQUE,
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            legal_name TEXT NOT NULL,
            display_name TEXT NOT NULL,
            call_reasons TEXT NOT NULL,
            never_ask TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE TABLE brand_logos (
            brand_id INTEGER PRIMARY KEY REFERENCES brands(id) ON DELETE CASCADE,
            content_type TEXT NOT NULL,
            digest TEXT NOT NULL,
            len INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            bytes BLOB NOT NULL
        );
        CREATE TABLE brand_numbers (
            digits INTEGER NOT NULL,
            first INTEGER NOT NULL,
            last INTEGER NOT NULL,
            start TEXT NOT NULL,
            count INTEGER NOT NULL,
            brand_id INTEGER NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('listed', 'inbound_only')),
            PRIMARY KEY (digits, first)
        );
        CREATE INDEX brand_numbers_brand ON brand_numbers (brand_id);
        CREATE TABLE partners (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            brand_id INTEGER NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            reasons TEXT NOT NULL,
            valid_from INTEGER NOT NULL,
            valid_until INTEGER,
            revoked_at INTEGER,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX partners_brand ON partners (brand_id);
        CREATE TABLE partner_numbers (
            partner_id INTEGER NOT NULL REFERENCES partners(id) ON DELETE CASCADE,
            pos INTEGER NOT NULL,
            start TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (partner_id, pos)
        );
        CREATE TABLE dno_blocks (
            digits INTEGER NOT NULL,
            first INTEGER NOT NULL,
            last INTEGER NOT NULL,
            start TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (digits, first)
        );
        CREATE TABLE opt_outs (
            brand_id INTEGER NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
            tn TEXT NOT NULL,
            at INTEGER NOT NULL,
            PRIMARY KEY (brand_id, tn)
        );
        CREATE TABLE opt_out_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            brand_id INTEGER NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
            tn TEXT NOT NULL,
            opted_out INTEGER NOT NULL,
            source TEXT NOT NULL,
            at INTEGER NOT NULL
        );
        CREATE TABLE brand_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            brand_id INTEGER NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
            at INTEGER NOT NULL,
            kind TEXT NOT NULL,
            detail TEXT NOT NULL
        );
        CREATE INDEX brand_events_brand ON brand_events (brand_id, seq);
    ",
        postgres: "
        CREATE TABLE policy_meta (id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL);
        INSERT INTO policy_meta (id, version) VALUES (1, 0);
        CREATE TABLE brands (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            slug TEXT NOT NULL UNIQUE,
            customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            legal_name TEXT NOT NULL,
            display_name TEXT NOT NULL,
            call_reasons TEXT NOT NULL,
            never_ask TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        );
        CREATE TABLE brand_logos (
            brand_id BIGINT PRIMARY KEY REFERENCES brands(id) ON DELETE CASCADE,
            content_type TEXT NOT NULL,
            digest TEXT NOT NULL,
            len BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            bytes BYTEA NOT NULL
        );
        CREATE TABLE brand_numbers (
            digits INTEGER NOT NULL,
            first BIGINT NOT NULL,
            last BIGINT NOT NULL,
            start TEXT NOT NULL,
            count BIGINT NOT NULL,
            brand_id BIGINT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('listed', 'inbound_only')),
            PRIMARY KEY (digits, first)
        );
        CREATE INDEX brand_numbers_brand ON brand_numbers (brand_id);
        CREATE TABLE partners (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            brand_id BIGINT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
            customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            reasons TEXT NOT NULL,
            valid_from BIGINT NOT NULL,
            valid_until BIGINT,
            revoked_at BIGINT,
            created_at BIGINT NOT NULL
        );
        CREATE INDEX partners_brand ON partners (brand_id);
        CREATE TABLE partner_numbers (
            partner_id BIGINT NOT NULL REFERENCES partners(id) ON DELETE CASCADE,
            pos INTEGER NOT NULL,
            start TEXT NOT NULL,
            count BIGINT NOT NULL,
            PRIMARY KEY (partner_id, pos)
        );
        CREATE TABLE dno_blocks (
            digits INTEGER NOT NULL,
            first BIGINT NOT NULL,
            last BIGINT NOT NULL,
            start TEXT NOT NULL,
            count BIGINT NOT NULL,
            PRIMARY KEY (digits, first)
        );
        CREATE TABLE opt_outs (
            brand_id BIGINT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
            tn TEXT NOT NULL,
            at BIGINT NOT NULL,
            PRIMARY KEY (brand_id, tn)
        );
        CREATE TABLE opt_out_log (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            brand_id BIGINT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
            tn TEXT NOT NULL,
            opted_out BOOLEAN NOT NULL,
            source TEXT NOT NULL,
            at BIGINT NOT NULL
        );
        CREATE TABLE brand_events (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            brand_id BIGINT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
            at BIGINT NOT NULL,
            kind TEXT NOT NULL,
            detail TEXT NOT NULL
        );
        CREATE INDEX brand_events_brand ON brand_events (brand_id, seq);
    ",
    },
    Migration {
        version: 4,
        // Brands' callback numbers, the call registry and reports. Numbers are canonical digit
        // strings. A call's one-time code is kept as the caller's digest only; at most one call
        // of a brand holds a digest unused and unexpired (checked on insert, under a lock per
        // brand and digest on PostgreSQL). Calls are purged by `started_at`. A report's
        // `asked` is the comma-joined category names in display order, each once; its brand is
        // kept as evidence when a report outlives the brand (set to NULL).
        sqlite: "
        ALTER TABLE brands ADD COLUMN callback TEXT;
        CREATE TABLE calls (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            brand_id INTEGER NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
            partner_id INTEGER REFERENCES partners(id) ON DELETE CASCADE,
            calling TEXT NOT NULL,
            called TEXT NOT NULL,
            reason TEXT,
            agent_ref TEXT,
            agent_name TEXT,
            source TEXT NOT NULL CHECK (source IN ('signed', 'registered')),
            started_at INTEGER NOT NULL,
            ended_at INTEGER,
            code_digest TEXT,
            code_expires_at INTEGER,
            code_used_at INTEGER
        );
        CREATE INDEX calls_brand_called ON calls (brand_id, called, started_at);
        CREATE INDEX calls_brand_code ON calls (brand_id, code_digest)
            WHERE code_digest IS NOT NULL;
        CREATE INDEX calls_started_at ON calls (started_at);
        CREATE TABLE reports (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            brand_id INTEGER REFERENCES brands(id) ON DELETE SET NULL,
            claimed_brand TEXT,
            calling TEXT,
            called TEXT,
            call_at INTEGER,
            asked TEXT NOT NULL,
            text TEXT NOT NULL,
            channel TEXT NOT NULL,
            idempotency_key TEXT UNIQUE,
            received_at INTEGER NOT NULL
        );
        CREATE INDEX reports_brand ON reports (brand_id, id);
    ",
        postgres: "
        ALTER TABLE brands ADD COLUMN callback TEXT;
        CREATE TABLE calls (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            brand_id BIGINT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
            partner_id BIGINT REFERENCES partners(id) ON DELETE CASCADE,
            calling TEXT NOT NULL,
            called TEXT NOT NULL,
            reason TEXT,
            agent_ref TEXT,
            agent_name TEXT,
            source TEXT NOT NULL CHECK (source IN ('signed', 'registered')),
            started_at BIGINT NOT NULL,
            ended_at BIGINT,
            code_digest TEXT,
            code_expires_at BIGINT,
            code_used_at BIGINT
        );
        CREATE INDEX calls_brand_called ON calls (brand_id, called, started_at);
        CREATE INDEX calls_brand_code ON calls (brand_id, code_digest)
            WHERE code_digest IS NOT NULL;
        CREATE INDEX calls_started_at ON calls (started_at);
        CREATE TABLE reports (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            brand_id BIGINT REFERENCES brands(id) ON DELETE SET NULL,
            claimed_brand TEXT,
            calling TEXT,
            called TEXT,
            call_at BIGINT,
            asked TEXT NOT NULL,
            text TEXT NOT NULL,
            channel TEXT NOT NULL,
            idempotency_key TEXT UNIQUE,
            received_at BIGINT NOT NULL
        );
        CREATE INDEX reports_brand ON reports (brand_id, id);
    ",
    },
    Migration {
        version: 5,
        // Reports are kept for a retention period and purged by the time they were received.
        sqlite: "
        CREATE INDEX reports_received_at ON reports (received_at);
    ",
        postgres: "
        CREATE INDEX reports_received_at ON reports (received_at);
    ",
    },
];
