//! Use cases, written once over the ports.
