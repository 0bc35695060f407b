//! vend: account vending and a pipeline factory for AWS, driven by a Terraform-like planner.
//! See ARCHITECTURE.md for the map. The binary (`src/main.rs`) is a thin shell over this library.

pub mod adapter;
pub mod app;
pub mod check;
pub mod cli;
pub mod config;
pub mod engine;
pub mod flow;
pub mod governance;
pub mod import;
pub mod metrics;
pub mod model;
pub mod plan;
pub mod port;
pub mod render;
pub mod request;
pub mod tui;
pub mod workspace;
