//! The demo database `shop`: a small shop schema (customers, products, orders, their items,
//! reviews, page views), seeded, and a workload that keeps it busy from inside keydeck — a
//! few statements a second of a few dozen shapes, quick lookups and slow reports over
//! different tables. One of them gets slower as the demo runs: `page_views` grows with every
//! step and has no index on `path`, so counting a page's views reads the whole table.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use sqlx::postgres::PgPool;

/// How often the workload runs a statement (and adds page views).
const STEP: Duration = Duration::from_millis(250);
/// Page views added per step: the table the slow statement reads grows by this much.
const VIEWS_PER_STEP: i64 = 40;

const CUSTOMERS: i64 = 500;
const PRODUCTS: i64 = 200;
const CATEGORIES: [&str; 6] = ["books", "garden", "kitchen", "toys", "audio", "outdoor"];
const COUNTRIES: [&str; 6] = ["CZ", "DE", "FR", "US", "JP", "BR"];
const STATUSES: [&str; 4] = ["new", "paid", "shipped", "returned"];

/// The schema and its seed, in one transaction.
const SCHEMA: &str = "
CREATE TABLE customers (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL UNIQUE,
    country text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz
);
CREATE TABLE products (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    category text NOT NULL,
    price numeric(10, 2) NOT NULL,
    stock integer NOT NULL
);
CREATE INDEX products_by_category ON products (category);
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id),
    status text NOT NULL,
    total numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_by_customer ON orders (customer_id);
CREATE TABLE order_items (
    order_id bigint NOT NULL REFERENCES orders (id),
    product_id bigint NOT NULL REFERENCES products (id),
    quantity integer NOT NULL,
    unit_price numeric(10, 2) NOT NULL,
    PRIMARY KEY (order_id, product_id)
);
CREATE TABLE reviews (
    id bigserial PRIMARY KEY,
    product_id bigint NOT NULL REFERENCES products (id),
    customer_id bigint NOT NULL REFERENCES customers (id),
    rating integer NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reviews_by_product ON reviews (product_id);
-- No index on path: counting a page's views reads the whole table, which only grows.
CREATE TABLE page_views (
    id bigserial PRIMARY KEY,
    path text NOT NULL,
    customer_id bigint,
    viewed_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO customers (name, email, country, created_at)
SELECT 'customer ' || i, 'customer' || i || '@example.com',
       (ARRAY['CZ','DE','FR','US','JP','BR'])[1 + i % 6], now() - (i || ' hours')::interval
FROM generate_series(1, 500) i;
INSERT INTO products (name, category, price, stock)
SELECT 'product ' || i, (ARRAY['books','garden','kitchen','toys','audio','outdoor'])[1 + i % 6],
       round((5 + random() * 195)::numeric, 2), (random() * 100)::int
FROM generate_series(1, 200) i;
INSERT INTO orders (customer_id, status, created_at)
SELECT 1 + (random() * 499)::int, (ARRAY['new','paid','shipped','returned'])[1 + i % 4],
       now() - random() * interval '60 days'
FROM generate_series(1, 3000) i;
INSERT INTO order_items (order_id, product_id, quantity, unit_price)
SELECT o.id, p.id, 1 + (random() * 3)::int, p.price
FROM orders o CROSS JOIN LATERAL (
    SELECT id, price FROM products WHERE id IN (1 + (o.id * 7) % 200, 1 + (o.id * 13) % 200)
) p
ON CONFLICT DO NOTHING;
UPDATE orders o SET total = s.total
FROM (SELECT order_id, sum(quantity * unit_price) AS total FROM order_items GROUP BY 1) s
WHERE s.order_id = o.id;
INSERT INTO reviews (product_id, customer_id, rating, body)
SELECT 1 + (random() * 199)::int, 1 + (random() * 499)::int, 1 + (random() * 4)::int, 'review ' || i
FROM generate_series(1, 1000) i;
INSERT INTO page_views (path, customer_id, viewed_at)
SELECT '/products/' || (1 + i % 200), 1 + i % 500, now() - (i || ' seconds')::interval
FROM generate_series(1, 20000) i;
ANALYZE;
";

/// Creates the schema and its seed in the connected database (one simple query: one
/// implicit transaction).
pub async fn create(pool: &PgPool) -> sqlx::Result<()> {
    sqlx::raw_sql(SCHEMA).execute(pool).await.map(drop)
}

/// Runs the workload until the task is dropped. A failed statement is logged and the next
/// one runs.
pub async fn run(pool: PgPool) {
    let mut rng = StdRng::from_rng(&mut rand::rng());
    let mut tick = tokio::time::interval(STEP);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let shape = rng.random_range(0..SHAPES);
        if let Err(e) = step(&pool, shape, &mut rng).await {
            tracing::debug!(shape, error = %e, "a demo workload statement failed");
        }
        let views = sqlx::query(
            "INSERT INTO page_views (path, customer_id) \
             SELECT '/products/' || (1 + (random() * 199)::int), $1 FROM generate_series(1, $2)",
        )
        .bind(rng.random_range(1..=CUSTOMERS))
        .bind(VIEWS_PER_STEP)
        .execute(&pool)
        .await;
        if let Err(e) = views {
            tracing::debug!(error = %e, "adding the demo's page views failed");
        }
    }
}

/// How many statement shapes [`step`] has.
const SHAPES: u32 = 30;

fn pick<'a>(rng: &mut StdRng, from: &[&'a str]) -> &'a str {
    from[rng.random_range(0..from.len())]
}

/// Runs statement shape `shape` with random arguments.
async fn step(pool: &PgPool, shape: u32, rng: &mut StdRng) -> sqlx::Result<()> {
    let customer = rng.random_range(1..=CUSTOMERS);
    let product = rng.random_range(1..=PRODUCTS);
    let category = pick(rng, &CATEGORIES);
    let status = pick(rng, &STATUSES);
    let page = format!("/products/{product}");
    match shape {
        0 => {
            sqlx::query("SELECT * FROM customers WHERE id = $1")
                .bind(customer)
                .fetch_optional(pool)
                .await?;
        }
        1 => {
            sqlx::query("SELECT id, name, country FROM customers WHERE email = $1")
                .bind(format!("customer{customer}@example.com"))
                .fetch_optional(pool)
                .await?;
        }
        2 => {
            sqlx::query("SELECT * FROM products WHERE id = $1")
                .bind(product)
                .fetch_optional(pool)
                .await?;
        }
        3 => {
            sqlx::query(
                "SELECT id, name, price FROM products WHERE category = $1 ORDER BY price LIMIT 20",
            )
            .bind(category)
            .fetch_all(pool)
            .await?;
        }
        4 => {
            sqlx::query(
                "SELECT id, status, total, created_at FROM orders WHERE customer_id = $1 \
                 ORDER BY created_at DESC LIMIT 10",
            )
            .bind(customer)
            .fetch_all(pool)
            .await?;
        }
        5 => {
            sqlx::query(
                "SELECT o.id, o.total, count(*) AS items FROM orders o \
                 JOIN order_items i ON i.order_id = o.id WHERE o.customer_id = $1 GROUP BY o.id",
            )
            .bind(customer)
            .fetch_all(pool)
            .await?;
        }
        6 => {
            sqlx::query(
                "SELECT p.category, sum(i.quantity * i.unit_price) AS revenue \
                 FROM order_items i JOIN products p ON p.id = i.product_id \
                 JOIN orders o ON o.id = i.order_id \
                 WHERE o.created_at > now() - interval '30 days' GROUP BY p.category \
                 ORDER BY revenue DESC",
            )
            .fetch_all(pool)
            .await?;
        }
        7 => {
            sqlx::query(
                "SELECT c.country, count(*) AS orders, sum(o.total) AS revenue \
                 FROM customers c JOIN orders o ON o.customer_id = c.id \
                 GROUP BY c.country ORDER BY revenue DESC",
            )
            .fetch_all(pool)
            .await?;
        }
        8 => {
            sqlx::query("UPDATE products SET stock = stock - $1 WHERE id = $2 AND stock >= $1")
                .bind(rng.random_range(1..=3_i32))
                .bind(product)
                .execute(pool)
                .await?;
        }
        9 => {
            sqlx::query("UPDATE orders SET status = $1 WHERE id = $2")
                .bind(status)
                .bind(rng.random_range(1..=3000_i64))
                .execute(pool)
                .await?;
        }
        10 => place_order(pool, customer, product, rng.random_range(1..=4)).await?,
        11 => {
            sqlx::query("SELECT count(*) FROM page_views WHERE path = $1")
                .bind(&page)
                .fetch_one(pool)
                .await?;
        }
        12 => {
            sqlx::query(
                "SELECT path, count(*) AS views FROM page_views \
                 WHERE viewed_at > now() - interval '1 minute' \
                 GROUP BY path ORDER BY views DESC LIMIT 10",
            )
            .fetch_all(pool)
            .await?;
        }
        13 => {
            sqlx::query(
                "SELECT id, rating, body FROM reviews WHERE product_id = $1 \
                 ORDER BY created_at DESC LIMIT 5",
            )
            .bind(product)
            .fetch_all(pool)
            .await?;
        }
        14 => {
            sqlx::query(
                "INSERT INTO reviews (product_id, customer_id, rating, body) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(product)
            .bind(customer)
            .bind(rng.random_range(1..=5_i32))
            .bind("works as described")
            .execute(pool)
            .await?;
        }
        15 => {
            sqlx::query("SELECT avg(rating)::float8 FROM reviews WHERE product_id = $1")
                .bind(product)
                .fetch_one(pool)
                .await?;
        }
        16 => {
            let n = rng.random_range(1000..100_000_i64);
            sqlx::query(
                "INSERT INTO customers (name, email, country) VALUES ($1, $2, $3) \
                 ON CONFLICT (email) DO NOTHING",
            )
            .bind(format!("customer {n}"))
            .bind(format!("customer{n}@example.com"))
            .bind(pick(rng, &COUNTRIES))
            .execute(pool)
            .await?;
        }
        17 => {
            sqlx::query("UPDATE customers SET last_seen_at = now() WHERE id = $1")
                .bind(customer)
                .execute(pool)
                .await?;
        }
        18 => {
            sqlx::query("SELECT id, name FROM products WHERE name ILIKE $1 LIMIT 10")
                .bind(format!("%{}%", rng.random_range(1..=99)))
                .fetch_all(pool)
                .await?;
        }
        19 => {
            sqlx::query("SELECT count(*) FROM orders WHERE status = $1")
                .bind(status)
                .fetch_one(pool)
                .await?;
        }
        20 => {
            sqlx::query(
                "SELECT p.id, p.name, sum(i.quantity) AS sold FROM order_items i \
                 JOIN products p ON p.id = i.product_id GROUP BY p.id ORDER BY sold DESC LIMIT 10",
            )
            .fetch_all(pool)
            .await?;
        }
        21 => {
            sqlx::query(
                "SELECT c.id, c.name, (SELECT count(*) FROM page_views v \
                 WHERE v.customer_id = c.id) AS views FROM customers c WHERE c.id BETWEEN $1 AND $2",
            )
            .bind(customer)
            .bind(customer + 3)
            .fetch_all(pool)
            .await?;
        }
        22 => {
            sqlx::query("SELECT id, name, stock FROM products WHERE stock < $1 ORDER BY stock")
                .bind(rng.random_range(1..=10_i32))
                .fetch_all(pool)
                .await?;
        }
        23 => {
            sqlx::query(
                "SELECT coalesce(sum(total), 0)::float8 FROM orders \
                 WHERE created_at >= date_trunc('day', now())",
            )
            .fetch_one(pool)
            .await?;
        }
        24 => {
            sqlx::query("UPDATE products SET stock = stock + $1 WHERE category = $2")
                .bind(rng.random_range(5..=20_i32))
                .bind(category)
                .execute(pool)
                .await?;
        }
        25 => {
            sqlx::query(
                "SELECT o.id, o.status, o.total, c.name, c.email FROM orders o \
                 JOIN customers c ON c.id = o.customer_id WHERE o.id = $1",
            )
            .bind(rng.random_range(1..=3000_i64))
            .fetch_optional(pool)
            .await?;
        }
        26 => {
            sqlx::query(
                "SELECT i.product_id, p.name, i.quantity, i.unit_price FROM order_items i \
                 JOIN products p ON p.id = i.product_id WHERE i.order_id = $1",
            )
            .bind(rng.random_range(1..=3000_i64))
            .fetch_all(pool)
            .await?;
        }
        27 => {
            sqlx::query(
                "SELECT date_trunc('day', created_at) AS day, count(*), sum(total) \
                 FROM orders WHERE created_at > now() - interval '7 days' GROUP BY 1 ORDER BY 1",
            )
            .fetch_all(pool)
            .await?;
        }
        28 => {
            sqlx::query(
                "SELECT p.category, avg(r.rating)::float8 AS rating, count(*) AS reviews \
                 FROM reviews r JOIN products p ON p.id = r.product_id GROUP BY p.category",
            )
            .fetch_all(pool)
            .await?;
        }
        _ => {
            sqlx::query(
                "DELETE FROM reviews WHERE id IN (SELECT id FROM reviews \
                 WHERE product_id = $1 ORDER BY created_at LIMIT 1) AND rating = 1",
            )
            .bind(product)
            .execute(pool)
            .await?;
        }
    }
    Ok(())
}

/// An order with its item and total, in one statement.
async fn place_order(
    pool: &PgPool,
    customer: i64,
    product: i64,
    quantity: i32,
) -> sqlx::Result<()> {
    sqlx::query(
        "WITH o AS (INSERT INTO orders (customer_id, status, total) \
         SELECT $1, 'new', price * $2 FROM products WHERE id = $3 RETURNING id) \
         INSERT INTO order_items (order_id, product_id, quantity, unit_price) \
         SELECT o.id, p.id, $2, p.price FROM o, products p WHERE p.id = $3",
    )
    .bind(customer)
    .bind(quantity)
    .bind(product)
    .execute(pool)
    .await
    .map(drop)
}
