-- A small catalogue with stock, for run.sh and the examples in README.md. Idempotent: products
-- are upserted, stock is only set for SKUs that have none yet.
INSERT INTO products (sku, name, price_cents, active) VALUES
  ('KB-101', 'Mechanical keyboard', 8900, TRUE),
  ('MS-202', 'Wireless mouse', 2900, TRUE),
  ('MN-303', '27-inch monitor', 25900, TRUE),
  ('CB-404', 'USB-C cable', 900, TRUE),
  ('OLD-999', 'Discontinued dock', 4900, FALSE)
ON DUPLICATE KEY UPDATE name = VALUES(name), price_cents = VALUES(price_cents), active = VALUES(active);

INSERT IGNORE INTO stock (sku, available) VALUES
  ('KB-101', 50), ('MS-202', 200), ('MN-303', 10), ('CB-404', 1000), ('OLD-999', 5);
