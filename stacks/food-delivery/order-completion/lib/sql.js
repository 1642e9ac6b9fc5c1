'use strict';
// Every statement order-completion sends. `lines` is a reserved word: keep the backticks.

const RECEIPT_COLUMNS = 'id, order_id, customer_id, `lines`, subtotal, total, points, created_at';

module.exports = {
  ping: 'SELECT 1 AS ok',
  // The order and its receipt (receipt_* all NULL when there is none), both row-locked.
  // LEFT JOIN makes orders the driving table, so the receipt is looked up only once the
  // order's row lock is granted (lib/completion.js says why that is enough).
  lockOrderWithReceipt:
    'SELECT o.id, o.customer_id, o.customer_email, o.status, o.total,'
    + ' r.id AS receipt_id, r.customer_id AS receipt_customer_id, r.`lines` AS receipt_lines,'
    + ' r.subtotal AS receipt_subtotal, r.total AS receipt_total, r.points AS receipt_points,'
    + ' r.created_at AS receipt_created_at'
    + ' FROM orders o LEFT JOIN receipts r ON r.order_id = o.id WHERE o.id = ? FOR UPDATE',
  markCompleted:
    "UPDATE orders SET status = 'COMPLETED', completed_at = COALESCE(completed_at, NOW()),"
    + " closed_by = COALESCE(closed_by, 'completion'), customer_id = COALESCE(customer_id, ?),"
    + ' customer_email = COALESCE(customer_email, ?), total = COALESCE(total, ?) WHERE id = ?',
  insertLoyaltyTransaction:
    'INSERT INTO loyalty_transactions (order_id, customer_id, points) VALUES (?, ?, ?)',
  // Adds the points and hands the new balance back without another SELECT: LAST_INSERT_ID(expr)
  // returns expr and the server reports it as the statement's insert id (MySQL and MariaDB
  // alike; INSERT ... RETURNING would be MariaDB-only). That happens only when the account
  // already existed; a fresh insert reports insert id 0, since loyalty_accounts has no
  // AUTO_INCREMENT column (lib/completion.js turns that into the balance). LAST_INSERT_ID is
  // unsigned, so a negative balance would fail the statement (out of range) rather than be
  // misreported; nothing takes points away.
  addPoints:
    'INSERT INTO loyalty_accounts (customer_id, points) VALUES (?, ?)'
    + ' ON DUPLICATE KEY UPDATE points = LAST_INSERT_ID(points + VALUES(points))',
  insertReceipt:
    'INSERT INTO receipts (id, order_id, customer_id, `lines`, subtotal, total, points, created_at)'
    + ' VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  findReceipt: `SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE id = ? OR order_id = ? LIMIT 1`,
};
