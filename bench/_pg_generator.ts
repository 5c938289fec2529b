/**
 * The SQL that builds a realistic PostgreSQL benchmark database on the server, fast
 * (`generate_series`, `random()`, `md5()`): customers with names, emails, phones and addresses;
 * orders with timestamps, numerics and a jsonb list of items; events with log-line text payloads;
 * attachments with partly random bytea. Keys, indexes and foreign keys are added after the rows,
 * then `VACUUM (FREEZE, ANALYZE)` so that no later reader pays for hint bits. Mostly random
 * content: a plain dump compresses about 3×, like real data and unlike pgbench's blank filler.
 */

/** Bumped when the schema or content changes, so that old benchmark databases are rebuilt. */
export const GENERATOR_VERSION = 1;

/** Database bytes per unit (1 customer, 4 orders, 8 events, 1/2 attachment), measured. */
export const BYTES_PER_UNIT = 3490;

/** The tables the generator fills, for row-count checks. */
export const GENERATED_TABLES = ["customers", "orders", "events", "attachments"];

const FIRST = ["Alice", "Bob", "Carla", "David", "Emma", "Farid", "Grace", "Hiro", "Inès", "Jonas"]
  .concat(["Kenji", "Lena", "Mateo", "Nadia", "Oscar", "Priya", "Zoë", "Łukasz", "Søren", "Yuki"]);
const LAST = ["Smith", "García", "Nguyen", "Müller", "Rossi", "Kowalski", "Tanaka", "Dubois"]
  .concat(["Silva", "Jensen", "Okafor", "Novák", "Haddad", "Larsen", "Moreau", "Ivanova"]);
const CITIES = ["Berlin", "Lisbon", "Osaka", "Toronto", "Nairobi", "Lyon", "Kraków", "Austin"]
  .concat(["São Paulo", "Reykjavík", "Seoul", "Dublin"]);
const STREETS = ["Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Lake", "Hill", "Park", "River"];
const DOMAINS = ["example.com", "mail.test", "corp.example", "shop.test", "inbox.example"];
const STATUSES = ["pending", "paid", "shipped", "delivered", "refunded", "cancelled"];
const KINDS = ["login", "logout", "view", "search", "add_to_cart", "checkout", "api_call"];
const PATHS = ["products", "cart", "account", "search", "help", "orders", "api/v2/items"];

/** SQL picking one of `words` at random for each row. */
function pick(words: string[]): string {
  const list = words.map((w) => `'${w.replaceAll("'", "''")}'`).join(",");
  return `(ARRAY[${list}])[1 + floor(random() * ${words.length})::int]`;
}

/** SQL for `n` random hex characters (n ≤ 32). */
function hex(n: number): string {
  return `substr(md5(random()::text), 1, ${n})`;
}

const RANDOM_TIME = "timestamptz '2016-01-01 00:00:00+00' + random() * interval '9 years'";

/** The whole generator script for `units` customers (with their orders, events, attachments). */
export function generatorSql(units: number): string {
  const orders = units * 4;
  const item = `jsonb_build_object('sku', 'SKU-' || ${hex(8)}, 'qty', 1 + floor(random() * 5)::int,
      'price', round((random() * 250)::numeric, 2), 'gift', random() < 0.1)`;
  return `
SET synchronous_commit = off;
SET maintenance_work_mem = '256MB';
CREATE TABLE customers (
  id bigint NOT NULL, name text NOT NULL, email text NOT NULL, phone text, street text NOT NULL,
  city text NOT NULL, postal_code text NOT NULL, country char(2) NOT NULL,
  created_at timestamptz NOT NULL, balance numeric(12, 2) NOT NULL, notes text);
CREATE TABLE orders (
  id bigint NOT NULL, customer_id bigint NOT NULL, ordered_at timestamptz NOT NULL,
  status text NOT NULL, total numeric(12, 2) NOT NULL, currency char(3) NOT NULL,
  items jsonb NOT NULL, shipping_address text);
CREATE TABLE events (
  id bigint NOT NULL, customer_id bigint, kind text NOT NULL, occurred_at timestamptz NOT NULL,
  duration_ms integer NOT NULL, payload text NOT NULL);
CREATE TABLE attachments (
  id bigint NOT NULL, order_id bigint NOT NULL, file_name text NOT NULL, content bytea NOT NULL);
CREATE TABLE schema_migrations (version text PRIMARY KEY);
INSERT INTO schema_migrations VALUES ('20240101000000'), ('20250611093000');

INSERT INTO customers
SELECT i, ${pick(FIRST)} || ' ' || ${pick(LAST)},
  ${hex(10)} || '.' || i || '@' || ${pick(DOMAINS)},
  CASE WHEN random() < 0.2 THEN NULL
    ELSE '+' || (1 + floor(random() * 98))::int || ' ' || lpad(floor(random() * 1e9)::text, 9, '0')
  END,
  (1 + floor(random() * 9999))::int || ' ' || ${pick(STREETS)} || ' Street',
  ${pick(CITIES)}, lpad(floor(random() * 100000)::text, 5, '0'),
  ${pick(["DE", "PT", "JP", "CA", "KE", "FR", "PL", "US", "BR", "IS", "KR", "IE"])},
  ${RANDOM_TIME}, round((random() * 20000 - 2000)::numeric, 2),
  CASE WHEN random() < 0.7 THEN NULL
    ELSE 'prefers ' || ${pick(["email", "phone", "post"])} || ', ref ' || ${hex(12)} END
FROM generate_series(1, ${units}) i;

INSERT INTO orders
SELECT i, 1 + floor(random() * ${units})::bigint, ${RANDOM_TIME}, ${pick(STATUSES)},
  round((random() * 900 + 5)::numeric, 2), ${pick(["EUR", "USD", "JPY", "GBP"])},
  CASE WHEN random() < 0.5 THEN jsonb_build_array(${item})
    ELSE jsonb_build_array(${item}, ${item}) END,
  CASE WHEN random() < 0.4 THEN NULL
    ELSE (1 + floor(random() * 9999))::int || ' ' || ${pick(STREETS)} || ' Road, ' ||
      ${pick(CITIES)} END
FROM generate_series(1, ${orders}) i;

INSERT INTO events
SELECT i, CASE WHEN random() < 0.1 THEN NULL ELSE 1 + floor(random() * ${units})::bigint END,
  ${pick(KINDS)}, ${RANDOM_TIME}, floor(random() * 5000)::int,
  'GET /' || ${pick(PATHS)} || '/' || floor(random() * 100000)::int || ' ' ||
    ${pick(["200", "200", "200", "304", "404", "500"])} || ' ip=10.' ||
    floor(random() * 256)::int || '.' || floor(random() * 256)::int || '.' ||
    floor(random() * 256)::int || ' session=' || ${hex(24)} || ' ua="' ||
    ${pick(["Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4)"])} ||
    '"'
FROM generate_series(1, ${units * 8}) i;

INSERT INTO attachments
SELECT i, 1 + floor(random() * ${orders})::bigint, 'invoice-' || i || '.pdf',
  convert_to('%PDF-1.7 invoice ' || i || ' ', 'UTF8') ||
    sha256(int8send(i)) || sha256(int8send(-i)) || sha256(random()::text::bytea) ||
    decode(repeat('00ff', 32 + (i % 64)::int), 'hex')
FROM generate_series(1, ${Math.max(1, Math.floor(units / 2))}) i;

ALTER TABLE customers ADD PRIMARY KEY (id);
ALTER TABLE orders ADD PRIMARY KEY (id);
ALTER TABLE events ADD PRIMARY KEY (id);
ALTER TABLE attachments ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX customers_email ON customers (email);
CREATE INDEX orders_customer ON orders (customer_id);
CREATE INDEX orders_ordered_at ON orders (ordered_at);
CREATE INDEX events_occurred_at ON events (occurred_at);
CREATE INDEX events_customer ON events (customer_id) WHERE customer_id IS NOT NULL;
ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE events ADD FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE attachments ADD FOREIGN KEY (order_id) REFERENCES orders (id);
COMMENT ON TABLE events IS 'generator version ${GENERATOR_VERSION}, ${units} units';
VACUUM (FREEZE, ANALYZE);
`;
}
