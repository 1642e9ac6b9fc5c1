//! Hostile tests: the gateway and the CLI driven the way an attacker, a careless script and a flaky
//! network would drive them (issue 15).

mod async_api;
mod async_callbacks;
mod async_crash;
