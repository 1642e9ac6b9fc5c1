//! The food-delivery reference stack (stacks/food-delivery/) end to end: images built by the real
//! `rfaas build`, deployed by `rfaas deploy` to a gateway of each test's own, called through that
//! gateway, with real Redis and MariaDB behind the functions.
//!
//! Isolation: every test takes its own MariaDB database and user (`food_it_<random>`, dropped
//! afterwards) and its own Redis DB number (9 to 14, claimed atomically), never the developer's
//! gateway on port 8080, its state directory, Redis DB 0 or the `food_delivery` database. The
//! restart test runs its own redis-server and mariadbd. A service that is down fails the test
//! with the hint to run tests/env/setup.sh.

pub mod services;
mod stack;

mod auto_close_orders;
mod cron;
mod delivery_analytics;
mod order_completion;
mod recovery;
