//! Integration tests of the client, one binary (link time on two cores): each module drives a
//! part of it against local servers, the `clob` binary or the official clients' vectors.

mod cli;
mod endpoints;
mod heartbeat;
mod http;
mod place;
mod python_vectors;
mod ws;
