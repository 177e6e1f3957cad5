//! What `GET /v1/ws` speaks: [`protocol`] holds the messages (parsed and rendered by plain
//! functions), [`session`] runs one connection, [`limits`] bounds what a principal may take.

pub mod limits;
pub mod protocol;
pub mod session;
