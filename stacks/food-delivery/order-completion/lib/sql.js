'use strict';
// Every statement order-completion sends. `lines` is a reserved word: keep the backticks.

const RECEIPT_COLUMNS = 'id, order_id, customer_id, `lines`, subtotal, total, points, created_at';

module.exports = {
  ping: 'SELECT 1 AS ok',
  lockOrder: 'SELECT id, customer_id, customer_email, status, total FROM orders WHERE id = ? FOR UPDATE',
  lockReceiptByOrder: `SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE order_id = ? FOR UPDATE`,
  markCompleted:
    "UPDATE orders SET status = 'COMPLETED', completed_at = COALESCE(completed_at, NOW()),"
    + " closed_by = COALESCE(closed_by, 'completion'), customer_id = COALESCE(customer_id, ?),"
    + ' customer_email = COALESCE(customer_email, ?), total = COALESCE(total, ?) WHERE id = ?',
  insertLoyaltyTransaction:
    'INSERT INTO loyalty_transactions (order_id, customer_id, points) VALUES (?, ?, ?)',
  addPoints:
    'INSERT INTO loyalty_accounts (customer_id, points) VALUES (?, ?)'
    + ' ON DUPLICATE KEY UPDATE points = points + VALUES(points)',
  loyaltyBalance: 'SELECT points FROM loyalty_accounts WHERE customer_id = ?',
  insertReceipt:
    'INSERT INTO receipts (id, order_id, customer_id, `lines`, subtotal, total, points, created_at)'
    + ' VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  findReceipt: `SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE id = ? OR order_id = ? LIMIT 1`,
};
