//! What `GET /v1/ws` speaks: [`protocol`] holds the messages (parsed and rendered by plain
//! functions), [`session`] runs one connection.

pub mod protocol;
pub mod session;
