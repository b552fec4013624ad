pub mod config;
pub mod verify;
