-- The order pipeline's database (MariaDB 10.11+ / MySQL 8). Idempotent: safe to run again.
-- order-api owns orders, order_items and order_steps; each step function owns its tables.

CREATE TABLE IF NOT EXISTS orders (
  id               VARCHAR(32)   NOT NULL PRIMARY KEY,
  status           VARCHAR(20)   NOT NULL,
  -- Bumped by every transition; a step's callback carries the revision that queued it.
  revision         INT UNSIGNED  NOT NULL DEFAULT 1,
  customer_id      VARCHAR(64)   NOT NULL,
  customer_name    VARCHAR(200)  NOT NULL,
  customer_email   VARCHAR(254)  NOT NULL,
  shipping_address TEXT          NOT NULL,
  payment_type     VARCHAR(20)   NOT NULL,
  currency         CHAR(3)       NOT NULL DEFAULT 'EUR',
  total_cents      BIGINT UNSIGNED NULL,
  payment_status   VARCHAR(20)   NOT NULL DEFAULT 'NONE',
  shipment         TEXT          NULL,
  failure_reason   VARCHAR(500)  NULL,
  failed_step      VARCHAR(20)   NULL,
  failed_round     INT UNSIGNED  NULL,
  created_at       DATETIME(3)   NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at       DATETIME(3)   NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  completed_at     DATETIME(3)   NULL,
  KEY orders_by_status (status, created_at),
  KEY orders_by_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS order_items (
  order_id  VARCHAR(32)  NOT NULL,
  line      SMALLINT UNSIGNED NOT NULL,
  sku       VARCHAR(64)  NOT NULL,
  quantity  INT UNSIGNED NOT NULL,
  PRIMARY KEY (order_id, line),
  CONSTRAINT order_items_order FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The step history: each call queued, and each callback (one per final attempt).
CREATE TABLE IF NOT EXISTS order_steps (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  order_id         VARCHAR(32)  NOT NULL,
  step             VARCHAR(20)  NOT NULL,
  event            VARCHAR(20)  NOT NULL,
  call_id          VARCHAR(128) NOT NULL,
  attempts         INT UNSIGNED NOT NULL DEFAULT 0,
  function_status  SMALLINT UNSIGNED NULL,
  detail           VARCHAR(500) NULL,
  created_at       DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  -- A callback delivered twice (at-least-once) is applied once.
  UNIQUE KEY order_steps_once (call_id, attempts, event),
  KEY order_steps_by_order (order_id, id),
  CONSTRAINT order_steps_order FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- order-validator: the catalogue.
CREATE TABLE IF NOT EXISTS products (
  sku          VARCHAR(64)  NOT NULL PRIMARY KEY,
  name         VARCHAR(200) NOT NULL,
  price_cents  INT UNSIGNED NOT NULL,
  active       BOOLEAN      NOT NULL DEFAULT TRUE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- inventory: stock on hand; a reservation moves units from available to reserved.
CREATE TABLE IF NOT EXISTS stock (
  sku        VARCHAR(64)  NOT NULL PRIMARY KEY,
  available  INT UNSIGNED NOT NULL,
  reserved   INT UNSIGNED NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS reservations (
  order_id    VARCHAR(32)  NOT NULL PRIMARY KEY,
  status      VARCHAR(20)  NOT NULL,
  items       TEXT         NOT NULL,
  reason      VARCHAR(300) NULL,
  created_at  DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at  DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- payment: one capture per order (idempotent), every attempt logged, and the simulation's
-- settings (row id 1 overrides PAYMENT_FAILURE_RATE / PAYMENT_LATENCY_MS at runtime).
CREATE TABLE IF NOT EXISTS payments (
  order_id      VARCHAR(32)  NOT NULL PRIMARY KEY,
  status        VARCHAR(20)  NOT NULL,
  amount_cents  BIGINT UNSIGNED NOT NULL,
  currency      CHAR(3)      NOT NULL,
  method        VARCHAR(20)  NOT NULL,
  reference     VARCHAR(40)  NOT NULL,
  created_at    DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at    DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS payment_attempts (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  order_id    VARCHAR(32)  NOT NULL,
  action      VARCHAR(10)  NOT NULL,
  outcome     VARCHAR(20)  NOT NULL,
  created_at  DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY payment_attempts_by_order (order_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS payment_settings (
  id            TINYINT UNSIGNED NOT NULL PRIMARY KEY,
  failure_rate  DECIMAL(5,4) NULL,
  latency_ms    INT UNSIGNED NULL,
  CONSTRAINT payment_settings_rate CHECK (failure_rate IS NULL OR (failure_rate >= 0 AND failure_rate <= 1))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- fulfilment: one shipment per order.
CREATE TABLE IF NOT EXISTS shipments (
  order_id         VARCHAR(32) NOT NULL PRIMARY KEY,
  shipment_id      VARCHAR(40) NOT NULL,
  carrier          VARCHAR(40) NOT NULL,
  tracking_number  VARCHAR(40) NOT NULL,
  created_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- notification: one email per order and kind.
CREATE TABLE IF NOT EXISTS notifications (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  order_id    VARCHAR(32)  NOT NULL,
  kind        VARCHAR(30)  NOT NULL,
  recipient   VARCHAR(254) NOT NULL,
  subject     VARCHAR(200) NOT NULL,
  created_at  DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY notifications_once (order_id, kind)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
