//! callproof's network services: the ATIS-1000082 signing and verification REST API with
//! its health, certificate and metrics endpoints, and (in `sip_service`) the SIP redirect
//! services, all built on `engine`.
//!
//! [`node::Node::start`] runs a node from a [`config::Config`] until its shutdown token is
//! cancelled; the `callproof serve` command is a thin wrapper around it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = server::config::Config::load(None, std::env::vars())?;
//! let node = server::node::Node::start(config).await?;
//! node.shutdown_token().cancel();
//! node.wait().await;
//! # Ok(()) }
//! ```

pub mod campaigns;
pub mod check;
pub mod config;
pub mod dev;
pub mod events;
pub mod listener;
pub mod metrics;
pub mod node;
pub mod registry;
pub mod rest;
pub mod sip_service;
pub mod web;
