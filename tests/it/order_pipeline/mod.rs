//! The order-pipeline reference stack (stacks/order-pipeline/) end to end: the six images built
//! by the real `rfaas build`, deployed by `rfaas deploy` to a gateway of each test's own, orders
//! placed through that gateway and carried from step to step only by its async queue, with real
//! MariaDB behind every function.
//!
//! Isolation: every test takes its own MariaDB database and user (`orders_it_<random>`, dropped
//! afterwards), never the developer's gateway on port 8080 or the `order_pipeline` database. The
//! outage test stops and starts a mariadbd of its own.

mod stack;

mod concurrency;
mod failures;
mod flow;
mod input;
