-- Demo rows for trying the stack by hand (safe to re-run: INSERT IGNORE).
-- Load after schema.sql:  mariadb ... food_delivery < seed.sql
INSERT IGNORE INTO orders (id, customer_id, customer_email, status, total, delivered_at) VALUES
    ('ord-1001', 'cust-42', 'alice@example.com', 'DELIVERED', 25.50, NOW() - INTERVAL 3 HOUR),
    ('ord-1002', 'cust-42', 'alice@example.com', 'DELIVERED', 12.00, NOW() - INTERVAL 30 MINUTE),
    ('ord-1003', 'cust-7',  'bob@example.com',   'DELIVERED', 40.10, NOW() - INTERVAL 5 HOUR),
    ('ord-1004', 'cust-7',  'bob@example.com',   'PENDING',   18.75, NULL),
    ('ord-1005', 'cust-9',  'carol@example.com', 'CANCELLED',  9.99, NULL);
