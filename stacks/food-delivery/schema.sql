-- Schema for the food-delivery reference stack (MySQL 8 / MariaDB 10.6+).
-- Idempotent: every statement can be re-run against an existing database.
-- Load it into the database the functions use, e.g.
--   mariadb -h 127.0.0.1 -u food -p food_delivery < schema.sql
-- No foreign keys on purpose: test fixtures can reset any table on its own,
-- and the UNIQUE keys below are what the functions rely on.

CREATE TABLE IF NOT EXISTS orders (
    id             VARCHAR(64)   NOT NULL,
    customer_id    VARCHAR(64)   NULL,
    customer_email VARCHAR(254)  NULL,
    status         ENUM('PENDING', 'CONFIRMED', 'PREPARING', 'OUT_FOR_DELIVERY',
                        'DELIVERED', 'COMPLETED', 'CANCELLED')
                                 NOT NULL DEFAULT 'PENDING',
    total          DECIMAL(10,2) NULL,
    created_at     DATETIME      NOT NULL DEFAULT CURRENT_TIMESTAMP,
    delivered_at   DATETIME      NULL,
    completed_at   DATETIME      NULL,
    -- who completed the order: 'auto-close', 'manual' or 'completion'
    closed_by      VARCHAR(32)   NULL,
    updated_at     DATETIME      NOT NULL DEFAULT CURRENT_TIMESTAMP
                                 ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    -- auto-close-orders: WHERE status = 'DELIVERED' AND delivered_at < ? ORDER BY delivered_at
    KEY idx_orders_status_delivered (status, delivered_at),
    KEY idx_orders_customer (customer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS loyalty_accounts (
    customer_id VARCHAR(64) NOT NULL,
    points      BIGINT      NOT NULL DEFAULT 0,
    created_at  DATETIME    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at  DATETIME    NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (customer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- One row per order that earned points: the UNIQUE key on order_id makes a
-- second award for the same order impossible, whatever the caller does.
CREATE TABLE IF NOT EXISTS loyalty_transactions (
    id          BIGINT      NOT NULL AUTO_INCREMENT,
    order_id    VARCHAR(64) NOT NULL,
    customer_id VARCHAR(64) NOT NULL,
    points      INT         NOT NULL,
    reason      VARCHAR(32) NOT NULL DEFAULT 'order-completion',
    created_at  DATETIME    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    UNIQUE KEY uq_loyalty_transactions_order (order_id),
    KEY idx_loyalty_transactions_customer (customer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- `lines` is a reserved word in MySQL/MariaDB: always quote it with backticks.
CREATE TABLE IF NOT EXISTS receipts (
    id          VARCHAR(64)   NOT NULL,
    order_id    VARCHAR(64)   NOT NULL,
    customer_id VARCHAR(64)   NOT NULL,
    `lines`     JSON          NOT NULL,
    subtotal    DECIMAL(10,2) NOT NULL,
    total       DECIMAL(10,2) NOT NULL,
    points      INT           NOT NULL DEFAULT 0,
    created_at  DATETIME(3)   NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    UNIQUE KEY uq_receipts_order (order_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS auto_close_runs (
    id              BIGINT       NOT NULL AUTO_INCREMENT,
    started_at      DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    finished_at     DATETIME(3)  NULL,
    closed_count    INT          NOT NULL DEFAULT 0,
    batches         INT          NOT NULL DEFAULT 0,
    dry_run         TINYINT(1)   NOT NULL DEFAULT 0,
    threshold_hours DECIMAL(10,4) NULL,
    batch_size      INT          NULL,
    -- 'running', 'ok', 'partial' (stopped at the time budget) or 'failed'
    status          VARCHAR(16)  NOT NULL DEFAULT 'running',
    PRIMARY KEY (id),
    KEY idx_auto_close_runs_started (started_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
