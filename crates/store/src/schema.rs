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
];
