//! The `hostile` suite: the gateway driven the way an attacker, a careless script and a flaky
//! network would drive it (concurrent writes, exact wire formats of other clients, floods of
//! idle or half-sent connections), each case checked through real sockets and real functions.

mod connections;
mod replica_exposure;
mod secrets;
