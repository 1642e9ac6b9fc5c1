//! The `hostile` suite: the gateway driven the way an attacker, a careless script and a flaky
//! network would drive it, each case checked over real sockets against the real binary.

mod auth;
mod bad_bodies;
mod wire;
