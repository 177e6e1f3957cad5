//! The built-in paper exchange.

pub mod order_book;
