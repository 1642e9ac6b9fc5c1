//! The `hostile` suite (issue 15): the gateway and the CLI driven the way an attacker, a careless
//! script and a flaky network would drive them (concurrent writes, other clients' exact wire
//! formats, floods of idle or half-sent connections, crashes), each case checked through real
//! sockets, real containers and real functions.

mod async_api;
mod async_callbacks;
mod async_crash;
mod auth;
mod bad_bodies;
mod connections;
mod replica_exposure;
mod secrets;
mod wire;
